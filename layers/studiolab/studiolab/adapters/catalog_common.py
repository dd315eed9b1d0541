"""What both Catalog adapters share: listing order keys, opaque cursors, argument checks and
the rules of `update_run`, so SQLite and DynamoDB cannot drift apart on meaning.

Pure: no I/O, no boto3, no sqlite3."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, get_args

from studiolab.domain.errors import (
    ConcurrentUpdate,
    IllegalTransition,
    InvalidInput,
    NotFound,
    StudiolabError,
)
from studiolab.domain.models import (
    OPEN_STATUSES,
    RUN_COUNTER_FIELDS,
    RUN_SETTABLE_FIELDS,
    Crawler,
    Export,
    Item,
    ItemFilter,
    Project,
    Run,
    RunStatus,
    parse,
    sources_of,
)
from studiolab.domain.ports import MAX_PAGE_SIZE, CountScope

Entity = Project | Crawler | Run | Item | Export  # what the generic helpers handle
COUNT_SCOPES: tuple[str, ...] = get_args(CountScope)
MAX_COUNT_NAME = 200
_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")

# The open-run guard of both adapters (partial unique index, DynamoDB lock record) is taken
# when a run is created open and released when it moves to a closed status. That is only
# sound while no transition leads from a closed status back to an open one.
if any(source not in OPEN_STATUSES for target in OPEN_STATUSES for source in sources_of(target)):
    raise RuntimeError(
        "a transition reopens a closed run: the catalogs' open-run guard must change"
    )


def time_key(moment: datetime) -> str:
    """Fixed-width UTC text that sorts like the instant (microsecond precision)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Position(NamedTuple):
    """Where a listing stopped: the (created_at, id) of the last record returned."""

    time: str
    id: str

    @property
    def sort_key(self) -> str:
        return f"{self.time}#{self.id}"


def position_of(created_at: datetime, entity_id: str) -> Position:
    return Position(time_key(created_at), entity_id)


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(
            f"limit must be an integer in 1..{MAX_PAGE_SIZE}",
            fields={"limit": f"must be in 1..{MAX_PAGE_SIZE}"},
        )


def listing_id(kind: str, parent: str | None = None, filters: ItemFilter | None = None) -> str:
    """Names one listing; a cursor is only valid for the listing it was made for."""
    parts = [kind, parent or ""]
    if filters is not None:
        parts.append(filters.model_dump_json(exclude_none=True))
    return "\x1f".join(parts)


def _tag(listing: str) -> str:
    return hashlib.sha256(listing.encode()).hexdigest()[:16]


def encode_cursor(listing: str, position: Position) -> str:
    body = json.dumps({"l": _tag(listing), "t": position.time, "i": position.id})
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_cursor(listing: str, cursor: str | None) -> Position | None:
    """None for the first page; InvalidInput for anything this listing did not hand out."""
    if cursor is None:
        return None
    bad = InvalidInput("invalid cursor", fields={"cursor": "not a cursor of this listing"})
    if not isinstance(cursor, str) or not cursor or len(cursor) > 1000:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
    except (ValueError, binascii.Error) as error:
        raise bad from error
    if not isinstance(body, dict) or body.get("l") != _tag(listing):
        raise bad
    time, entity_id = body.get("t"), body.get("i")
    if not isinstance(time, str) or not _TIME_RE.match(time):
        raise bad
    if not isinstance(entity_id, str) or not _ID_RE.match(entity_id):
        raise bad
    return Position(time, entity_id)


# ---- counts -------------------------------------------------------------------------------


def check_counts(scope: str, entity_id: str, deltas: Mapping[str, int]) -> dict[str, int]:
    if scope not in COUNT_SCOPES:
        raise InvalidInput(f"unknown count scope {scope!r}", fields={"scope": "unknown"})
    if not isinstance(entity_id, str) or not _ID_RE.match(entity_id):
        raise InvalidInput("invalid entity id", fields={"entity_id": "invalid"})
    problems: dict[str, str] = {}
    for name, delta in deltas.items():
        if not isinstance(name, str) or not name or len(name) > MAX_COUNT_NAME:
            problems[str(name)] = "counter names are 1..200 characters"
        elif isinstance(delta, bool) or not isinstance(delta, int):
            problems[name] = "must be an integer"
    if problems:
        raise InvalidInput("invalid count deltas", fields=problems)
    return dict(deltas)


def item_count_deltas(item: Item, sign: int) -> list[tuple[CountScope, str, dict[str, int]]]:
    """What create_item adds (sign=+1) and delete_item subtracts (sign=-1)."""
    deltas = {"items": sign, f"{item.kind}s": sign}
    changes: list[tuple[CountScope, str, dict[str, int]]] = [("project", item.project_id, deltas)]
    if item.crawler_id is not None:
        changes.append(("crawler", item.crawler_id, dict(deltas)))
    return changes


def check_item_immutables(stored: Item, new: Item) -> None:
    """Counts and index keys derive from these, so update_item may not change them."""
    changed = [
        name
        for name in ("project_id", "crawler_id", "kind")
        if getattr(stored, name) != getattr(new, name)
    ]
    if changed:
        raise InvalidInput(
            f"update_item cannot change {', '.join(changed)} (delete and re-create the item)",
            fields={name: "immutable" for name in changed},
        )


# ---- runs ---------------------------------------------------------------------------------

_TEMPLATE_RUN = Run(
    id="template",
    crawler_id="template",
    project_id="template",
    created_at=datetime(2000, 1, 1, tzinfo=UTC),
)


@dataclass(frozen=True)
class RunChange:
    """A validated `update_run` request."""

    status: RunStatus | None
    fields: dict[str, Any]  # validated model values
    json_fields: dict[str, Any]  # the same, in JSON mode (for stores that keep JSON)
    add: dict[str, int]
    expected_version: int | None

    @property
    def bumps_version(self) -> bool:
        return self.status is not None or bool(self.fields)

    @property
    def writes(self) -> bool:
        return self.bumps_version or bool(self.add)

    @property
    def closes(self) -> bool:
        return self.status is not None and self.status not in OPEN_STATUSES

    def refusal(self, run_id: str, current: Run | None) -> StudiolabError | None:
        """Why this change may not apply to `current` (the stored run), or None."""
        if current is None:
            return NotFound(f"run {run_id} not found")
        if self.status is not None and current.status not in sources_of(self.status):
            return IllegalTransition(
                f"run {run_id} cannot go from {current.status} to {self.status}"
            )
        if self.expected_version is not None and current.version != self.expected_version:
            return ConcurrentUpdate(
                f"run {run_id} is at version {current.version}, not {self.expected_version}"
            )
        return None

    def apply(self, run: Run) -> Run:
        data = run.model_dump()
        data.update(self.fields)
        for name, delta in self.add.items():
            data["counters"][name] += delta
        if self.status is not None:
            data["status"] = self.status
        if self.bumps_version:
            data["version"] = run.version + 1
        return Run.model_validate(data)


def prepare_run_change(
    status: RunStatus | str | None,
    set_fields: Mapping[str, Any] | None,
    add: Mapping[str, int] | None,
    expected_version: int | None,
) -> RunChange:
    """Validate every argument of update_run before anything is written (InvalidInput)."""
    target: RunStatus | None = None
    if status is not None:
        try:
            target = RunStatus(status)
        except ValueError as error:
            raise InvalidInput(
                f"unknown run status {status!r}", fields={"status": "unknown"}
            ) from error
    fields: dict[str, Any] = {}
    json_fields: dict[str, Any] = {}
    if set_fields:
        unknown = sorted(set(set_fields) - set(RUN_SETTABLE_FIELDS))
        if unknown:
            raise InvalidInput(
                f"fields {unknown} cannot be set; settable: {list(RUN_SETTABLE_FIELDS)}",
                fields={name: "not settable" for name in unknown},
            )
        checked = parse(Run, {**_TEMPLATE_RUN.model_dump(), **set_fields}, what="run fields")
        fields = {name: getattr(checked, name) for name in set_fields}
        json_fields = checked.model_dump(mode="json", include=set(set_fields))
    increments: dict[str, int] = {}
    if add:
        problems = {
            str(name): f"not a counter; counters: {list(RUN_COUNTER_FIELDS)}"
            for name in add
            if name not in RUN_COUNTER_FIELDS
        }
        problems.update(
            {
                name: "must be a non-negative integer"
                for name, delta in add.items()
                if name in RUN_COUNTER_FIELDS
                and (isinstance(delta, bool) or not isinstance(delta, int) or delta < 0)
            }
        )
        if problems:
            raise InvalidInput("invalid counter increments", fields=problems)
        increments = dict(add)
    if expected_version is not None and (
        isinstance(expected_version, bool) or not isinstance(expected_version, int)
    ):
        raise InvalidInput(
            "expected_version must be an integer", fields={"expected_version": "int"}
        )
    return RunChange(target, fields, json_fields, increments, expected_version)
