"""Ports: what services need from the world. Adapters in studiolab.adapters implement them;
studiolab.runtime.wiring picks which. Each port has one contract suite in tests/contract/."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Generic, Literal, Protocol, TypeVar

from studiolab.domain.models import (
    Crawler,
    Export,
    Item,
    ItemFilter,
    Project,
    Run,
    RunStatus,
)

T = TypeVar("T")
CountScope = Literal["project", "crawler"]
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing. `next` is an opaque cursor, None on the last page."""

    items: list[T]
    next: str | None


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    etag: str
    content_type: str | None
    last_modified: datetime


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        ...


class IdGenerator(Protocol):
    def new_id(self, prefix: str) -> str:
        """A unique id, `<prefix>_<26 chars>`, sortable by creation time."""
        ...


class BlobStore(Protocol):
    """Binary objects by key ("raw/<project>/<item>.jpg"). Keys are validated by
    studiolab.domain.blobkeys.check_key: relative, no "..", no backslash, no control chars."""

    # How many objects a bulk reader (the export) should fetch ahead in threads: worth it
    # when each read waits on the network (S3), a loss for page-cached local files (0).
    read_ahead: int

    def put(self, key: str, data: bytes, *, content_type: str | None = None) -> BlobInfo: ...

    def put_stream(
        self, key: str, source: BinaryIO, *, content_type: str | None = None
    ) -> BlobInfo:
        """Store everything `source` yields with bounded memory (exports, large uploads)."""
        ...

    def get(self, key: str) -> bytes:
        """The whole object; NotFound if absent."""
        ...

    def stream(self, key: str, *, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """The object in chunks; NotFound (raised on the first next()) if absent."""
        ...

    def head(self, key: str) -> BlobInfo:
        """NotFound if absent."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Idempotent: deleting an absent key is fine."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every key under `prefix` (non-empty); returns how many."""
        ...

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Every object under `prefix`, in key order."""
        ...

    def signed_get_url(self, key: str, *, expires_in: int, filename: str | None = None) -> str:
        """A URL anyone can GET until it expires (seconds, 1..604800). `filename` sets
        Content-Disposition: attachment."""
        ...

    def signed_put_url(self, key: str, *, expires_in: int, content_type: str | None = None) -> str:
        """A URL anyone can PUT the object to until it expires; the write then emits the
        same object-created event as `put`."""
        ...


class Catalog(Protocol):
    """State of projects, crawlers, runs, items and exports.

    Conventions shared by every entity:
    - create_* refuses an existing id (Conflict); get_* raises NotFound.
    - update_* is optimistic: the given entity's `version` must equal the stored one, else
      ConcurrentUpdate; the stored and returned entity has version + 1.
    - delete_* is idempotent and deletes only that record (services cascade).
    - list_* pages with an opaque cursor; `limit` in 1..MAX_PAGE_SIZE; a cursor not made by
      this catalog for this listing -> InvalidInput. Order: newest first (created_at, id).
    - No full-table scan on any of these paths.
    """

    # projects
    def create_project(self, project: Project) -> Project: ...
    def get_project(self, project_id: str) -> Project: ...
    def update_project(self, project: Project) -> Project: ...
    def delete_project(self, project_id: str) -> None: ...
    def list_projects(self, *, limit: int = 50, cursor: str | None = None) -> Page[Project]: ...

    # crawlers
    def create_crawler(self, crawler: Crawler) -> Crawler: ...
    def get_crawler(self, crawler_id: str) -> Crawler: ...
    def update_crawler(self, crawler: Crawler) -> Crawler: ...
    def delete_crawler(self, crawler_id: str) -> None: ...
    def list_crawlers(
        self, project_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Crawler]: ...

    # runs
    def create_run(self, run: Run) -> Run:
        """Conflict if the crawler already has a run in OPEN_STATUSES (atomic: two
        concurrent starts -> exactly one wins)."""
        ...

    def get_run(self, run_id: str) -> Run: ...

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        set_fields: Mapping[str, Any] | None = None,
        add: Mapping[str, int] | None = None,
        expected_version: int | None = None,
    ) -> Run:
        """One atomic, conditional write; returns the run after it.

        status: the new status; written only if the stored status may become it
          (models.run.sources_of), else IllegalTransition - a lost race never overwrites.
        set_fields: keys from RUN_SETTABLE_FIELDS (others -> InvalidInput).
        add: atomic counter increments, keys from RUN_COUNTER_FIELDS.
        expected_version: if given, ConcurrentUpdate unless the stored version equals it.
        The version is bumped when status or set_fields change, not for pure increments.
        """
        ...

    def delete_run(self, run_id: str) -> None: ...
    def list_runs(
        self, crawler_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Run]: ...

    def list_open_runs(self) -> list[Run]:
        """Every run in OPEN_STATUSES, across crawlers (the reconciler's query; indexed)."""
        ...

    # items
    def create_item(self, item: Item) -> Item:
        """Also adds 1 to the `items` and `<kind>s` counts of its project and crawler,
        in the same transaction."""
        ...

    def get_item(self, item_id: str) -> Item: ...
    def update_item(self, item: Item) -> Item: ...

    def delete_item(self, item_id: str) -> None:
        """Also subtracts what create_item added, in the same transaction."""
        ...

    def list_items(
        self,
        project_id: str,
        *,
        filters: ItemFilter | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Item]:
        """Items of a project matching `filters` (ItemFilter.matches is the definition).
        A page may hold fewer than `limit` items only when it is the last one."""
        ...

    # counts
    def get_counts(self, scope: CountScope, entity_id: str) -> dict[str, int]:
        """Counters of a project or crawler; {} when none. Keys never go below 0 silently:
        they are what was added."""
        ...

    def increment_counts(
        self, scope: CountScope, entity_id: str, deltas: Mapping[str, int]
    ) -> dict[str, int]:
        """Atomic increments (negative allowed); returns the counters after."""
        ...

    # exports
    def create_export(self, export: Export) -> Export: ...
    def get_export(self, export_id: str) -> Export: ...
    def update_export(self, export: Export) -> Export: ...
    def delete_export(self, export_id: str) -> None: ...
    def list_exports(
        self, project_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page[Export]: ...


class Jobs(Protocol):
    """Asynchronous work: "run this handler with this payload, later, at least once".
    AWS: async Lambda invocation; local: the durable SQLite job table + worker threads."""

    def submit(self, topic: str, payload: Mapping[str, Any]) -> str:
        """Queue one job; returns its id. Unknown topic -> InvalidInput."""
        ...


class BlobEvents(Protocol):
    """Object-created notifications. AWS: S3 sends them itself (bucket notifications, wired
    in CDK), so its adapter does nothing. Local: the blob store calls this after each write
    and the adapter queues an S3-notification-shaped event for the subscribed handler."""

    def object_created(self, info: BlobInfo) -> None: ...


ExecutionStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


@dataclass(frozen=True)
class ExecutionInfo:
    """What a workflow engine says about one execution."""

    status: ExecutionStatus
    error: str | None = None
    cause: str | None = None


class Workflows(Protocol):
    """Durable workflow executions (the crawl state machine). AWS: Step Functions; local: the
    same ASL run in-process by moto's interpreter (adapters/local/moto_workflows.py)."""

    def start(self, machine: str, name: str, payload: Mapping[str, Any]) -> str:
        """Start an execution of `machine` (a logical name, e.g. "crawl") named `name`
        (unique per machine); returns its reference. Unknown machine -> InvalidInput."""
        ...

    def stop(self, ref: str, *, error: str = "", cause: str = "") -> None:
        """Stop a running execution (it ends ABORTED). Idempotent on ended executions;
        NotFound if the engine does not know `ref`."""
        ...

    def describe(self, ref: str) -> ExecutionInfo:
        """NotFound if the engine does not know `ref` (e.g. local, after a restart)."""
        ...
