from __future__ import annotations

from typing import Literal

from pydantic import Field

from studiolab.domain.models.base import DomainModel, EntityId, Name, UtcDatetime

DataType = Literal["image", "text"]
ATTRIBUTE_ID_PATTERN = r"^[a-z0-9_-]+\.[a-z0-9_-]+$"


class Attribute(DomainModel):
    """One garment attribute of the taxonomy, e.g. id "skirt.flare"."""

    id: str = Field(pattern=ATTRIBUTE_ID_PATTERN)
    category: str = Field(min_length=1, max_length=60)
    name: Name


class Project(DomainModel):
    """A shop x garment attribute x data type: the unit a data team crawls and exports."""

    id: EntityId
    name: Name
    shop: Name
    attribute: str = Field(pattern=ATTRIBUTE_ID_PATTERN)
    data_type: DataType = "image"
    created_at: UtcDatetime
    updated_at: UtcDatetime
    version: int = Field(default=1, ge=1)
