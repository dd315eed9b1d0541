"""Shared model plumbing: strict base model, UTC timestamps, validation -> InvalidInput."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from studiolab.domain.errors import InvalidInput


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a timezone")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_aware_utc)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
EntityId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class DomainModel(BaseModel):
    """Unknown fields are refused (a typo is an error, not silently dropped). Frozen: a change
    is a copy (`model_copy(update=...)`), so a model object can be shared - the SQLite
    catalog's read cache hands the same object to concurrent readers."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


M = TypeVar("M", bound=BaseModel)


def field_errors(error: ValidationError) -> dict[str, str]:
    """Pydantic errors as {"start_urls.0": "message"} - one message per field path."""
    fields: dict[str, str] = {}
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in item["loc"]) or "__root__"
        fields.setdefault(path, item["msg"])
    return fields


def parse(model: type[M], data: Any, *, what: str | None = None) -> M:
    """Validate `data` as `model`; raise InvalidInput naming every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = field_errors(error)
        label = what or model.__name__
        summary = "; ".join(f"{path}: {msg}" for path, msg in fields.items())
        raise InvalidInput(f"invalid {label}: {summary}", fields=fields) from error
