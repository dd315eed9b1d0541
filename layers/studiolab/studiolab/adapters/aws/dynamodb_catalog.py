"""The Catalog port on DynamoDB: one table (see table_schema), Query only - never Scan.

Atomicity comes from DynamoDB itself: every rule is a ConditionExpression, and writes that
touch several records (an item and its counters; a run and its crawler's open-run lock) are
one TransactWriteItems. When a condition fails, the record is read again to tell NotFound,
IllegalTransition and ConcurrentUpdate apart; a write whose condition holds on that re-read
lost a transient race and is retried."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from studiolab.adapters.aws import dynamodb_codec as codec
from studiolab.adapters.aws.dynamodb_codec import (
    CRAWLERS,
    EXISTS,
    EXPORTS,
    ITEMS,
    NOT_EXISTS,
    PROJECTS,
    RUNS,
    EntitySpec,
    n,
    s,
)
from studiolab.adapters.aws.dynamodb_table import (
    MAX_ATTEMPTS,
    Cancelled,
    ConditionFailed,
    DynamoTable,
    backoff,
)
from studiolab.adapters.aws.table_schema import GSI1, GSI2, PK
from studiolab.adapters.catalog_common import (
    Entity,
    RunChange,
    check_counts,
    check_item_immutables,
    check_limit,
    decode_cursor,
    encode_cursor,
    item_count_deltas,
    listing_id,
    position_of,
    prepare_run_change,
)
from studiolab.domain.errors import BackendError, ConcurrentUpdate, Conflict, NotFound
from studiolab.domain.models import (
    OPEN_STATUSES,
    Crawler,
    Export,
    Item,
    ItemFilter,
    Project,
    Run,
    RunStatus,
)
from studiolab.domain.ports import MAX_PAGE_SIZE, CountScope, Page

E = TypeVar("E", bound=Entity)


class DynamoCatalog:
    def __init__(self, table_name: str, *, client: Any | None = None) -> None:
        """`client`: a boto3 DynamoDB client; default boto3.client("dynamodb")."""
        self._db = DynamoTable(table_name, client)

    # ---- projects ---------------------------------------------------------------------------

    def create_project(self, project: Project) -> Project:
        return self._create(PROJECTS, project)

    def get_project(self, project_id: str) -> Project:
        return self._get(PROJECTS, project_id)

    def update_project(self, project: Project) -> Project:
        return self._update(PROJECTS, project)

    def delete_project(self, project_id: str) -> None:
        self._db.call("delete_item", Key=PROJECTS.key(project_id))

    def list_projects(self, *, limit: int = 50, cursor: str | None = None) -> Page[Project]:
        listing = listing_id("projects")
        return self._list(PROJECTS, GSI1, codec.ALL_PROJECTS, listing, limit, cursor)

    # ---- crawlers ---------------------------------------------------------------------------

    def create_crawler(self, crawler: Crawler) -> Crawler:
        return self._create(CRAWLERS, crawler)

    def get_crawler(self, crawler_id: str) -> Crawler:
        return self._get(CRAWLERS, crawler_id)

    def update_crawler(self, crawler: Crawler) -> Crawler:
        return self._update(CRAWLERS, crawler)

    def delete_crawler(self, crawler_id: str) -> None:
        self._db.call("delete_item", Key=CRAWLERS.key(crawler_id))

    def list_crawlers(
        self, project_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Crawler]:
        partition = codec.project_children_pk(project_id, "CRAWLERS")
        listing = listing_id("crawlers", project_id)
        return self._list(CRAWLERS, GSI1, partition, listing, limit, cursor)

    # ---- runs -------------------------------------------------------------------------------

    def create_run(self, run: Run) -> Run:
        actions = [codec.put_action(self._db.name, RUNS.encode(run), NOT_EXISTS)]
        if run.status in OPEN_STATUSES:
            lock = {**codec.lock_key(run.crawler_id), "run_id": s(run.id)}
            actions.append(codec.put_action(self._db.name, lock, NOT_EXISTS))
        try:
            self._db.transact(actions)
        except Cancelled as cancelled:
            if cancelled.failed(0):
                raise Conflict(f"run {run.id} already exists") from None
            if cancelled.failed(1):
                raise Conflict(f"crawler {run.crawler_id} already has an open run") from None
            raise cancelled.error("create_run") from None
        return run

    def get_run(self, run_id: str) -> Run:
        return self._get(RUNS, run_id)

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        set_fields: Mapping[str, Any] | None = None,
        add: Mapping[str, int] | None = None,
        expected_version: int | None = None,
    ) -> Run:
        change = prepare_run_change(status, set_fields, add, expected_version)
        for attempt in range(MAX_ATTEMPTS):
            if change.writes:
                try:
                    return self._write_run_change(run_id, change)
                except Cancelled as cancelled:
                    if cancelled.failed(1) and not cancelled.failed(0):
                        raise BackendError(
                            f"the open-run lock of run {run_id}'s crawler names another run"
                        ) from None
                    if not cancelled.failed(0):
                        raise cancelled.error("update_run") from None
                except ConditionFailed:
                    pass
            # The write's condition failed (or there is no write): find out why.
            current = self._find(RUNS, run_id)
            refusal = change.refusal(run_id, current)
            if refusal is not None:
                raise refusal
            if not change.writes and current is not None:
                return current
            backoff(attempt)  # the condition holds again: we lost a transient race
        raise ConcurrentUpdate(f"run {run_id} kept changing; retry")

    def delete_run(self, run_id: str) -> None:
        for attempt in range(MAX_ATTEMPTS):
            run = self._find(RUNS, run_id)
            if run is None:
                return
            if run.status not in OPEN_STATUSES:  # closed runs never reopen: no lock to free
                self._db.call("delete_item", Key=RUNS.key(run_id))
                return
            delete = codec.delete_action(self._db.name, RUNS.key(run_id), EXISTS)
            try:
                self._db.transact([delete, codec.release_lock_action(self._db.name, run)])
                return
            except Cancelled as cancelled:
                if cancelled.failed(0):
                    return  # deleted meanwhile
                if not cancelled.failed(1):
                    raise cancelled.error("delete_run") from None
            backoff(attempt)  # it closed meanwhile and another run took the lock
        raise ConcurrentUpdate(f"run {run_id} kept changing; retry")

    def list_runs(
        self, crawler_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Run]:
        partition = codec.crawler_runs_pk(crawler_id)
        return self._list(RUNS, GSI1, partition, listing_id("runs", crawler_id), limit, cursor)

    def list_open_runs(self) -> list[Run]:
        records = self._db.query(GSI2, codec.OPEN_RUNS, before=None, batch=MAX_PAGE_SIZE)
        return [RUNS.decode(record) for record in records]

    # ---- items ------------------------------------------------------------------------------

    def create_item(self, item: Item) -> Item:
        actions = [codec.put_action(self._db.name, ITEMS.encode(item), NOT_EXISTS)]
        actions += self._count_actions(item, +1)
        try:
            self._db.transact(actions)
        except Cancelled as cancelled:
            if cancelled.failed(0):
                raise Conflict(f"item {item.id} already exists") from None
            raise cancelled.error("create_item") from None
        return item

    def get_item(self, item_id: str) -> Item:
        return self._get(ITEMS, item_id)

    def update_item(self, item: Item) -> Item:
        return self._update(ITEMS, item)

    def delete_item(self, item_id: str) -> None:
        item = self._find(ITEMS, item_id)
        if item is None:
            return
        # The condition pins the record whose counts we subtract (same project/crawler/kind).
        condition, imm = f"{EXISTS} AND #imm = :imm", {":imm": s(codec.item_immutable(item))}
        delete = codec.delete_action(self._db.name, ITEMS.key(item_id), condition, imm, imm="imm")
        try:
            self._db.transact([delete, *self._count_actions(item, -1)])
        except Cancelled as cancelled:
            if not cancelled.failed(0):  # failed(0): someone else deleted it first
                raise cancelled.error("delete_item") from None

    def list_items(
        self,
        project_id: str,
        *,
        filters: ItemFilter | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Item]:
        wanted = filters or ItemFilter()
        listing = listing_id("items", project_id, wanted)
        if wanted.crawler_id is not None:
            partition = codec.crawler_items_pk(wanted.crawler_id)

            def accept(item: Item) -> bool:
                return item.project_id == project_id and wanted.matches(item)

            return self._list(ITEMS, GSI2, partition, listing, limit, cursor, accept)
        partition = codec.project_children_pk(project_id, "ITEMS")
        narrowed = wanted.matches if wanted != ItemFilter() else None
        return self._list(ITEMS, GSI1, partition, listing, limit, cursor, narrowed)

    # ---- counts -----------------------------------------------------------------------------

    def get_counts(self, scope: CountScope, entity_id: str) -> dict[str, int]:
        check_counts(scope, entity_id, {})
        return codec.counts_of(self._db.get(codec.counts_key(scope, entity_id)))

    def increment_counts(
        self, scope: CountScope, entity_id: str, deltas: Mapping[str, int]
    ) -> dict[str, int]:
        checked = check_counts(scope, entity_id, deltas)
        if not checked:
            return self.get_counts(scope, entity_id)
        update = codec.add_counts_action(self._db.name, scope, entity_id, checked)["Update"]
        response = self._db.call("update_item", **update, ReturnValues="ALL_NEW")
        return codec.counts_of(response.get("Attributes"))

    # ---- exports ----------------------------------------------------------------------------

    def create_export(self, export: Export) -> Export:
        return self._create(EXPORTS, export)

    def get_export(self, export_id: str) -> Export:
        return self._get(EXPORTS, export_id)

    def update_export(self, export: Export) -> Export:
        return self._update(EXPORTS, export)

    def delete_export(self, export_id: str) -> None:
        self._db.call("delete_item", Key=EXPORTS.key(export_id))

    def list_exports(
        self, project_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Export]:
        partition = codec.project_children_pk(project_id, "EXPORTS")
        listing = listing_id("exports", project_id)
        return self._list(EXPORTS, GSI1, partition, listing, limit, cursor)

    # ---- plumbing ---------------------------------------------------------------------------

    def _create(self, spec: EntitySpec[E], entity: E) -> E:
        put = codec.put_action(self._db.name, spec.encode(entity), NOT_EXISTS)["Put"]
        try:
            self._db.call("put_item", **put)
        except ConditionFailed:
            raise Conflict(f"{spec.label} {entity.id} already exists") from None
        return entity

    def _find(self, spec: EntitySpec[E], entity_id: str) -> E | None:
        record = self._db.get(spec.key(entity_id))
        return None if record is None else spec.decode(record)

    def _get(self, spec: EntitySpec[E], entity_id: str) -> E:
        entity = self._find(spec, entity_id)
        if entity is None:
            raise NotFound(f"{spec.label} {entity_id} not found")
        return entity

    def _update(self, spec: EntitySpec[E], entity: E) -> E:
        updated = spec.with_version(entity, entity.version + 1)
        names, values = {"#pk": PK, "#v": "v"}, {":v": n(entity.version)}
        condition = f"{EXISTS} AND #v = :v"
        immutable = spec.immutable(entity)
        if immutable is not None:
            names["#imm"], values[":imm"] = "imm", s(immutable)
            condition += " AND #imm = :imm"
        try:
            self._db.call(
                "put_item",
                Item=spec.encode(updated),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ConditionFailed:
            stored = self._find(spec, entity.id)
            if stored is None:
                raise NotFound(f"{spec.label} {entity.id} not found") from None
            same_version = stored.version == entity.version
            if same_version and isinstance(stored, Item) and isinstance(entity, Item):
                check_item_immutables(stored, entity)
            raise ConcurrentUpdate(
                f"{spec.label} {entity.id} is at version {stored.version}, not {entity.version}"
            ) from None
        return updated

    def _write_run_change(self, run_id: str, change: RunChange) -> Run:
        update = codec.run_update(run_id, change)
        if not change.closes:
            response = self._db.call("update_item", **update, ReturnValues="ALL_NEW")
            return RUNS.decode(response["Attributes"])
        run = self._find(RUNS, run_id)  # for its crawler id, which never changes
        if run is None:
            raise ConditionFailed
        release = codec.release_lock_action(self._db.name, run)
        self._db.transact([{"Update": {"TableName": self._db.name, **update}}, release])
        return self._get(RUNS, run_id)

    def _count_actions(self, item: Item, sign: int) -> list[dict[str, Any]]:
        return [
            codec.add_counts_action(self._db.name, scope, entity_id, deltas)
            for scope, entity_id, deltas in item_count_deltas(item, sign)
        ]

    def _list(
        self,
        spec: EntitySpec[E],
        index: str,
        partition: str,
        listing: str,
        limit: int,
        cursor: str | None,
        accept: Callable[[E], bool] | None = None,
    ) -> Page[E]:
        """One page of an index partition; `accept` filters in Python, so keep reading query
        pages until the page is full (plus one record, to know whether another page exists)."""
        check_limit(limit)
        position = decode_cursor(listing, cursor)
        before = None if position is None else position.sort_key
        batch = limit + 1 if accept is None else MAX_PAGE_SIZE
        found: list[E] = []
        for record in self._db.query(index, partition, before=before, batch=batch):
            entity = spec.decode(record)
            if accept is None or accept(entity):
                found.append(entity)
                if len(found) > limit:
                    break
        page = found[:limit]
        next_cursor = None
        if len(found) > limit:  # made from the last item returned, never LastEvaluatedKey
            next_cursor = encode_cursor(listing, position_of(page[-1].created_at, page[-1].id))
        return Page(page, next_cursor)
