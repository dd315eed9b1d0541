"""Retry, Catch -> FailRun, stop (graceful and immediate), resume after a crash and
continue-as-new, each through the real state machine in moto's interpreter."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from studiolab.adapters.http.httpx_fetcher import HttpxFetcher
from studiolab.crawl.fetch_types import AcceptKind, FetchResult, FetchSettings
from studiolab.demo import DemoShop
from studiolab.domain.models import Crawler, RunStatus
from studiolab.runtime.wiring import AppContext, run_control
from studiolab.services.crawl_engine import TransientError
from tests.workflow.conftest import PRODUCTS, add_crawler, wait_for, wait_terminal


class ScriptedFetcher:
    """The real fetcher, with an exception raised on chosen html fetches."""

    def __init__(self, crawler: Crawler, fail: Callable[[int], Exception | None]) -> None:
        self.inner = HttpxFetcher(
            FetchSettings.for_politeness(crawler.politeness, allow_private_hosts=["127.0.0.1"])
        )
        self.fail = fail
        self.pages = 0
        self.lock = threading.Lock()

    def fetch(
        self,
        url: str,
        *,
        accept: AcceptKind,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        if accept == "html":
            with self.lock:
                self.pages += 1
                error = self.fail(self.pages)
            if error is not None:
                raise error
        return self.inner.fetch(url, accept=accept, etag=etag, last_modified=last_modified)

    def sitemaps(self, url: str) -> list[str]:
        return self.inner.sitemaps(url)


def test_transient_error_is_retried_then_succeeds(
    context_factory: Callable[..., AppContext], shop: DemoShop
) -> None:
    context = context_factory()
    fetchers: list[ScriptedFetcher] = []

    def factory(crawler: Crawler) -> ScriptedFetcher:
        fetcher = ScriptedFetcher(
            crawler, lambda n: TransientError("shop hiccup") if n == 1 else None
        )
        fetchers.append(fetcher)
        return fetcher

    context.fetcher_factory = factory
    crawler = add_crawler(context, shop)
    run = run_control().start_run(crawler.id)

    run = wait_terminal(context, run.id)
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.counters.items == PRODUCTS
    assert len(context.catalog.list_items(crawler.project_id, limit=1000).items) == PRODUCTS


def test_step_failure_is_caught_and_recorded(
    context_factory: Callable[..., AppContext], shop: DemoShop
) -> None:
    context = context_factory()
    context.fetcher_factory = lambda crawler: ScriptedFetcher(
        crawler, lambda n: RuntimeError("shop exploded")
    )
    crawler = add_crawler(context, shop)
    run = run_control().start_run(crawler.id)

    run = wait_terminal(context, run.id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None
    assert run.error.code == "RuntimeError" and "shop exploded" in run.error.message
    assert context.workflows is not None
    # FailRun records the run before the execution reaches its Fail state: wait for that.
    assert wait_for_execution(context, run.execution_ref or "") == "FAILED"
    info = context.workflows.describe(run.execution_ref or "")
    assert info.status == "FAILED" and info.error == "CrawlFailed"


def test_graceful_stop_finishes_the_batch_then_aborts(
    context_factory: Callable[..., AppContext], shop: DemoShop
) -> None:
    context = context_factory(crawl_batch_pages=2)
    crawler = add_crawler(context, shop)
    runs = run_control()
    run = runs.start_run(crawler.id)
    wait_for(context, run.id, lambda r: r.counters.items >= 2)

    stopping = runs.stop_run(run.id)
    assert stopping.status is RunStatus.ABORTING and stopping.stop_requested

    run = wait_terminal(context, run.id)
    assert run.status is RunStatus.ABORTED
    assert 2 <= run.counters.items < PRODUCTS
    assert context.workflows is not None
    info = wait_for_execution(context, run.execution_ref or "")
    assert info == "SUCCEEDED"  # the machine ended normally, through FinishRun


def test_immediate_stop_aborts_the_execution(
    context_factory: Callable[..., AppContext], shop: DemoShop
) -> None:
    context = context_factory(crawl_batch_pages=2)
    crawler = add_crawler(context, shop)
    runs = run_control()
    run = runs.start_run(crawler.id)
    wait_for(context, run.id, lambda r: r.counters.pages_ok >= 1)

    run = runs.stop_run(run.id, now=True)

    assert run.status is RunStatus.ABORTED and run.finished_at
    # ABORTED; moto's interpreter reports FAILED (States.Runtime) when stopped inside a Map
    assert wait_for_execution(context, run.execution_ref or "") in ("ABORTED", "FAILED")
    assert runs.stop_run(run.id).status is RunStatus.ABORTED  # idempotent


@pytest.mark.parametrize("crash", ["execution_stopped", "execution_lost"])
def test_reconcile_resumes_a_crashed_run_without_duplicates(
    context_factory: Callable[..., AppContext], shop: DemoShop, crash: str
) -> None:
    context = context_factory(crawl_batch_pages=3)
    assert context.workflows is not None
    crawler = add_crawler(context, shop)
    runs = run_control()
    run = runs.start_run(crawler.id)
    first_ref = run.execution_ref or ""
    wait_for(context, run.id, lambda r: r.counters.items >= 5)

    # the execution dies behind the catalog's back; the run still says RUNNING
    context.workflows.stop(first_ref, error="Crash", cause="simulated crash")
    # ABORTED; moto's interpreter reports FAILED (States.Runtime) when stopped inside a Map
    assert wait_for_execution(context, first_ref) in ("ABORTED", "FAILED")
    time.sleep(0.5)  # let the in-flight step (moto cannot kill it) end
    if crash == "execution_lost":  # a restart: the local engine forgot every execution
        context.catalog.update_run(
            run.id,
            set_fields={"execution_ref": first_ref.replace(":studiolab-crawl:", ":gone:")},
        )
    before = context.catalog.get_run(run.id)
    assert before.status is RunStatus.RUNNING and before.counters.items < PRODUCTS

    repairs = runs.reconcile()

    assert [(r.run_id, r.action) for r in repairs] == [(run.id, "resumed")]
    resumed = context.catalog.get_run(run.id)
    assert resumed.status is RunStatus.RUNNING and resumed.execution_ref not in (None, first_ref)
    run = wait_terminal(context, run.id)
    assert run.status is RunStatus.SUCCEEDED, run.error
    items = context.catalog.list_items(crawler.project_id, limit=1000).items
    assert len(items) == PRODUCTS == run.counters.items
    assert len({item.product_url for item in items}) == PRODUCTS
    assert runs.reconcile() == []


def test_long_runs_continue_as_new_executions(
    context_factory: Callable[..., AppContext], shop: DemoShop
) -> None:
    context = context_factory(crawl_iteration_limit=2, crawl_batch_pages=10)
    crawler = add_crawler(context, shop)
    run = run_control().start_run(crawler.id)
    first_ref = run.execution_ref

    run = wait_terminal(context, run.id)
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.counters.items == PRODUCTS
    assert run.execution_ref != first_ref
    # FinishRun marks the run before its execution reaches Succeed: let it get there
    assert run.execution_ref is not None
    assert wait_for_execution(context, run.execution_ref) == "SUCCEEDED"
    workflows: Any = context.workflows
    executions = workflows.client.list_executions(stateMachineArn=workflows.machine_arn("crawl"))[
        "executions"
    ]
    assert len(executions) >= 3
    assert all(execution["name"].startswith(run.id) for execution in executions)
    assert {execution["status"] for execution in executions} == {"SUCCEEDED"}


def wait_for_execution(context: AppContext, ref: str, timeout: float = 15.0) -> str:
    assert context.workflows is not None
    deadline = time.monotonic() + timeout
    while (status := context.workflows.describe(ref).status) == "RUNNING":
        if time.monotonic() > deadline:
            raise AssertionError(f"execution {ref} still RUNNING")
        time.sleep(0.05)
    return status
