from __future__ import annotations

from typing import Literal

from pydantic import Field

from studiolab.domain.models.base import DomainModel, EntityId, UtcDatetime
from studiolab.domain.models.filters import ItemFilter

ExportStatus = Literal["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "EXPIRED"]


class ExportCounts(DomainModel):
    items: int = Field(default=0, ge=0)
    images: int = Field(default=0, ge=0)
    bytes: int = Field(default=0, ge=0)


class Export(DomainModel):
    id: EntityId
    project_id: EntityId
    filters: ItemFilter = Field(default_factory=ItemFilter)
    status: ExportStatus = "PENDING"
    counts: ExportCounts = Field(default_factory=ExportCounts)
    blob_key: str | None = None
    error: str | None = None
    created_at: UtcDatetime
    finished_at: UtcDatetime | None = None
    expires_at: UtcDatetime | None = None
    version: int = Field(default=1, ge=1)
