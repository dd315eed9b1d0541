from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from studiolab.domain.models.base import DomainModel, EntityId, UtcDatetime

ItemKind = Literal["image", "text"]
ProcessingState = Literal["pending", "processing", "done", "failed", "skipped"]
PoseView = Literal["front", "back", "side", "unknown"]
Framing = Literal["full_body", "upper_body", "lower_body", "detail", "none"]
BASIC_COLOURS = (
    "Black",
    "Blue",
    "Brown",
    "Green",
    "Grey",
    "Orange",
    "Pink",
    "Purple",
    "Red",
    "White",
    "Yellow",
)
BasicColour = Literal[
    "Black",
    "Blue",
    "Brown",
    "Green",
    "Grey",
    "Orange",
    "Pink",
    "Purple",
    "Red",
    "White",
    "Yellow",
]
HEX_PATTERN = r"^#[0-9a-f]{6}$"


class ProductFields(DomainModel):
    name: str | None = None
    brand: str | None = None
    price: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?$")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    sku: str | None = None
    availability: str | None = None
    category: str | None = None
    colors_text: str | None = None
    sizes_text: str | None = None
    description: str | None = None


class ItemBlobs(DomainModel):
    raw: str | None = None
    cutout: str | None = None
    thumbnail: str | None = None
    masks: list[str] = Field(default_factory=list)
    overview: str | None = None


class PaletteColor(DomainModel):
    hex: str = Field(pattern=HEX_PATTERN)
    rgb: tuple[int, int, int]
    lab: tuple[float, float, float]
    fraction: float = Field(ge=0.0, le=1.0)
    name: str
    basic: BasicColour
    delta_e: float = Field(ge=0.0)

    @field_validator("hex", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


class PersonTags(DomainModel):
    present: bool
    confidence: float = Field(ge=0.0, le=1.0)
    view: PoseView = "unknown"
    framing: Framing = "none"


class ItemError(DomainModel):
    code: str
    message: str


class Item(DomainModel):
    id: EntityId
    project_id: EntityId
    crawler_id: EntityId | None = None
    run_id: EntityId | None = None
    kind: ItemKind = "image"
    attribute: str | None = None
    source_url: str | None = None
    product_url: str | None = None
    product: ProductFields = Field(default_factory=ProductFields)
    texts: dict[str, str] = Field(default_factory=dict)
    content_hash: str | None = None
    blobs: ItemBlobs = Field(default_factory=ItemBlobs)
    state: ProcessingState = "pending"
    error: ItemError | None = None
    palette: list[PaletteColor] = Field(default_factory=list)
    person: PersonTags | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    version: int = Field(default=1, ge=1)

    @property
    def colour_families(self) -> frozenset[str]:
        """Basic colour names present in the palette (what the colour filter matches)."""
        return frozenset(color.basic for color in self.palette)
