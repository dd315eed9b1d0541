"""Extraction in worker processes (services/crawl_extract.py): the same results as in the
crawl thread, off where multiprocessing cannot work, and a worker that crashes or hangs on a
hostile page fails that page alone (typed error, pages_failed; never re-run in the crawl
thread), while the other pages a broken pool held are re-run alone and kept."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from studiolab.demo import DemoShop, start_demo_shop
from studiolab.runtime.site_crawl import CrawlOptions, SiteCrawl
from studiolab.services import crawl_engine, crawl_extract
from studiolab.services.crawl_extract import (
    ExtractionCrashed,
    ExtractionTimeout,
    ExtractPool,
    PageAnalysis,
    Pending,
    analyse,
    default_processes,
    multiprocessing_usable,
)
from tests.crawl.pool_workers import demo_hostile_worker, hostile_worker

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = sorted(FIXTURES.glob("*.html"))
BASE = "https://shop.example/products/"

# The forkserver talks over a Unix socket, which pytest-socket blocks unless enabled.
pytestmark = pytest.mark.usefixtures("socket_enabled")


def _page(path: Path) -> tuple[bytes, str]:
    return path.read_bytes(), BASE + path.stem.replace("_", "-")


@pytest.fixture(scope="module")
def pool() -> Iterator[ExtractPool]:
    extract_pool = ExtractPool(2, timeout_s=60)
    yield extract_pool
    extract_pool.close()


def test_the_pool_gives_the_in_thread_results_on_every_fixture(pool: ExtractPool) -> None:
    assert len(PAGES) >= 20
    pages = [_page(path) for path in PAGES]
    handed = [pool.submit(body, url, None) for body, url in pages]
    assert all(pending.future is not None for pending in handed)  # really in the workers
    for (body, url), pending in zip(pages, handed, strict=True):
        assert pool.result(pending) == analyse(body, url, None), url
    assert pool.fallbacks == 0


def test_selectors_travel_to_the_workers(pool: ExtractPool) -> None:
    body, url = _page(FIXTURES / "listing.html")
    selectors = {"name": "h1", "product_link": "a.product-card__link"}
    pending = pool.submit(body, url, selectors)
    assert pool.result(pending) == analyse(body, url, selectors)


def test_a_worker_crash_fails_that_page_alone() -> None:
    pool = ExtractPool(2, timeout_s=60, worker=hostile_worker)
    try:
        pages = [_page(path) for path in PAGES[:6]]
        body, url = _page(FIXTURES / "shopify_dawn.html")
        pages.insert(2, (body, url + "-crash"))
        handed = [pool.submit(b, u, None) for b, u in pages]
        results: list[PageAnalysis | None] = []
        for pending in handed:
            try:
                results.append(pool.result(pending))
            except ExtractionCrashed as error:
                assert error.code == "extraction_crashed" and error.url == pending.url
                results.append(None)
        # the culprit fails, never re-analysed in this thread; every other page the broken
        # pool held was re-run alone in the isolation pool and gives the in-thread result
        assert results[2] is None and pool.failures == 1
        expected = [analyse(b, u, None) for b, u in pages]
        assert results[:2] + results[3:] == expected[:2] + expected[3:]
        assert 1 <= pool.fallbacks <= len(pages)
        # the next page gets a fresh pool
        after = pool.submit(*pages[0], None)
        assert after.future is not None and pool.result(after) == expected[0]
    finally:
        pool.close()


def test_a_crash_never_runs_the_page_in_the_crawl_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def in_thread(*args: object) -> None:
        raise AssertionError("the page was analysed in the crawl thread")

    pool = ExtractPool(1, timeout_s=60, worker=hostile_worker)
    try:
        body, url = _page(FIXTURES / "og_only.html")
        pending = pool.submit(body, url + "-crash", None)
        monkeypatch.setattr(crawl_extract, "analyse", in_thread)
        with pytest.raises(ExtractionCrashed):
            pool.result(pending)
    finally:
        pool.close()


def test_a_hung_worker_is_killed_and_the_page_fails() -> None:
    pool = ExtractPool(1, timeout_s=2, worker=hostile_worker)
    try:
        body, url = _page(FIXTURES / "magento_graph.html")
        pool.warm()
        hung = pool.submit(body, url + "-hang", None)
        assert hung.pool is not None
        workers = list(hung.pool._processes.values())
        started = time.monotonic()
        with pytest.raises(ExtractionTimeout) as failed:
            pool.result(hung)
        assert time.monotonic() - started < 10  # alone in its pool: failed at once
        assert failed.value.code == "extraction_timeout" and failed.value.url == hung.url
        assert pool.failures == 1 and pool.fallbacks == 0
        assert workers and all(not process.is_alive() for process in workers)  # killed
        fine = pool.submit(body, url, None)
        assert fine.future is not None and fine.pool is not hung.pool
        assert pool.result(fine) == analyse(body, url, None) and pool.failures == 1
    finally:
        pool.close()


def test_a_timeout_with_other_pages_in_the_pool_isolates_the_culprit() -> None:
    pool = ExtractPool(2, timeout_s=2, worker=hostile_worker)
    try:
        pool.warm()
        pages = [_page(path) for path in PAGES[:4]]
        body, url = _page(FIXTURES / "og_only.html")
        pages.insert(1, (body, url + "-hang"))
        handed = [pool.submit(b, u, None) for b, u in pages]
        results: list[PageAnalysis | None] = []
        for pending in handed:
            try:
                results.append(pool.result(pending))
            except ExtractionTimeout:
                results.append(None)
        expected = [analyse(b, u, None) for b, u in pages]
        assert results[1] is None and pool.failures == 1
        assert results[:1] + results[2:] == expected[:1] + expected[2:]
    finally:
        pool.close()


def test_no_pool_means_in_thread() -> None:
    pool = ExtractPool(0)
    body, url = _page(FIXTURES / "og_only.html")
    pending = pool.submit(body, url, None)
    assert not pool.enabled and pending.future is None
    assert pool.result(pending) == analyse(body, url, None)
    assert pool.result(Pending(body, url, None)) == analyse(body, url, None)


def test_pool_that_cannot_start_falls_back_for_good(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoProcesses:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise OSError(38, "Function not implemented")  # what Lambda's SemLock says

    monkeypatch.setattr(crawl_extract, "ProcessPoolExecutor", NoProcesses)
    pool = ExtractPool(2)
    body, url = _page(FIXTURES / "og_only.html")
    pending = pool.submit(body, url, None)
    assert pending.future is None and not pool.enabled
    assert pool.result(pending) == analyse(body, url, None)


def test_default_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STUDIOLAB_EXTRACT_PROCESSES", "AWS_LAMBDA_FUNCTION_NAME", "AWS_EXECUTION_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("STUDIOLAB_MODE", raising=False)
    monkeypatch.setattr(crawl_extract, "_cores", lambda: 4)
    monkeypatch.setattr(crawl_extract, "multiprocessing_usable", lambda: True)
    assert default_processes() == 4  # local mode: one per core
    assert default_processes(0) == 0 and default_processes(3) == 3
    monkeypatch.setenv("STUDIOLAB_EXTRACT_PROCESSES", "2")
    assert default_processes() == 2
    monkeypatch.setenv("STUDIOLAB_EXTRACT_PROCESSES", "lots")
    assert default_processes() == 0
    monkeypatch.delenv("STUDIOLAB_EXTRACT_PROCESSES")
    monkeypatch.setenv("STUDIOLAB_MODE", "aws")
    assert default_processes() == 0
    monkeypatch.setenv("STUDIOLAB_MODE", "local")
    monkeypatch.setattr(crawl_extract, "_cores", lambda: 2)
    assert default_processes() == 2
    monkeypatch.setattr(crawl_extract, "_cores", lambda: 1)
    assert default_processes() == 0  # one core: nothing to gain
    assert default_processes(2) == 2  # unless asked for
    monkeypatch.setattr(crawl_extract, "multiprocessing_usable", lambda: False)
    assert default_processes(4) == 0  # not even when asked for


def test_lambda_and_missing_dev_shm_are_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_EXECUTION_ENV", raising=False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "studiolab-crawl-steps")
    assert not multiprocessing_usable()
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    real_access = os.access
    monkeypatch.setattr(
        os,
        "access",
        lambda path, mode: False if path == "/dev/shm" else real_access(path, mode),
    )
    assert not multiprocessing_usable()


@pytest.fixture(scope="module")
def shop() -> Iterator[DemoShop]:
    with start_demo_shop(products=40, port=0, crawl_delay=None) as demo:
        yield demo


def _crawl(shop: DemoShop, out: Path) -> list[dict[str, object]]:
    options = CrawlOptions(delay_s=0, concurrency=4, allow_hosts=("127.0.0.1",), images=False)
    summary = SiteCrawl(shop.url + "/", out, options).run()
    assert summary.error is None and summary.items == 40
    rows = [json.loads(line) for line in (out / "products.jsonl").read_text().splitlines()]
    return sorted(rows, key=lambda row: str(row["source"]))


def test_a_crawl_with_the_pool_stores_the_same_products(
    shop: DemoShop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crawl_extract, "_shared", {})  # this test's own pools
    monkeypatch.setenv("STUDIOLAB_EXTRACT_PROCESSES", "0")
    in_thread = _crawl(shop, tmp_path / "in-thread")
    monkeypatch.setenv("STUDIOLAB_EXTRACT_PROCESSES", "2")
    pooled = crawl_extract.shared_pool(2)
    try:
        in_pool = _crawl(shop, tmp_path / "pool")
        assert pooled.enabled and pooled.fallbacks == 0
    finally:
        pooled.close()
    assert in_pool == in_thread


def test_a_crawl_goes_on_past_pages_that_crash_or_hang_their_worker(
    shop: DemoShop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = ExtractPool(2, timeout_s=2, worker=demo_hostile_worker)
    # The engine gets this pool whatever the environment says about multiprocessing (the
    # choice of pool is tested above; this test is about pages that break their worker).
    monkeypatch.setattr(crawl_engine, "shared_pool", lambda processes, timeout_s: hostile)
    monkeypatch.setenv("STUDIOLAB_EXTRACT_PROCESSES", "2")
    options = CrawlOptions(delay_s=0, concurrency=4, allow_hosts=("127.0.0.1",), images=False)
    try:
        summary = SiteCrawl(shop.url + "/", tmp_path, options).run()
    finally:
        hostile.close()
    assert summary.error is None
    assert hostile.enabled, "the hostile pool never started: extraction ran in-thread"
    assert summary.pages_failed == 2 and summary.items == 38  # 0003 crashed, 0005 hung
    sources = {str(row["source"]) for row in summary.rows}
    assert not any(source.endswith(("-0003", "-0005")) for source in sources)
    assert hostile.failures == 2
