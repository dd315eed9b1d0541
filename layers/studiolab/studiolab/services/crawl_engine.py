"""The crawl engine: one FetchBatch step and one DownloadImage step of a crawl run.

Sees ports only (Catalog, BlobStore, Clock, and a `Fetcher` made per crawler). A batch loads
the run's persisted state (services/crawl_state.py), seeds it on the first batch (start URLs,
robots.txt sitemaps, Shopify /products.json), fetches up to `batch_pages` frontier entries,
creates one Item per new product, queues the product images, updates the run's counters and
heartbeat, and writes the state back before replying. A crash anywhere in a batch loses
nothing: the batch is redone from the last state, and item ids are derived from the product's
canonical URL, so a redone batch cannot create a duplicate item.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from studiolab.crawl.discover import (
    is_product_url,
    listing_links,
    parse_sitemap,
    shopify_product_urls,
    shopify_products_json_url,
)
from studiolab.crawl.extract import extract
from studiolab.crawl.fetch_types import Fetcher, FetchError, FetchResult
from studiolab.crawl.urls import canonicalize, content_hash
from studiolab.domain.blobkeys import item_key
from studiolab.domain.errors import Conflict, StudiolabError
from studiolab.domain.models import Crawler, Item, Project, Run, RunStatus
from studiolab.domain.ports import BlobStore, Catalog, Clock
from studiolab.services.crawl_state import (
    BatchResult,
    FrontierEntry,
    ImageTask,
    RunState,
    load_state,
    save_state,
    short_hash,
)

log = logging.getLogger(__name__)

FetcherFactory = Callable[[Crawler], Fetcher]
Outcome = Literal["saved", "duplicate", "failed", "skipped"]
_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/pjpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/avif": "avif",
    "image/bmp": "bmp",
    "image/tiff": "tif",
    "image/heic": "heic",
    "image/heif": "heif",
}


class TransientError(StudiolabError):
    """A step failed for a reason a retry may cure; the state machine retries it by name."""

    code = "transient"


@dataclass(frozen=True)
class EngineConfig:
    batch_pages: int = 20  # pages fetched per FetchBatch
    batch_images: int = 100  # images per Map (bounds the execution history per iteration)
    shopify_limit: int = 250


def item_id_for(project_id: str, product_url: str) -> str:
    """The same product URL in the same project is always the same item."""
    digest = hashlib.sha256(f"{project_id}\n{canonicalize(product_url)}".encode()).hexdigest()
    return f"it_{digest[:26]}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class CrawlEngine:
    def __init__(
        self,
        catalog: Catalog,
        blobs: BlobStore,
        clock: Clock,
        fetchers: FetcherFactory,
        config: EngineConfig | None = None,
    ) -> None:
        self.catalog = catalog
        self.blobs = blobs
        self.clock = clock
        self.config = config or EngineConfig()
        self._make_fetcher = fetchers
        self._fetchers: dict[tuple[str, int], Fetcher] = {}
        self._lock = threading.Lock()

    def fetcher(self, crawler: Crawler) -> Fetcher:
        """One fetcher per crawler version (its robots cache and politeness throttle persist
        between batches while this process lives)."""
        key = (crawler.id, crawler.version)
        with self._lock:
            fetcher = self._fetchers.get(key)
            if fetcher is None:
                fetcher = self._fetchers[key] = self._make_fetcher(crawler)
            return fetcher

    # -- FetchBatch ---------------------------------------------------------------------------

    def fetch_batch(self, run_id: str, iteration: int = 0) -> BatchResult:
        run = self.catalog.get_run(run_id)
        crawler = self.catalog.get_crawler(run.crawler_id)
        if run.status.terminal or run.stop_requested or run.status is RunStatus.ABORTING:
            return BatchResult([], done=False, stop=True, wait_s=0, iteration=iteration + 1)
        project = self.catalog.get_project(run.project_id)
        state = load_state(self.blobs, run_id)
        fetcher = self.fetcher(crawler)
        ok = failed = 0
        if not state.seeded:
            ok, failed = self._seed(state, crawler, fetcher)
        entries: list[FrontierEntry] = []
        while (
            state.frontier
            and len(entries) < self.config.batch_pages
            and len(state.pending_images) < self.config.batch_images
            and not self._limits_reached(state, crawler)
        ):
            entries.append(state.frontier.pop(0))
            state.pages += 1
        for entry, result in self._fetch_all(fetcher, crawler, entries):
            if isinstance(result, FetchError):
                failed += 1
                log.info("run %s: %s", run_id, result)
                continue
            ok += 1
            self._process(state, run, crawler, project, entry, result)
        images = state.pending_images[: self.config.batch_images]
        state.pending_images = state.pending_images[self.config.batch_images :]
        state.batches += 1
        done = (
            not images
            and not state.pending_images
            and (not state.frontier or self._limits_reached(state, crawler))
        )
        save_state(self.blobs, run_id, state)
        self.catalog.update_run(
            run_id,
            set_fields={
                "heartbeat_at": self.clock.now(),
                "expected_items": self._expected(state, crawler),
            },
            add={"pages_ok": ok, "pages_failed": failed},
        )
        return BatchResult(
            images,
            done=done,
            stop=False,
            wait_s=crawler.politeness.delay_s,
            iteration=iteration + 1,
        )

    def _limits_reached(self, state: RunState, crawler: Crawler) -> bool:
        limits = crawler.limits
        return (limits.max_items is not None and state.items >= limits.max_items) or (
            limits.max_pages is not None and state.pages >= limits.max_pages
        )

    @staticmethod
    def _expected(state: RunState, crawler: Crawler) -> int | None:
        """Known total for the ETA: sitemap / products.json product count, capped by max
        items; max items alone when nothing was counted; None when neither is known."""
        known = len(state.known_products | state.products) or None
        cap = crawler.limits.max_items
        if known is None:
            return cap
        return min(known, cap) if cap is not None else known

    def _allowed(self, crawler: Crawler, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in crawler.allowed_domains)

    def _seed(self, state: RunState, crawler: Crawler, fetcher: Fetcher) -> tuple[int, int]:
        ok = failed = 0
        for url in crawler.start_urls:
            state.enqueue(url, "sitemap" if url.endswith((".xml", ".xml.gz")) else "page")
        for origin in dict.fromkeys(_origin(url) for url in crawler.start_urls):
            if crawler.strategy in ("auto", "shopify"):
                state.enqueue(
                    shopify_products_json_url(origin, 1, limit=self.config.shopify_limit),
                    "products_json",
                    1,
                )
            try:
                # the fetcher's own robots.txt copy: a second request before Crawl-delay is
                # known would break it
                sitemaps = fetcher.sitemaps(f"{origin}/")
                ok += 1
            except FetchError:
                sitemaps = []
                failed += 1
            for sitemap in sitemaps or [f"{origin}/sitemap.xml"]:
                if self._allowed(crawler, sitemap):
                    state.enqueue(sitemap, "sitemap")
        # products.json and sitemaps first: they know every product and the totals
        state.frontier.sort(key=lambda entry: entry.kind == "page")
        state.seeded = True
        return ok, failed

    def _fetch_all(
        self, fetcher: Fetcher, crawler: Crawler, entries: list[FrontierEntry]
    ) -> list[tuple[FrontierEntry, FetchResult | FetchError]]:
        def one(entry: FrontierEntry) -> FetchResult | FetchError:
            accept: Any = {"page": "html", "sitemap": "xml", "products_json": "json"}[entry.kind]
            try:
                return fetcher.fetch(entry.url, accept=accept)
            except FetchError as error:
                return error

        if len(entries) <= 1:
            return [(entry, one(entry)) for entry in entries]
        workers = min(len(entries), crawler.politeness.concurrency)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crawl-fetch") as pool:
            return list(zip(entries, pool.map(one, entries), strict=True))

    def _process(
        self,
        state: RunState,
        run: Run,
        crawler: Crawler,
        project: Project,
        entry: FrontierEntry,
        result: FetchResult,
    ) -> None:
        if entry.kind == "products_json":
            urls = shopify_product_urls(result.body, _origin(result.final_url))
            for url in urls:
                state.known_products.add(short_hash(url))
                if self._allowed(crawler, url):
                    state.enqueue(url)
            if urls:
                next_page = shopify_products_json_url(
                    entry.url, entry.page + 1, limit=self.config.shopify_limit
                )
                state.enqueue(next_page, "products_json", entry.page + 1)
        elif entry.kind == "sitemap":
            sitemap = parse_sitemap(result.body, result.final_url)
            for child in sitemap.sitemaps:
                if self._allowed(crawler, child):
                    state.enqueue(child, "sitemap")
            for url in sitemap.urls:
                if is_product_url(url):
                    state.known_products.add(short_hash(url))
                if self._allowed(crawler, url):
                    state.enqueue(url)
        else:
            self._page(state, run, crawler, project, result)

    def _page(
        self, state: RunState, run: Run, crawler: Crawler, project: Project, result: FetchResult
    ) -> None:
        selectors = crawler.selectors or None
        extraction = extract(result.body, result.final_url, selectors=selectors)
        if (extraction.ok or extraction.declared) and (
            is_product_url(result.final_url) or extraction.declared or crawler.selectors
        ):
            self._product(state, run, crawler, project, result.final_url, extraction)
        listing = listing_links(result.body, result.final_url, selectors=selectors)
        for url in listing.product_urls + listing.next_pages:
            if self._allowed(crawler, url):
                state.enqueue(url)

    def _product(
        self,
        state: RunState,
        run: Run,
        crawler: Crawler,
        project: Project,
        page_url: str,
        extraction: Any,
    ) -> None:
        product = extraction.product
        product_url = canonicalize(product.url or page_url)
        key = short_hash(product_url)
        if key in state.products or self._limits_reached(state, crawler):
            return
        now = self.clock.now()
        item = Item(
            id=item_id_for(project.id, product_url),
            project_id=project.id,
            crawler_id=crawler.id,
            run_id=run.id,
            kind=project.data_type,
            attribute=project.attribute,
            source_url=page_url,
            product_url=product_url,
            product=product.to_fields(),
            texts=dict(product.texts) if project.data_type == "text" else {},
            state="pending" if project.data_type == "image" else "skipped",
            created_at=now,
            updated_at=now,
        )
        state.products.add(key)
        state.items += 1
        try:
            self.catalog.create_item(item)
        except Conflict:
            return  # made by an earlier attempt of this batch, or an earlier run
        self.catalog.update_run(run.id, add={"items": 1})
        if project.data_type != "image":
            return
        for n, image_url in enumerate(product.images):
            image_key = short_hash(image_url)
            if image_key in state.image_urls:
                continue
            state.image_urls.add(image_key)
            state.pending_images.append(ImageTask(run.id, project.id, item.id, image_url, n))

    # -- DownloadImage ------------------------------------------------------------------------

    def download_image(self, task: ImageTask) -> dict[str, Any]:
        run = self.catalog.get_run(task.run_id)
        if run.status.terminal:
            return {"outcome": "skipped", "key": None, "bytes": 0}
        crawler = self.catalog.get_crawler(run.crawler_id)
        try:
            result = self.fetcher(crawler).fetch(task.url, accept="image")
        except FetchError as error:
            log.info("run %s: image %s", task.run_id, error)
            return {"outcome": "failed", "key": None, "bytes": 0, "error": error.code}
        digest = content_hash(result.body)
        marker = f"state/images/{task.project_id}/{digest}"
        if self.blobs.exists(marker):
            return {"outcome": "duplicate", "key": None, "bytes": 0}
        extension = _EXTENSIONS.get(result.content_type or "", "img")
        key = item_key("raw", task.project_id, task.item_id, f"{task.n}.{extension}")
        self.blobs.put(key, result.body, content_type=result.content_type)
        self.blobs.put(marker, key.encode(), content_type="text/plain")
        self.catalog.update_run(task.run_id, add={"images": 1, "bytes": len(result.body)})
        return {"outcome": "saved", "key": key, "bytes": len(result.body)}
