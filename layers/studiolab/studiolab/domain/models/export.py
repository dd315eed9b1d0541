from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from studiolab.domain.models.base import DomainModel, EntityId, UtcDatetime
from studiolab.domain.models.filters import ItemFilter

ExportStatus = Literal["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "EXPIRED"]
NEAR_PATTERN = r"^#?[0-9A-Fa-f]{6}$"


class NearFilter(DomainModel):
    """ "Near colour" of an export: the items with a palette colour within `radius`
    (CIEDE2000) of `near` - the same test as the item listing's near + radius."""

    near: str = Field(pattern=NEAR_PATTERN)
    radius: float = Field(default=10.0, gt=0, le=100)


class ExportCounts(DomainModel):
    items: int = Field(default=0, ge=0)
    images: int = Field(default=0, ge=0)
    bytes: int = Field(default=0, ge=0)


class Export(DomainModel):
    id: EntityId
    project_id: EntityId
    filters: ItemFilter = Field(default_factory=ItemFilter)
    near: NearFilter | None = None
    status: ExportStatus = "PENDING"
    counts: ExportCounts = Field(default_factory=ExportCounts)
    blob_key: str | None = None
    error: str | None = None
    created_at: UtcDatetime
    finished_at: UtcDatetime | None = None
    expires_at: UtcDatetime | None = None
    version: int = Field(default=1, ge=1)

    @model_serializer(mode="wrap")
    def _without_absent_near(self, handler: SerializerFunctionWrapHandler) -> Any:
        """An export without near colour is stored exactly as before `near` existed, so code
        that does not know the field (an older version during a deploy) still reads it."""
        data = handler(self)
        if self.near is None and isinstance(data, dict):
            data.pop("near", None)
        return data
