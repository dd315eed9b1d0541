"""Request and response models of the HTTP API (pydantic). The OpenAPI document is generated
from these; requests are validated with them (unknown fields -> 400)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from studiolab.domain.models import (
    Crawler,
    CrawlLimits,
    ExportCounts,
    ExportStatus,
    Item,
    ItemFilter,
    Politeness,
    Run,
)
from studiolab.domain.models.crawler import Strategy
from studiolab.domain.models.export import NEAR_PATTERN, NearFilter
from studiolab.domain.models.project import ATTRIBUTE_ID_PATTERN, DataType

MAX_LIMIT = 200
Cursor = Annotated[str, Field(min_length=1, max_length=1000)]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# -- errors & envelopes ---------------------------------------------------------------------
class ErrorBody(ApiModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorOut(ApiModel):
    error: ErrorBody


def page_of(model: type[BaseModel]) -> type[BaseModel]:
    """`{"items": [...], "next": cursor | null}` of `model`, named `<Model>Page`."""
    page: type[BaseModel] = create_model(
        f"{model.__name__.removesuffix('Out')}Page",
        __base__=ApiModel,
        items=(list[model], ...),  # type: ignore[valid-type]
        next=(str | None, Field(default=None, description="cursor of the next page")),
    )
    return page


# -- query models (every unknown query parameter is refused) --------------------------------
class PageQuery(ApiModel):
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    cursor: Cursor | None = None


class DeleteProjectQuery(ApiModel):
    force: bool = False


class StopRunQuery(ApiModel):
    now: bool = False


class ItemFilterFields(ItemFilter):
    """ItemFilter plus "near colour": a hex colour and a CIEDE2000 radius."""

    near: str | None = Field(default=None, pattern=NEAR_PATTERN, description="e.g. %23aa3322")
    radius: float = Field(default=10.0, gt=0, le=100, description="CIEDE2000 radius of `near`")

    def item_filter(self) -> ItemFilter:
        return ItemFilter.model_validate(self.model_dump(include=set(ItemFilter.model_fields)))

    def near_filter(self) -> NearFilter | None:
        """near + radius (None without `near`: radius alone constrains nothing)."""
        return NearFilter(near=self.near, radius=self.radius) if self.near else None


class ItemQuery(ItemFilterFields):
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    cursor: Cursor | None = None
    thumbnails: bool = Field(
        default=False,
        description="true: every item carries `thumbnail_url`, a signed GET URL of its "
        "thumbnail (null when it has none); false: `thumbnail_url` is null",
    )


class BulkDeleteIn(ItemFilterFields):
    limit: int = Field(default=500, ge=1, le=500)
    cursor: Cursor | None = None


# -- bodies ---------------------------------------------------------------------------------
class ProjectIn(ApiModel):
    name: Text
    shop: Text
    attribute: str = Field(pattern=ATTRIBUTE_ID_PATTERN, description="an id of /v1/attributes")
    data_type: DataType = "image"


class ProjectPatch(ApiModel):
    name: Text | None = None
    shop: Text | None = None
    attribute: str | None = Field(default=None, pattern=ATTRIBUTE_ID_PATTERN)
    version: int | None = Field(default=None, ge=1, description="409 if no longer current")

    @model_validator(mode="after")
    def _something(self) -> ProjectPatch:
        if not self.changes():
            raise ValueError("nothing to update: give name, shop or attribute")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude={"version"})


class CrawlerIn(ApiModel):
    name: Text
    start_urls: list[str] = Field(min_length=1, max_length=1000)
    strategy: Strategy = "auto"
    selectors: dict[str, str] = Field(default_factory=dict)
    limits: CrawlLimits | None = None
    politeness: Politeness | None = None
    allowed_domains: list[str] | None = None

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class CrawlerPatch(ApiModel):
    name: Text | None = None
    start_urls: list[str] | None = Field(default=None, min_length=1, max_length=1000)
    strategy: Strategy | None = None
    selectors: dict[str, str] | None = None
    limits: CrawlLimits | None = None
    politeness: Politeness | None = None
    allowed_domains: list[str] | None = None
    version: int | None = Field(default=None, ge=1, description="409 if no longer current")

    @model_validator(mode="after")
    def _something(self) -> CrawlerPatch:
        if not self.changes():
            raise ValueError("nothing to update")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude={"version"})


class UploadIn(ApiModel):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=1, max_length=100, examples=["image/jpeg"])


class ExportIn(ItemFilterFields):
    """The item filters of the items to export: those of the item listing, near colour
    included, so an export holds exactly the items the listing shows for them."""

    include_cutouts: bool = False


# -- replies --------------------------------------------------------------------------------
class HealthOut(ApiModel):
    status: str
    version: str
    mode: str


class AttributeOut(ApiModel):
    id: str
    category: str
    name: str


class ProjectOut(ApiModel):
    id: str
    name: str
    shop: str
    attribute: str
    data_type: DataType
    created_at: datetime
    updated_at: datetime
    version: int
    counts: dict[str, int]


class CrawlerOut(Crawler):
    counts: dict[str, int] = Field(default_factory=dict)


class RunOut(Run):
    elapsed_s: float | None = None
    items_per_min: float | None = None
    remaining: int | None = None
    eta_s: float | None = None


class ItemUrlsOut(ApiModel):
    raw: str | None
    cutout: str | None
    thumbnail: str | None
    masks: list[str]
    overview: str | None
    expires_at: datetime


class ItemOut(Item):
    urls: ItemUrlsOut | None = Field(
        default=None, description="signed GET URLs (get one; absent in listings)"
    )
    thumbnail_url: str | None = Field(
        default=None,
        description="signed GET URL of the thumbnail, valid for the signed-URL TTL; given by "
        "get one and by listings with ?thumbnails=true (null when the item has no thumbnail; "
        "absent from listings without the flag)",
    )


class BulkDeleteOut(ApiModel):
    deleted: int
    next: str | None = Field(description="call again with this cursor; null: done")


class UploadOut(ApiModel):
    item_id: str
    url: str
    method: Literal["PUT"]
    headers: dict[str, str]
    expires_at: datetime


class ExportOut(ApiModel):
    id: str
    project_id: str
    status: ExportStatus
    filters: dict[str, Any]
    counts: ExportCounts
    size: int | None = Field(description="bytes of the zip when SUCCEEDED")
    error: str | None = Field(
        description="why it failed ('cancelled: ...' when cancelled, e.g. by deleting its "
        "project), or a notice on a SUCCEEDED one"
    )
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None
    url: str | None = Field(description="signed download URL when SUCCEEDED")
    url_expires_at: datetime | None


AttributePage = page_of(AttributeOut)
ProjectPage = page_of(ProjectOut)
CrawlerPage = page_of(CrawlerOut)
RunPage = page_of(RunOut)
ItemPage = page_of(ItemOut)
ExportPage = page_of(ExportOut)
