"""Run control: start, stop, status with ETA, the crawl state machine's bookkeeping steps
(StartRun, FinishRun, FailRun, ContinueAsNew) and the reconciler that repairs runs whose
execution died. Sees ports only (Catalog, Workflows, Clock, IdGenerator)."""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from studiolab.domain.errors import IllegalTransition, NotFound
from studiolab.domain.models import Run, RunStatus
from studiolab.domain.models.run import RunError
from studiolab.domain.ports import Catalog, Clock, IdGenerator, Workflows

log = logging.getLogger(__name__)

CRAWL_MACHINE = "crawl"
# Loop iterations per execution. One iteration is at most ~ 20 + 7 x batch_images history
# events (100 images -> ~720), so 25 iterations stay well under Step Functions' 25,000.
DEFAULT_ITERATION_LIMIT = 25
# A RUNNING run whose heartbeat (written after every FetchBatch) is older than this is taken
# for dead even if its execution still says RUNNING (a hung task, a lost local thread): it is
# stopped and resumed. Raised for slow crawlers: one loop iteration fetches up to ~20 pages
# and ~100 images at delay_s each, plus the pacing Wait.
DEFAULT_STALE_AFTER_S = 900.0
STALE_DELAYS = 150


@dataclass(frozen=True)
class RunProgress:
    elapsed_s: float | None
    items_per_min: float | None
    remaining: int | None  # None: unknown
    eta_s: float | None  # None: unknown (no expected total, or no rate yet)


@dataclass(frozen=True)
class Repair:
    run_id: str
    # "resumed" | "restarted" (stale heartbeat) | "launched" (never was) | "aborted" | "timed_out"
    action: str


class RunControl:
    def __init__(
        self,
        catalog: Catalog,
        workflows: Workflows,
        clock: Clock,
        ids: IdGenerator,
        *,
        iteration_limit: int = DEFAULT_ITERATION_LIMIT,
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
    ) -> None:
        self.catalog = catalog
        self.workflows = workflows
        self.clock = clock
        self.ids = ids
        self.iteration_limit = iteration_limit
        self.stale_after_s = stale_after_s

    # -- API ----------------------------------------------------------------------------------

    def start_run(self, crawler_id: str) -> Run:
        """Conflict if the crawler already has an open run."""
        crawler = self.catalog.get_crawler(crawler_id)
        run = self.catalog.create_run(
            Run(
                id=self.ids.new_id("run"),
                crawler_id=crawler.id,
                project_id=crawler.project_id,
                created_at=self.clock.now(),
            )
        )
        return self._launch(run, RunStatus.READY)

    def stop_run(self, run_id: str, *, now: bool = False) -> Run:
        """Graceful: the machine finishes its batch, then the run ends ABORTED. `now`: the
        execution is stopped at once. Stopping an ended run is a no-op."""
        run = self.catalog.get_run(run_id)
        if run.status.terminal:
            return run
        alive = run.status in (RunStatus.RUNNING, RunStatus.ABORTING) and run.execution_ref
        if not now and alive:
            if run.status is RunStatus.ABORTING:
                return run
            return self._set(run_id, RunStatus.ABORTING, stop_requested=True)
        if run.execution_ref:
            with contextlib.suppress(NotFound):
                self.workflows.stop(run.execution_ref, error="Stopped", cause="stopped by user")
        return self._set(
            run_id, RunStatus.ABORTED, stop_requested=True, finished_at=self.clock.now()
        )

    def run_status(self, run: Run) -> RunProgress:
        if run.started_at is None:
            return RunProgress(None, None, run.expected_items, None)
        end = run.finished_at or self.clock.now()
        elapsed = max(0.0, (end - run.started_at).total_seconds())
        counters = run.counters
        # Progress counts every product the run covered: new, updated and unchanged items.
        items = counters.items + counters.items_updated + counters.items_unchanged
        rate = items / (elapsed / 60) if elapsed > 0 and items else None
        remaining = max(0, run.expected_items - items) if run.expected_items is not None else None
        if run.status.terminal:
            remaining = 0 if run.status is RunStatus.SUCCEEDED else remaining
            return RunProgress(elapsed, rate, remaining, 0.0 if remaining == 0 else None)
        eta = remaining / rate * 60 if remaining is not None and rate else None
        if remaining == 0:
            eta = 0.0
        return RunProgress(elapsed, rate, remaining, eta)

    # -- state machine steps ------------------------------------------------------------------

    def begin(self, run_id: str) -> dict[str, Any]:
        """StartRun: the run is RUNNING; returns the execution's configuration."""
        run = self.catalog.get_run(run_id)
        if run.status in (RunStatus.READY, RunStatus.INTERRUPTED):
            try:
                run = self._set(
                    run_id, RunStatus.RUNNING, started_at=run.started_at or self.clock.now()
                )
            except IllegalTransition:
                run = self.catalog.get_run(run_id)
        crawler = self.catalog.get_crawler(run.crawler_id)
        return {
            "max_concurrency": crawler.politeness.concurrency,
            "iteration_limit": self.iteration_limit,
        }

    def finish(self, run_id: str) -> Run:
        """FinishRun: ABORTED when a stop was asked, else SUCCEEDED."""
        run = self.catalog.get_run(run_id)
        if run.status.terminal:
            return run
        target = (
            RunStatus.ABORTED
            if run.stop_requested or run.status is RunStatus.ABORTING
            else RunStatus.SUCCEEDED
        )
        return self._set(run_id, target, finished_at=self.clock.now())

    def fail(self, run_id: str, error: Any) -> Run:
        """FailRun: the Catch output {"Error", "Cause"} recorded on the run."""
        run = self.catalog.get_run(run_id)
        if run.status.terminal:
            return run
        code, message = _describe_error(error)
        return self._set(
            run_id,
            RunStatus.FAILED,
            finished_at=self.clock.now(),
            error=RunError(code=code, message=message).model_dump(),
            status_message=message[:500],
        )

    def continue_as_new(self, run_id: str) -> str:
        """ContinueAsNew: the same run goes on in a fresh execution (short history)."""
        run = self.catalog.get_run(run_id)
        if run.status.terminal:
            return run.execution_ref or ""
        ref = self.workflows.start(CRAWL_MACHINE, self._execution_name(run_id), {"run_id": run_id})
        self.catalog.update_run(run_id, set_fields={"execution_ref": ref})
        return ref

    # -- reconciler ---------------------------------------------------------------------------

    def reconcile(self) -> list[Repair]:
        """Repair every open run whose execution is no longer running."""
        repairs = []
        for run in self.catalog.list_open_runs():
            try:
                repair = self._reconcile_one(run)
            except Exception:  # one bad run must not stop the others
                log.exception("reconciling run %s failed", run.id)
                continue
            if repair:
                repairs.append(repair)
        return repairs

    def _reconcile_one(self, run: Run) -> Repair | None:
        status = None
        stale = False
        if run.execution_ref:
            try:
                status = self.workflows.describe(run.execution_ref).status
            except NotFound:
                status = None  # lost (local engine restarted)
        elif run.status in (RunStatus.READY, RunStatus.RUNNING) and not self._stale(run):
            return None  # start_run is still launching it
        if status == "RUNNING":
            if not self._stale(run):
                return None
            stale = True
            log.warning("run %s: heartbeat stale, stopping its execution to resume it", run.id)
            with contextlib.suppress(NotFound):
                self.workflows.stop(
                    run.execution_ref or "", error="Stale", cause="no heartbeat; resumed"
                )
        fresh = self.catalog.get_run(run.id)
        if fresh.execution_ref != run.execution_ref or fresh.status.terminal:
            return None  # moved on meanwhile (continue-as-new, finish)
        if fresh.status is RunStatus.ABORTING or fresh.stop_requested:
            self._set(run.id, RunStatus.ABORTED, finished_at=self.clock.now())
            return Repair(run.id, "aborted")
        if status == "TIMED_OUT":
            self._set(run.id, RunStatus.TIMED_OUT, finished_at=self.clock.now())
            return Repair(run.id, "timed_out")
        if fresh.status is RunStatus.READY:  # start_run died before launching it
            self._launch(fresh, RunStatus.READY)
            return Repair(run.id, "launched")
        if fresh.status is not RunStatus.INTERRUPTED:
            message = "heartbeat stale: execution restarted" if stale else fresh.status_message
            fresh = self._set(run.id, RunStatus.INTERRUPTED, status_message=message)
        self._launch(fresh, RunStatus.INTERRUPTED)
        return Repair(run.id, "restarted" if stale else "resumed")

    def _stale(self, run: Run) -> bool:
        """No heartbeat (or, before the first batch, no start) for longer than the crawler
        can plausibly need for one loop iteration."""
        last = run.heartbeat_at or run.started_at or run.created_at
        age = (self.clock.now() - last).total_seconds()
        if age <= self.stale_after_s:
            return False
        try:
            delay = self.catalog.get_crawler(run.crawler_id).politeness.delay_s
        except NotFound:
            delay = 0.0
        return age > max(self.stale_after_s, STALE_DELAYS * delay)

    # -- helpers ------------------------------------------------------------------------------

    def _launch(self, run: Run, current: RunStatus) -> Run:
        try:
            ref = self.workflows.start(
                CRAWL_MACHINE, self._execution_name(run.id), {"run_id": run.id}
            )
        except Exception as error:
            self._set(
                run.id,
                RunStatus.FAILED,
                finished_at=self.clock.now(),
                error=RunError(code="workflow_start", message=str(error)).model_dump(),
            )
            raise
        fields: dict[str, Any] = {"execution_ref": ref}
        if run.started_at is None:
            fields["started_at"] = self.clock.now()
        try:
            return self._set(run.id, RunStatus.RUNNING, **fields)
        except IllegalTransition:  # StartRun got there first
            return self.catalog.update_run(run.id, set_fields=fields)

    def _execution_name(self, run_id: str) -> str:
        return f"{run_id}-{self.ids.new_id('x')[-10:]}"

    def _set(self, run_id: str, status: RunStatus, **fields: Any) -> Run:
        return self.catalog.update_run(run_id, status=status, set_fields=fields or None)


def _describe_error(error: Any) -> tuple[str, str]:
    """(code, message) from a Catch output; Lambda errors carry their own JSON in Cause."""
    if not isinstance(error, dict):
        return "Error", str(error)
    name = str(error.get("Error") or "Error")
    cause = error.get("Cause") or ""
    message = str(cause)
    try:
        parsed = json.loads(cause) if isinstance(cause, str) else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        message = str(parsed.get("errorMessage") or message)
        name = str(parsed.get("errorType") or name)
    return name, message or name
