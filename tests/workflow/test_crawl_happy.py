"""The crawl state machine end to end: moto's interpreter, the real handlers, the demo shop."""

from __future__ import annotations

import time

from studiolab.demo import DemoShop
from studiolab.domain.models import RunStatus
from studiolab.runtime.wiring import AppContext
from studiolab.services.runs import RunControl
from tests.workflow.conftest import PRODUCTS, add_crawler, wait_terminal


def test_happy_path_crawls_every_product(
    context: AppContext, runs: RunControl, shop: DemoShop
) -> None:
    crawler = add_crawler(context, shop)

    run = runs.start_run(crawler.id)
    assert run.status is RunStatus.RUNNING and run.execution_ref

    run = wait_terminal(context, run.id)
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.finished_at and run.started_at and run.heartbeat_at
    items = context.catalog.list_items(crawler.project_id, limit=1000).items
    assert len(items) == PRODUCTS
    assert len({item.product_url for item in items}) == PRODUCTS
    assert all(item.product.name and item.product.price for item in items)
    assert all(item.run_id == run.id and item.kind == "image" for item in items)
    raw = list(context.blobs.list("raw/"))
    assert raw and {key.key.split("/")[1] for key in raw} == {crawler.project_id}
    assert run.counters.items == PRODUCTS
    assert run.counters.images == len(raw)
    assert run.counters.bytes == sum(blob.size for blob in raw)
    assert run.counters.pages_ok >= PRODUCTS and run.counters.pages_failed == 0
    assert run.expected_items == PRODUCTS
    progress = runs.run_status(run)
    assert progress.remaining == 0 and progress.eta_s == 0.0
    assert progress.items_per_min and progress.items_per_min > 0
    assert context.workflows is not None
    # FinishRun marks the run before the execution reaches its Succeed state: wait for it
    workflows, ref = context.workflows, run.execution_ref or ""
    deadline = time.monotonic() + 10
    while workflows.describe(ref).status == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert workflows.describe(ref).status == "SUCCEEDED"
