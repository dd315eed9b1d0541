"""Crawl one site into a folder without the stack: the driver behind `studiolab crawl`.

`SiteCrawl` runs the very engine the crawl state machine drives (services/crawl_engine.py):
a throw-away SQLite catalog and filesystem blob store under DIR/.state hold one project,
one crawler and one run, and `fetch_batch` / `download_image` are called in a loop in this
process instead of by Step Functions. Fetching (robots.txt, Crawl-delay, per-domain pacing,
SSRF guard, retries), discovery and extraction are therefore the engine's own. The
`studiolab crawl` CLI (runtime/cli_crawl.py) uses it, as does bench/crawl.

Output:
    DIR/products.jsonl   one row per product, appended as each batch ends:
                         {"source", "ok": true, "method", "product": {the 12 `extract` keys},
                          "image_files": ["images/<name>", ...]}
    DIR/images/          the product images, named <handle>-<hash8>-<n>.<ext>
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

from studiolab.domain.errors import StudiolabError

if TYPE_CHECKING:
    from studiolab.domain.models import Crawler, Project, Run
    from studiolab.services.crawl_engine import CrawlEngine, EngineConfig
    from studiolab.services.crawl_state import BatchResult, ImageTask, RunState

log = logging.getLogger(__name__)

STATE_DIR = ".state"
PRODUCTS_FILE = "products.jsonl"
IMAGES_DIR = "images"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class CrawlOptions:
    max_items: int | None = None
    max_pages: int | None = None
    delay_s: float = 1.0
    concurrency: int = 2
    allow_hosts: tuple[str, ...] = ()
    obey_robots: bool = True
    images: bool = True
    batch_pages: int = 20


@dataclass
class _Recorder:
    rows: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    product_urls: dict[str, str] = field(default_factory=dict)

    def take_rows(self) -> list[tuple[str, dict[str, Any]]]:
        rows, self.rows = self.rows, []
        return rows


@dataclass
class CrawlSummary:
    items: int = 0
    images: int = 0
    pages_ok: int = 0
    pages_failed: int = 0
    expected: int | None = None
    interrupted: bool = False
    error: str | None = None
    page_failure: str | None = None  # why the last failed page failed (the run's message)
    seconds: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def failed(self) -> bool:
        return self.error is not None or (self.pages_ok == 0 and not self.interrupted)


def safe_name(product_url: str, n: int, extension: str) -> str:
    """A file name from the product URL: last path segment, sanitised, plus a short hash."""
    from studiolab.services.crawl_state import short_hash

    segment = urlsplit(product_url).path.rstrip("/").rsplit("/", 1)[-1]
    slug = _UNSAFE.sub("-", segment).strip(".-_")[:60] or "product"
    ext = _UNSAFE.sub("", extension)[:5] or "img"
    return f"{slug}-{short_hash(product_url)[:8]}-{n}.{ext}"


class SiteCrawl:
    """One crawl of one site into `out` (also used by bench/crawl)."""

    def __init__(self, url: str, out: Path, options: CrawlOptions | None = None) -> None:
        self.url = url
        self.out = out
        self.options = options or CrawlOptions()
        self.stop = threading.Event()
        self.recorder = _Recorder()

    def run(self, on_progress: Callable[[CrawlSummary], None] | None = None) -> CrawlSummary:
        import time

        summary = CrawlSummary()
        started = time.monotonic()
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / IMAGES_DIR).mkdir(exist_ok=True)
        state_dir = self.out / STATE_DIR
        shutil.rmtree(state_dir, ignore_errors=True)
        try:
            with (
                self._engine(state_dir) as (engine, run_id),
                (self.out / PRODUCTS_FILE).open("w", encoding="utf-8") as sink,
            ):
                self._loop(engine, run_id, sink, summary, on_progress)
        except KeyboardInterrupt:
            summary.interrupted = True
        except (StudiolabError, OSError, ValueError) as error:
            summary.error = f"{type(error).__name__}: {getattr(error, 'message', error)}"
        finally:
            shutil.rmtree(state_dir, ignore_errors=True)
            summary.seconds = time.monotonic() - started
        return summary

    # -- the engine over local adapters ---------------------------------------------------------

    @contextmanager
    def _engine(self, state_dir: Path) -> Iterator[tuple[CrawlEngine, str]]:
        from studiolab.adapters.http.httpx_fetcher import HttpxFetcher
        from studiolab.adapters.local.fs_blobstore import FilesystemBlobStore
        from studiolab.adapters.local.sqlite_catalog import SqliteCatalog
        from studiolab.adapters.local.sqlite_db import SqliteDatabase
        from studiolab.adapters.local.url_signer import UrlSigner
        from studiolab.adapters.system import SystemClock, UlidIds
        from studiolab.crawl.fetch_types import Fetcher, FetchSettings
        from studiolab.domain.models import Crawler, Project, Run
        from studiolab.domain.models.crawler import CrawlLimits, Politeness

        options = self.options
        state_dir.mkdir(parents=True)
        clock, ids = SystemClock(), UlidIds()
        database = SqliteDatabase(state_dir / "catalog.sqlite3")
        catalog = SqliteCatalog(database)
        signer = UrlSigner(b"studiolab-crawl-cli-local-secret", "http://127.0.0.1", clock)
        blobs = FilesystemBlobStore(state_dir / "blobs", signer)
        now = datetime.now(UTC)
        project = catalog.create_project(
            Project(
                id=ids.new_id("pr"),
                name="crawl",
                shop=(urlsplit(self.url).hostname or "site")[:100],
                attribute="any.product",
                data_type="image" if options.images else "text",
                created_at=now,
                updated_at=now,
            )
        )
        politeness = Politeness(
            delay_s=options.delay_s,
            concurrency=options.concurrency,
            obey_robots=options.obey_robots,
        )
        crawler = catalog.create_crawler(
            Crawler(
                id=ids.new_id("cr"),
                project_id=project.id,
                name="crawl",
                start_urls=[self.url],
                limits=CrawlLimits(max_items=options.max_items, max_pages=options.max_pages),
                politeness=politeness,
                created_at=now,
                updated_at=now,
            )
        )
        run = catalog.create_run(
            Run(id=ids.new_id("run"), crawler_id=crawler.id, project_id=project.id, created_at=now)
        )
        fetchers: list[HttpxFetcher] = []

        def make_fetcher(crawler: Crawler) -> Fetcher:
            settings = FetchSettings.for_crawler(
                crawler, allow_private_hosts=list(options.allow_hosts)
            )
            fetcher = HttpxFetcher(settings)
            fetchers.append(fetcher)
            return fetcher

        engine = _make_engine(
            self.recorder, catalog, blobs, clock, make_fetcher, _config(options.batch_pages)
        )
        try:
            yield engine, run.id
        finally:
            for fetcher in fetchers:
                fetcher.close()
            database.close()

    def _loop(
        self,
        engine: CrawlEngine,
        run_id: str,
        sink: IO[str],
        summary: CrawlSummary,
        on_progress: Callable[[CrawlSummary], None] | None,
    ) -> None:
        catalog = engine.catalog
        iteration = 0
        with ThreadPoolExecutor(
            max_workers=self.options.concurrency, thread_name_prefix="crawl-image"
        ) as pool:
            while not self.stop.is_set():
                try:
                    batch = self._batch(engine, run_id, iteration, pool, summary, sink)
                except KeyboardInterrupt:
                    self.stop.set()  # queued image downloads return at once
                    raise
                iteration = batch.iteration
                run = catalog.get_run(run_id)
                summary.pages_ok = run.counters.pages_ok
                summary.pages_failed = run.counters.pages_failed
                summary.page_failure = run.status_message if run.counters.pages_failed else None
                summary.expected = run.expected_items
                if on_progress is not None:
                    on_progress(summary)
                if batch.done or batch.stop:
                    return
        summary.interrupted = True

    def _batch(
        self,
        engine: CrawlEngine,
        run_id: str,
        iteration: int,
        pool: ThreadPoolExecutor,
        summary: CrawlSummary,
        sink: IO[str],
    ) -> BatchResult:
        """One FetchBatch, its images, then its rows (each listing its image files)."""
        batch = engine.fetch_batch(run_id, iteration)
        files: dict[str, list[str]] = {}
        tasks = batch.images if self.options.images else []
        names = pool.map(lambda task: self._save_image(engine, task), tasks)
        for task, name in zip(tasks, names, strict=True):
            if name is not None:
                files.setdefault(task.item_id, []).append(f"{IMAGES_DIR}/{name}")
                summary.images += 1
        for item_id, row in self.recorder.take_rows():
            row["image_files"] = files.get(item_id, [])
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
            summary.rows.append(row)
            summary.items += 1
        sink.flush()
        return batch

    def _save_image(self, engine: CrawlEngine, task: ImageTask) -> str | None:
        if self.stop.is_set():
            return None
        outcome = engine.download_image(task)
        key = outcome.get("key")
        if outcome.get("outcome") != "saved" or not key:
            return None
        product_url = self.recorder.product_urls.get(task.item_id, task.url)
        name = safe_name(product_url, task.n, str(key).rsplit(".", 1)[-1])
        (self.out / IMAGES_DIR / name).write_bytes(engine.blobs.get(key))
        engine.blobs.delete(key)  # the content-hash marker stays: duplicates are still caught
        return name


def _config(batch_pages: int) -> EngineConfig:
    from studiolab.services.crawl_engine import EngineConfig

    # All images of a batch come back with it (a row lists its files when written).
    return EngineConfig(batch_pages=batch_pages, batch_images=1000)


def _make_engine(recorder: _Recorder, *args: Any) -> CrawlEngine:
    from studiolab.crawl.urls import canonicalize
    from studiolab.services.crawl_engine import CrawlEngine, item_id_for

    class RecordingEngine(CrawlEngine):
        """The crawl engine, handing each new product's full extraction to the recorder (the
        catalog item keeps only the catalog's subset of the fields)."""

        def _product(
            self,
            state: RunState,
            run: Run,
            crawler: Crawler,
            project: Project,
            page_url: str,
            extraction: Any,
        ) -> None:
            before = state.items
            super()._product(state, run, crawler, project, page_url, extraction)
            if state.items == before:
                return
            product_url = canonicalize(extraction.product.url or page_url)
            item_id = item_id_for(project.id, product_url)
            recorder.product_urls[item_id] = product_url
            row = {
                "source": page_url,
                "ok": True,
                "method": extraction.method,
                "product": extraction.product.output(),
            }
            recorder.rows.append((item_id, row))

    return RecordingEngine(*args)
