"""Domain models (pydantic v2). Import from here."""

from studiolab.domain.models.base import DomainModel, field_errors, parse
from studiolab.domain.models.crawler import SELECTOR_FIELDS, Crawler, CrawlLimits, Politeness
from studiolab.domain.models.export import Export, ExportCounts, ExportStatus
from studiolab.domain.models.filters import ItemFilter
from studiolab.domain.models.item import (
    BASIC_COLOURS,
    Item,
    ItemBlobs,
    ItemError,
    PaletteColor,
    PersonTags,
    ProductFields,
)
from studiolab.domain.models.project import Attribute, Project
from studiolab.domain.models.run import (
    OPEN_STATUSES,
    RUN_COUNTER_FIELDS,
    RUN_SETTABLE_FIELDS,
    TERMINAL_STATUSES,
    Run,
    RunCounters,
    RunError,
    RunStatus,
    check_transition,
    sources_of,
)

__all__ = [
    "BASIC_COLOURS",
    "OPEN_STATUSES",
    "RUN_COUNTER_FIELDS",
    "RUN_SETTABLE_FIELDS",
    "SELECTOR_FIELDS",
    "TERMINAL_STATUSES",
    "Attribute",
    "CrawlLimits",
    "Crawler",
    "DomainModel",
    "Export",
    "ExportCounts",
    "ExportStatus",
    "Item",
    "ItemBlobs",
    "ItemError",
    "ItemFilter",
    "PaletteColor",
    "PersonTags",
    "Politeness",
    "ProductFields",
    "Project",
    "Run",
    "RunCounters",
    "RunError",
    "RunStatus",
    "check_transition",
    "field_errors",
    "parse",
    "sources_of",
]
