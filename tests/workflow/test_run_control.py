"""RunControl without executing anything: ETA, reconciler decisions, start conflicts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from studiolab.adapters.local.moto_workflows import substitute
from studiolab.demo import DemoShop
from studiolab.domain.errors import ConfigError, Conflict, NotFound
from studiolab.domain.models import Run, RunStatus
from studiolab.domain.models.crawler import Politeness
from studiolab.domain.ports import ExecutionInfo
from studiolab.runtime.wiring import STATE_MACHINES_DIR, AppContext
from studiolab.services.runs import RunControl
from tests.workflow.conftest import add_crawler


class FakeWorkflows:
    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.started: list[str] = []

    def start(self, machine: str, name: str, payload: Any) -> str:
        ref = f"ref:{name}"
        self.started.append(ref)
        self.status[ref] = "RUNNING"
        return ref

    def stop(self, ref: str, *, error: str = "", cause: str = "") -> None:
        self.status[ref] = "ABORTED"

    def describe(self, ref: str) -> ExecutionInfo:
        if ref not in self.status:
            raise NotFound(ref)
        return ExecutionInfo(status=self.status[ref])  # type: ignore[arg-type]


@pytest.fixture
def fake(context_factory: Callable[..., AppContext]) -> tuple[AppContext, FakeWorkflows]:
    context = context_factory()
    return context, FakeWorkflows()


def test_second_start_is_a_conflict(fake: tuple[AppContext, FakeWorkflows], shop: DemoShop) -> None:
    context, workflows = fake
    runs = RunControl(context.catalog, workflows, context.clock, context.ids)
    crawler = add_crawler(context, shop)
    run = runs.start_run(crawler.id)
    assert run.status is RunStatus.RUNNING and run.execution_ref == workflows.started[0]
    with pytest.raises(Conflict):
        runs.start_run(crawler.id)


def test_eta_is_remaining_over_rate_and_unknown_without_a_total(
    fake: tuple[AppContext, FakeWorkflows], shop: DemoShop
) -> None:
    context, workflows = fake
    runs = RunControl(context.catalog, workflows, context.clock, context.ids)
    run = runs.start_run(add_crawler(context, shop).id)
    started = context.clock.now() - timedelta(minutes=2)
    run = context.catalog.update_run(
        run.id, set_fields={"started_at": started, "expected_items": 100}, add={"items": 20}
    )
    progress = runs.run_status(run)
    assert progress.items_per_min == pytest.approx(10, rel=0.01)
    assert progress.remaining == 80
    assert progress.eta_s == pytest.approx(8 * 60, rel=0.01)
    unknown = runs.run_status(run.model_copy(update={"expected_items": None}))
    assert unknown.remaining is None and unknown.eta_s is None


@pytest.mark.parametrize(
    ("execution", "stop_requested", "action", "status"),
    [
        ("FAILED", False, "resumed", RunStatus.RUNNING),
        ("LOST", False, "resumed", RunStatus.RUNNING),
        ("ABORTED", True, "aborted", RunStatus.ABORTED),
        ("TIMED_OUT", False, "timed_out", RunStatus.TIMED_OUT),
    ],
)
def test_reconcile_repairs_runs_whose_execution_ended(
    fake: tuple[AppContext, FakeWorkflows],
    shop: DemoShop,
    execution: str,
    stop_requested: bool,
    action: str,
    status: RunStatus,
) -> None:
    context, workflows = fake
    runs = RunControl(context.catalog, workflows, context.clock, context.ids)
    run = runs.start_run(add_crawler(context, shop).id)
    ref = run.execution_ref or ""
    assert runs.reconcile() == []  # still running: nothing to do
    if stop_requested:
        runs.stop_run(run.id)
    if execution == "LOST":
        del workflows.status[ref]
    else:
        workflows.status[ref] = execution

    repairs = runs.reconcile()

    assert [(r.run_id, r.action) for r in repairs] == [(run.id, action)]
    after = context.catalog.get_run(run.id)
    assert after.status is status
    if action == "resumed":
        assert after.execution_ref == workflows.started[-1] != ref


def test_crawl_machine_placeholders_are_all_known() -> None:
    definition = (STATE_MACHINES_DIR / "crawl.asl.json").read_text()
    steps = ["StartRun", "FetchBatch", "DownloadImage", "FinishRun", "FailRun", "ContinueAsNew"]
    assert "${" not in substitute(definition, {f"{step}Arn": "arn" for step in steps})
    with pytest.raises(ConfigError, match="ContinueAsNewArn"):
        substitute(definition, {f"{step}Arn": "arn" for step in steps[:-1]})


class LaterClock:
    """The context's clock, moved forward by `ahead`."""

    def __init__(self, base: Any, ahead: timedelta) -> None:
        self.base, self.ahead = base, ahead

    def now(self) -> Any:
        return self.base.now() + self.ahead


@pytest.mark.parametrize(("stop_requested", "action"), [(False, "restarted"), (True, "aborted")])
def test_reconcile_restarts_a_running_run_whose_heartbeat_is_stale(
    fake: tuple[AppContext, FakeWorkflows], shop: DemoShop, stop_requested: bool, action: str
) -> None:
    context, workflows = fake
    runs = RunControl(context.catalog, workflows, context.clock, context.ids, stale_after_s=600)
    run = runs.start_run(add_crawler(context, shop).id)  # delay 0: the base threshold holds
    ref = run.execution_ref or ""
    context.catalog.update_run(run.id, set_fields={"heartbeat_at": context.clock.now()})
    if stop_requested:
        runs.stop_run(run.id)
    # a recent heartbeat: the execution says RUNNING and is believed
    soon = RunControl(
        context.catalog, workflows, LaterClock(context.clock, timedelta(seconds=590)),
        context.ids, stale_after_s=600,
    )  # fmt: skip
    assert soon.reconcile() == []

    # the execution still says RUNNING, but nothing has beaten for longer than the threshold
    late = RunControl(
        context.catalog, workflows, LaterClock(context.clock, timedelta(seconds=601)),
        context.ids, stale_after_s=600,
    )  # fmt: skip
    repairs = late.reconcile()

    assert [(r.run_id, r.action) for r in repairs] == [(run.id, action)]
    assert workflows.status[ref] == "ABORTED"  # the hung execution was stopped
    after = context.catalog.get_run(run.id)
    if stop_requested:
        assert after.status is RunStatus.ABORTED
    else:
        assert after.status is RunStatus.RUNNING
        assert after.execution_ref == workflows.started[-1] != ref
        assert after.status_message == "heartbeat stale: execution restarted"


def test_stale_threshold_grows_with_the_crawlers_delay(
    fake: tuple[AppContext, FakeWorkflows], shop: DemoShop
) -> None:
    context, workflows = fake
    crawler = add_crawler(context, shop, politeness=Politeness(delay_s=10, concurrency=1))
    run = RunControl(context.catalog, workflows, context.clock, context.ids).start_run(crawler.id)
    context.catalog.update_run(run.id, set_fields={"heartbeat_at": context.clock.now()})
    # 150 x 10 s = 1500 s for a crawler this slow: 20 minutes without a beat is not stale yet
    late = RunControl(
        context.catalog, workflows, LaterClock(context.clock, timedelta(minutes=20)),
        context.ids, stale_after_s=600,
    )  # fmt: skip
    assert late.reconcile() == []
    later = RunControl(
        context.catalog, workflows, LaterClock(context.clock, timedelta(minutes=26)),
        context.ids, stale_after_s=600,
    )  # fmt: skip
    assert [r.action for r in later.reconcile()] == ["restarted"]


def test_a_run_never_launched_is_relaunched_once_stale(
    fake: tuple[AppContext, FakeWorkflows], shop: DemoShop
) -> None:
    # start_run died between creating the run and starting its execution
    context, workflows = fake
    crawler = add_crawler(context, shop)
    run = context.catalog.create_run(
        Run(id=context.ids.new_id("run"), crawler_id=crawler.id,
            project_id=crawler.project_id, created_at=context.clock.now())
    )  # fmt: skip
    runs = RunControl(context.catalog, workflows, context.clock, context.ids, stale_after_s=600)
    assert runs.reconcile() == []  # may still be launching
    late = RunControl(
        context.catalog, workflows, LaterClock(context.clock, timedelta(seconds=601)),
        context.ids, stale_after_s=600,
    )  # fmt: skip
    assert [(r.run_id, r.action) for r in late.reconcile()] == [(run.id, "launched")]
    after = context.catalog.get_run(run.id)
    assert after.status is RunStatus.RUNNING and after.execution_ref == workflows.started[-1]
