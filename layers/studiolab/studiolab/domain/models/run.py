from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from studiolab.domain.errors import IllegalTransition
from studiolab.domain.models.base import DomainModel, EntityId, UtcDatetime


class RunStatus(StrEnum):
    READY = "READY"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ABORTING = "ABORTING"
    ABORTED = "ABORTED"
    TIMED_OUT = "TIMED_OUT"
    # The execution died (process killed, machine restarted); the run can be resumed
    # from its persisted frontier.
    INTERRUPTED = "INTERRUPTED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    def can_become(self, target: RunStatus) -> bool:
        return target in ALLOWED_TRANSITIONS[self]


TERMINAL_STATUSES = frozenset(
    {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.ABORTED, RunStatus.TIMED_OUT}
)
# A crawler has at most one open run: starting another is a Conflict. INTERRUPTED is open
# because the reconciler resumes it.
OPEN_STATUSES = frozenset(
    {RunStatus.READY, RunStatus.RUNNING, RunStatus.ABORTING, RunStatus.INTERRUPTED}
)

ALLOWED_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.READY: frozenset({RunStatus.RUNNING, RunStatus.ABORTED, RunStatus.FAILED}),
    RunStatus.RUNNING: frozenset(
        {
            RunStatus.SUCCEEDED,
            RunStatus.FAILED,
            RunStatus.ABORTING,
            RunStatus.ABORTED,
            RunStatus.TIMED_OUT,
            RunStatus.INTERRUPTED,
        }
    ),
    RunStatus.ABORTING: frozenset(
        {RunStatus.ABORTED, RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.INTERRUPTED}
    ),
    RunStatus.INTERRUPTED: frozenset({RunStatus.RUNNING, RunStatus.FAILED, RunStatus.ABORTED}),
    RunStatus.SUCCEEDED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.ABORTED: frozenset(),
    RunStatus.TIMED_OUT: frozenset(),
}


def sources_of(target: RunStatus) -> frozenset[RunStatus]:
    """Every status from which `target` may be reached: the condition of a status write."""
    return frozenset(source for source, targets in ALLOWED_TRANSITIONS.items() if target in targets)


def check_transition(current: RunStatus, target: RunStatus) -> None:
    if not current.can_become(target):
        raise IllegalTransition(f"a run cannot go from {current} to {target}")


RUN_COUNTER_FIELDS = (
    "pages_ok",
    "pages_failed",
    "items",
    "images",
    "bytes",
    "pages_unchanged",
    "items_unchanged",
    "items_updated",
    "images_unchanged",
    "redirects_refused",
)
# Fields `Catalog.update_run(set=...)` may change; status and counters have their own paths.
RUN_SETTABLE_FIELDS = (
    "expected_items",
    "stop_requested",
    "started_at",
    "finished_at",
    "heartbeat_at",
    "status_message",
    "error",
    "execution_ref",
)


class RunCounters(DomainModel):
    pages_ok: int = Field(default=0, ge=0)
    pages_failed: int = Field(default=0, ge=0)
    items: int = Field(default=0, ge=0)
    images: int = Field(default=0, ge=0)
    bytes: int = Field(default=0, ge=0)
    # Incremental re-crawl: 304 answers to conditional GETs (no body, no extraction) ...
    pages_unchanged: int = Field(default=0, ge=0)
    # ... products found unchanged (304, same Shopify updated_at, or same extracted fields)
    # and existing items whose product changed (updated in place, not duplicated) ...
    items_unchanged: int = Field(default=0, ge=0)
    items_updated: int = Field(default=0, ge=0)
    # ... images already stored (304, or same URL without validators): not downloaded again.
    images_unchanged: int = Field(default=0, ge=0)
    # Redirects to a host outside the crawler's allowed_domains (the page counts as failed).
    redirects_refused: int = Field(default=0, ge=0)


class RunError(DomainModel):
    code: str
    message: str


class Run(DomainModel):
    id: EntityId
    crawler_id: EntityId
    project_id: EntityId
    status: RunStatus = RunStatus.READY
    counters: RunCounters = Field(default_factory=RunCounters)
    # Known total for the ETA (sitemap size, products.json count or max_items); None = unknown.
    expected_items: int | None = Field(default=None, ge=0)
    stop_requested: bool = False
    created_at: UtcDatetime
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None
    heartbeat_at: UtcDatetime | None = None
    status_message: str = ""
    error: RunError | None = None
    execution_ref: str | None = None
    version: int = Field(default=1, ge=1)
