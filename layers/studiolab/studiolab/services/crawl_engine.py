"""The crawl engine: one FetchBatch step and one DownloadImage step of a crawl run.

Sees ports only (Catalog, BlobStore, Clock, and a `Fetcher` made per crawler). A batch loads
the run's persisted state (services/crawl_state.py), seeds it on the first batch (start URLs,
robots.txt sitemaps, Shopify /products.json), fetches up to `batch_pages` frontier entries,
creates one Item per new product, queues the product images, updates the run's counters and
heartbeat, and writes the state back before replying. A crash anywhere in a batch loses
nothing: the batch is redone from the last state, and item ids are derived from the product's
canonical URL, so a redone batch cannot create a duplicate item.

Incremental re-crawl (services/crawl_memory.py): a product page an earlier run of the crawler
made an item from is fetched conditionally (304: unchanged, not extracted, no images), or
not at all when products.json lists it with the same `updated_at`; a changed product updates
its item in place; stored images are not downloaded again (services/crawl_images.py).
Pages are extracted as soon as they arrive, while the rest of the batch is still fetched: in
a pool of worker processes where that works (services/crawl_extract.py), else in this thread.
Seeding and link following: services/crawl_discovery.py.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from studiolab.crawl.discover import is_product_url, parse_sitemap, shopify_product_entries
from studiolab.crawl.fetch_errors import FetchError, OffsiteRedirect
from studiolab.crawl.fetch_types import Fetcher, FetchResult
from studiolab.crawl.urls import canonicalize
from studiolab.domain.errors import Conflict, StudiolabError
from studiolab.domain.models import Crawler, Item, Project, Run, RunStatus
from studiolab.domain.ports import BlobStore, Catalog, Clock
from studiolab.services.crawl_discovery import allowed, follow, origin, products_json_url, seed
from studiolab.services.crawl_extract import (
    ExtractionFailed,
    ExtractPool,
    Pending,
    default_processes,
    shared_pool,
)
from studiolab.services.crawl_fetch import FetchPools, fetch_in_order
from studiolab.services.crawl_images import download_image
from studiolab.services.crawl_items import TransientError, item_id_for, refresh_item
from studiolab.services.crawl_memory import (
    CrawlMemory,
    PageRecord,
    has_image,
    image_hash,
    load_memory,
    remember,
)
from studiolab.services.crawl_state import (
    BatchResult,
    FrontierEntry,
    ImageTask,
    RunState,
    StateCache,
    load_state,
    save_state,
    short_hash,
)

log = logging.getLogger(__name__)

__all__ = ["CrawlEngine", "EngineConfig", "FetcherFactory", "TransientError", "item_id_for"]

FetcherFactory = Callable[[Crawler], Fetcher]
_MEMORIES_CACHED = 16  # runs whose crawler memory this process keeps loaded


@dataclass(frozen=True)
class EngineConfig:
    batch_pages: int = 20  # pages fetched per FetchBatch
    batch_images: int = 100  # images per Map (bounds the execution history per iteration)
    shopify_limit: int = 250
    max_depth: int = 3  # on-site links followed from the start URLs (crawl_discovery.py)
    # extraction worker processes: None = automatic (crawl_extract.default_processes), 0 = off
    extract_processes: int | None = None
    extract_timeout_s: float = 30.0  # per page; then the page fails (crawl_extract.py)


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
        self._memories: OrderedDict[str, CrawlMemory] = OrderedDict()
        self._states = StateCache()
        self._pools = FetchPools()
        processes = default_processes(self.config.extract_processes)
        self.extractor: ExtractPool = shared_pool(processes, self.config.extract_timeout_s)

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
            # A stopped run's pages are remembered too; a straggler of an ended run is not
            # (a later run may have saved newer memory since).
            if not run.status.terminal:
                self._remember(run, crawler, load_state(self.blobs, run_id))
            return BatchResult([], done=False, stop=True, wait_s=0, iteration=iteration + 1)
        project = self.catalog.get_project(run.project_id)
        state = load_state(self.blobs, run_id, self._states)
        memory = self._memory(run)
        fetcher = self.fetcher(crawler)
        if not state.seeded:
            seed(state, crawler, fetcher, self.config.shopify_limit)
        entries: list[FrontierEntry] = []
        while (
            len(entries) < self.config.batch_pages
            and len(state.pending_images) < self.config.batch_images
            and not self._limits_reached(state, crawler)
            and (entry := state.next_entry(deferred=not entries)) is not None
        ):
            entries.append(entry)
            state.pages += 1
        # Each page is processed (extracted) as soon as it and the ones before it have
        # arrived, while the later ones are still being fetched.
        pool = self._pools.get(crawler.id, crawler.version, crawler.politeness.concurrency)
        selectors = crawler.selectors or None

        def prepare(entry: FrontierEntry, result: FetchResult) -> Pending | None:
            if entry.kind != "page" or result.not_modified:
                return None
            return self.extractor.submit(result.body, result.final_url, selectors)

        for entry, result, pending in fetch_in_order(pool, fetcher, entries, memory, prepare):
            if isinstance(result, FetchError):
                state.page_failed(result)
                if isinstance(result, OffsiteRedirect):
                    state.tally["redirects_refused"] += 1
                    log.warning("run %s: %s", run_id, result)
                else:
                    log.info("run %s: %s", run_id, result)
                continue
            try:
                self._process(state, memory, run, crawler, project, entry, result, pending)
            except ExtractionFailed as error:  # its worker hung or crashed on it: one page
                state.page_failed(error)
                log.warning("run %s: %s", run_id, error)
                continue
            state.tally["pages_ok"] += 1
        images = state.pending_images[: self.config.batch_images]
        state.pending_images = state.pending_images[self.config.batch_images :]
        state.batches += 1
        done = (
            not images
            and not state.pending_images
            and (state.exhausted or self._limits_reached(state, crawler))
        )
        if done:
            self._remember(run, crawler, state)
        save_state(self.blobs, run_id, state, self._states)
        fields: dict[str, Any] = {
            "heartbeat_at": self.clock.now(),
            "expected_items": self._expected(state, crawler),
        }
        if state.page_failure is not None:
            fields["status_message"] = f"last page failure: {state.page_failure}"[:500]
        self.catalog.update_run(
            run_id,
            set_fields=fields,
            add={name: count for name, count in state.tally.items() if count},
        )
        return BatchResult(
            images,
            done=done,
            stop=False,
            wait_s=crawler.politeness.delay_s,
            iteration=iteration + 1,
        )

    def _memory(self, run: Run) -> CrawlMemory:
        """The crawler's memory as it was when this run began (cached for the run: nothing
        else writes it while the run is open)."""
        with self._lock:
            memory = self._memories.get(run.id)
        if memory is None:
            memory = load_memory(self.blobs, run.crawler_id)
            with self._lock:
                self._memories[run.id] = memory
                while len(self._memories) > _MEMORIES_CACHED:
                    self._memories.popitem(last=False)
        return memory

    def _remember(self, run: Run, crawler: Crawler, state: RunState) -> None:
        """The run ends: what it saw becomes the crawler's memory. A failure here only costs
        the next run full fetches, so it is logged, not raised."""
        if not state.seen:
            return
        try:
            remember(self.blobs, crawler.id, run.project_id, self._memory(run), state.seen)
        except (StudiolabError, OSError):
            log.exception("run %s: crawl memory not saved (the next run fetches all)", run.id)
        with self._lock:
            self._memories.pop(run.id, None)

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

    def _process(
        self,
        state: RunState,
        memory: CrawlMemory,
        run: Run,
        crawler: Crawler,
        project: Project,
        entry: FrontierEntry,
        result: FetchResult,
        pending: Pending | None = None,
    ) -> None:
        if entry.kind == "products_json":
            listed = shopify_product_entries(result.body, origin(result.final_url))
            for url, updated in listed.items():
                key = short_hash(url)
                state.known_products.add(key)
                if not allowed(crawler, url):
                    continue
                record = memory.pages.get(key)
                if (
                    updated
                    and record is not None
                    and record.updated_at == updated
                    and key not in state.queued
                    and not self._limits_reached(state, crawler)
                ):
                    state.queued.add(key)  # same updated_at: not even fetched
                    self._unchanged(state, key, record)
                elif state.enqueue(url, depth=1) and updated:
                    state.listed_updated[key] = updated
            if listed:  # (a collection's products.json walks on in its collection)
                next_page = products_json_url(entry.url, entry.page + 1, self.config.shopify_limit)
                state.enqueue(next_page, "products_json", entry.page + 1)
        elif entry.kind == "sitemap":
            sitemap = parse_sitemap(result.body, result.final_url)
            for child in sitemap.sitemaps:
                if allowed(crawler, child):
                    state.enqueue(child, "sitemap")
            for url in sitemap.urls:
                if is_product_url(url):
                    state.known_products.add(short_hash(url))
                if allowed(crawler, url):
                    state.enqueue(url, depth=1)
        elif result.not_modified:
            state.tally["pages_unchanged"] += 1
            key = short_hash(entry.url)
            record = memory.pages.get(key)
            if record is not None:  # (a 304 nobody asked for has nothing to reuse)
                updated = state.listed_updated.pop(key, None) or record.updated_at
                self._unchanged(state, key, replace(record, updated_at=updated))
        else:
            if pending is None:  # (not prepared while fetching: analysed in this thread)
                pending = Pending(result.body, result.final_url, crawler.selectors or None)
            self._page(state, run, crawler, project, entry, result, pending)

    def _unchanged(self, state: RunState, page_key: str, record: PageRecord) -> None:
        """A product an earlier run stored and that did not change: no extraction, no
        images; it still counts for max_items and is remembered for the next run."""
        state.seen[page_key] = record
        if record.product not in state.products:
            state.products.add(record.product)
            state.items += 1
            state.tally["items_unchanged"] += 1

    def _page(
        self,
        state: RunState,
        run: Run,
        crawler: Crawler,
        project: Project,
        entry: FrontierEntry,
        result: FetchResult,
        pending: Pending,
    ) -> None:
        analysis = self.extractor.result(pending)  # the page parsed once: product and links
        extraction = analysis.extraction
        if (extraction.ok or extraction.declared) and (
            is_product_url(result.final_url) or extraction.declared or crawler.selectors
        ):
            state.made = None
            self._product(state, run, crawler, project, result.final_url, extraction)
            page_key = short_hash(entry.url)
            updated = state.listed_updated.pop(page_key, None)
            made, state.made = state.made, None
            if made is not None and (result.etag or result.last_modified or updated):
                state.seen[page_key] = replace(
                    made,
                    etag=result.etag,
                    last_modified=result.last_modified,
                    updated_at=updated,
                )
        follow(state, crawler, entry, analysis, self.config.max_depth)

    def _product(
        self,
        state: RunState,
        run: Run,
        crawler: Crawler,
        project: Project,
        page_url: str,
        extraction: Any,
    ) -> None:
        """A new product becomes an item; a known one updates its item in place when its
        fields changed. Queues the images not already stored."""
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
            outcome = "items"
        except Conflict:  # an earlier run (or an earlier attempt of this batch) made it
            outcome = refresh_item(self.catalog, item)
        state.tally[outcome] += 1
        images = list(product.images) if project.data_type == "image" else []
        state.made = PageRecord(product=key, images=[image_hash(url) for url in images])
        for n, image_url in enumerate(images):
            image_key = short_hash(image_url)
            if image_key in state.image_urls:
                continue
            if outcome == "items_unchanged" and has_image(self.blobs, project.id, image_url):
                continue  # same product, image already stored
            state.image_urls.add(image_key)
            state.pending_images.append(ImageTask(run.id, project.id, item.id, image_url, n))

    # -- DownloadImage ------------------------------------------------------------------------

    def download_image(self, task: ImageTask) -> dict[str, Any]:
        run = self.catalog.get_run(task.run_id)
        if run.status.terminal:
            return {"outcome": "skipped", "key": None, "bytes": 0}
        fetcher = self.fetcher(self.catalog.get_crawler(run.crawler_id))
        return download_image(self.catalog, self.blobs, fetcher, task)
