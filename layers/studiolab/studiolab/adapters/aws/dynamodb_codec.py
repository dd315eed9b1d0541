"""Records of the DynamoDB catalog: keys, and entities <-> low-level attribute maps.

An entity is stored as its JSON (`doc`, a string: no Decimal round trips) plus the key
attributes and `v` (its version, for conditions). Runs keep the parts `update_run` changes
in place as attributes of their own - `st` (status), `c_<counter>` (numbers, for ADD) and
`f_<field>` (JSON text of each settable field) - which override `doc` when decoding.

Ephemeral records also carry the table's TTL attribute (table_schema.TTL_ATTRIBUTE, epoch
seconds): exports, EXPORT_TTL_GRACE after their zip's `expires_at`, so GET /v1/exports/{id}
still answers EXPIRED for a while before DynamoDB deletes the record; failed exports (no zip)
EXPORT_TTL_GRACE after they failed, time enough to read why. Every put rewrites it (a pending
or running export carries none, so a failed export being rebuilt loses it)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar, cast

from studiolab.adapters.aws.table_schema import (
    GSI1PK,
    GSI1SK,
    GSI2PK,
    GSI2SK,
    PK,
    SK,
    TTL_ATTRIBUTE,
)
from studiolab.adapters.catalog_common import Entity, RunChange, position_of
from studiolab.domain.models import (
    OPEN_STATUSES,
    RUN_COUNTER_FIELDS,
    RUN_SETTABLE_FIELDS,
    Crawler,
    Export,
    Item,
    Project,
    Run,
    sources_of,
)

E = TypeVar("E", bound=Entity)
Attr = dict[str, Any]  # one low-level attribute value: {"S": "..."} / {"N": "1"}
Record = dict[str, Attr]

META = "#META"
ALL_PROJECTS = "PROJECTS"
OPEN_RUNS = "OPENRUNS"
LOCK_SK = "OPENRUN"
COUNTS_SK = "#COUNTS"
COUNT_PREFIX = "c:"  # counters of a COUNTS record: one number attribute per name
# How long an export record outlives its zip's expiry before DynamoDB's TTL deletes it.
EXPORT_TTL_GRACE = timedelta(days=7)


def s(value: str) -> Attr:
    return {"S": value}


def n(value: int) -> Attr:
    return {"N": str(value)}


@dataclass(frozen=True)
class EntitySpec(Generic[E]):
    """How one entity type maps onto the table."""

    prefix: str
    model: type[E]
    label: str
    gsi1pk: Callable[[E], str]
    gsi2pk: Callable[[E], str | None] = field(default=lambda entity: None)
    # What update_* may not change, as one string compared by the write's condition.
    immutable: Callable[[E], str | None] = field(default=lambda entity: None)
    # When DynamoDB may delete the record (written as TTL_ATTRIBUTE); None: never.
    expiry: Callable[[E], datetime | None] = field(default=lambda entity: None)

    def key(self, entity_id: str) -> Record:
        return {PK: s(f"{self.prefix}#{entity_id}"), SK: s(META)}

    def encode(self, entity: E) -> Record:
        sort_key = s(position_of(entity.created_at, entity.id).sort_key)
        record: Record = {
            **self.key(entity.id),
            "doc": s(entity.model_dump_json()),
            "v": n(entity.version),
            GSI1PK: s(self.gsi1pk(entity)),
            GSI1SK: sort_key,
        }
        gsi2 = self.gsi2pk(entity)
        if gsi2 is not None:
            record[GSI2PK] = s(gsi2)
            record[GSI2SK] = sort_key
        immutable = self.immutable(entity)
        if immutable is not None:
            record["imm"] = s(immutable)
        expiry = self.expiry(entity)
        if expiry is not None:
            record[TTL_ATTRIBUTE] = n(ttl_seconds(expiry))
        if isinstance(entity, Run):
            record.update(run_attributes(entity))
        return record

    def decode(self, record: Mapping[str, Attr]) -> E:
        data = json.loads(record["doc"]["S"])
        if self.model is Run:
            data.update(run_overrides(record))
        return cast(E, self.model.model_validate(data))

    def with_version(self, entity: E, version: int) -> E:
        return cast(E, entity.model_copy(update={"version": version}))


def ttl_seconds(moment: datetime) -> int:
    """A TTL attribute value: whole epoch seconds, rounded up (never before `moment`)."""
    return math.ceil(moment.timestamp())


def export_expiry(export: Export) -> datetime | None:
    """An export record goes EXPORT_TTL_GRACE after its zip expired, or after it failed;
    never while unfinished."""
    if export.expires_at is not None:
        return export.expires_at + EXPORT_TTL_GRACE
    if export.status == "FAILED" and export.finished_at is not None:
        return export.finished_at + EXPORT_TTL_GRACE
    return None


def project_children_pk(project_id: str, kind: str) -> str:
    return f"PROJECT#{project_id}#{kind}"


def crawler_items_pk(crawler_id: str) -> str:
    return f"CRAWLER#{crawler_id}#ITEMS"


def crawler_runs_pk(crawler_id: str) -> str:
    return f"CRAWLER#{crawler_id}#RUNS"


def item_immutable(item: Item) -> str:
    """What update_item may not change: the fields counts and index keys derive from."""
    return json.dumps([item.project_id, item.crawler_id, item.kind])


PROJECTS: EntitySpec[Project] = EntitySpec("PROJECT", Project, "project", lambda p: ALL_PROJECTS)
CRAWLERS: EntitySpec[Crawler] = EntitySpec(
    "CRAWLER", Crawler, "crawler", lambda c: project_children_pk(c.project_id, "CRAWLERS")
)
RUNS: EntitySpec[Run] = EntitySpec(
    "RUN",
    Run,
    "run",
    lambda r: crawler_runs_pk(r.crawler_id),
    lambda r: OPEN_RUNS if r.status in OPEN_STATUSES else None,
)
ITEMS: EntitySpec[Item] = EntitySpec(
    "ITEM",
    Item,
    "item",
    lambda i: project_children_pk(i.project_id, "ITEMS"),
    lambda i: None if i.crawler_id is None else crawler_items_pk(i.crawler_id),
    item_immutable,
)
EXPORTS: EntitySpec[Export] = EntitySpec(
    "EXPORT",
    Export,
    "export",
    lambda e: project_children_pk(e.project_id, "EXPORTS"),
    expiry=export_expiry,
)


def lock_key(crawler_id: str) -> Record:
    """The open-run lock of a crawler: exists exactly while the crawler has an open run."""
    return {PK: s(f"CRAWLER#{crawler_id}"), SK: s(LOCK_SK)}


def counts_key(scope: str, entity_id: str) -> Record:
    return {PK: s(f"COUNTS#{scope}#{entity_id}"), SK: s(COUNTS_SK)}


def counts_of(record: Mapping[str, Attr] | None) -> dict[str, int]:
    if not record:
        return {}
    return {
        name[len(COUNT_PREFIX) :]: int(value["N"])
        for name, value in sorted(record.items())
        if name.startswith(COUNT_PREFIX)
    }


def run_attributes(run: Run) -> Record:
    """The attributes update_run writes in place (see the module docstring)."""
    record: Record = {"st": s(run.status.value), "cid": s(run.crawler_id)}
    counters = run.counters.model_dump()
    for name in RUN_COUNTER_FIELDS:
        record[f"c_{name}"] = n(counters[name])
    values = run.model_dump(mode="json", include=set(RUN_SETTABLE_FIELDS))
    for name in RUN_SETTABLE_FIELDS:
        record[f"f_{name}"] = s(json.dumps(values[name]))
    return record


def run_overrides(record: Mapping[str, Attr]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "status": record["st"]["S"],
        "version": int(record["v"]["N"]),
        # Counters added after a run was stored read as 0 (no migration of old records).
        "counters": {
            name: int(record.get(f"c_{name}", {"N": "0"})["N"]) for name in RUN_COUNTER_FIELDS
        },
    }
    for name in RUN_SETTABLE_FIELDS:
        data[name] = json.loads(record[f"f_{name}"]["S"])
    return data


# ---- request parts (low-level client shapes) -------------------------------------------------

NOT_EXISTS = "attribute_not_exists(#pk)"
EXISTS = "attribute_exists(#pk)"


def expression(key: Record, names: dict[str, str], values: Record, **parts: str) -> dict[str, Any]:
    """Key + expressions + their placeholders (DynamoDB refuses an empty value map)."""
    request: dict[str, Any] = {"Key": key, **parts, "ExpressionAttributeNames": names}
    if values:
        request["ExpressionAttributeValues"] = values
    return request


def put_action(table: str, record: Record, condition: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table,
            "Item": record,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#pk": PK},
        }
    }


def delete_action(
    table: str, key: Record, condition: str, values: Record | None = None, **names: str
) -> dict[str, Any]:
    """A transaction's Delete; `names` maps placeholder "x" (used as "#x") to an attribute."""
    placeholders = {"#pk": PK, **{f"#{name}": attribute for name, attribute in names.items()}}
    request = expression(key, placeholders, values or {}, ConditionExpression=condition)
    return {"Delete": {"TableName": table, **request}}


def add_counts_action(
    table: str, scope: str, entity_id: str, deltas: Mapping[str, int]
) -> dict[str, Any]:
    names = {f"#n{i}": COUNT_PREFIX + name for i, name in enumerate(deltas)}
    values = {f":d{i}": n(delta) for i, delta in enumerate(deltas.values())}
    update = "ADD " + ", ".join(f"#n{i} :d{i}" for i in range(len(deltas)))
    request = expression(counts_key(scope, entity_id), names, values, UpdateExpression=update)
    return {"Update": {"TableName": table, **request}}


def release_lock_action(table: str, run: Run) -> dict[str, Any]:
    """Delete the crawler's open-run lock if this run holds it (or it is already gone)."""
    return delete_action(
        table,
        lock_key(run.crawler_id),
        f"{NOT_EXISTS} OR #rid = :rid",
        {":rid": s(run.id)},
        rid="run_id",
    )


def run_update(run_id: str, change: RunChange) -> dict[str, Any]:
    """One UpdateItem request doing all of `change`, conditional on its rules."""
    names: dict[str, str] = {"#pk": PK}
    values: Record = {}
    sets: list[str] = []
    conditions = [EXISTS]
    if change.status is not None:
        names["#st"], values[":st"] = "st", s(change.status.value)
        sets.append("#st = :st")
        sources = sorted(sources_of(change.status))
        values.update({f":src{i}": s(source.value) for i, source in enumerate(sources)})
        conditions.append(f"#st IN ({', '.join(f':src{i}' for i in range(len(sources)))})")
    if change.bumps_version or change.expected_version is not None:
        names["#v"] = "v"
    if change.bumps_version:
        values[":one"] = n(1)
        sets.append("#v = #v + :one")
    if change.expected_version is not None:
        values[":ev"] = n(change.expected_version)
        conditions.append("#v = :ev")
    for i, (name, value) in enumerate(change.json_fields.items()):
        names[f"#f{i}"], values[f":f{i}"] = f"f_{name}", s(json.dumps(value))
        sets.append(f"#f{i} = :f{i}")
    adds = []
    for i, (name, delta) in enumerate(change.add.items()):
        names[f"#c{i}"], values[f":c{i}"] = f"c_{name}", n(delta)
        adds.append(f"#c{i} :c{i}")
    clauses = [f"SET {', '.join(sets)}" if sets else "", f"ADD {', '.join(adds)}" if adds else ""]
    if change.closes:  # leave the sparse open-runs index
        names["#g2pk"], names["#g2sk"] = GSI2PK, GSI2SK
        clauses.append("REMOVE #g2pk, #g2sk")
    return expression(
        RUNS.key(run_id),
        names,
        values,
        UpdateExpression=" ".join(clause for clause in clauses if clause),
        ConditionExpression=" AND ".join(conditions),
    )
