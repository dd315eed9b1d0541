"""The FetchBatch step's fetching: a batch's frontier entries fetched concurrently on the
crawler's kept-alive threads and handed back in frontier order as soon as each has arrived,
so the engine extracts page n while pages n+1... are still being fetched. `prepare` runs in
the fetch thread as each page arrives (the engine hands the page to its extraction pool)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from studiolab.crawl.fetch_errors import FetchError
from studiolab.crawl.fetch_types import Fetcher, FetchResult
from studiolab.services.crawl_memory import CrawlMemory
from studiolab.services.crawl_state import FrontierEntry, short_hash

_ACCEPT: dict[str, Any] = {"page": "html", "sitemap": "xml", "products_json": "json"}
Prepare = Callable[[FrontierEntry, FetchResult], Any]
Fetched = tuple[FrontierEntry, FetchResult | FetchError, Any]


class FetchPools:
    """The fetch threads of the last few crawler versions, kept between batches (starting
    threads per batch costs more than a small batch's fetching on a busy machine)."""

    def __init__(self, keep: int = 8) -> None:
        self.keep = keep
        self._pools: OrderedDict[tuple[str, int], ThreadPoolExecutor] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, crawler_id: str, version: int, workers: int) -> ThreadPoolExecutor:
        key = (crawler_id, version)
        with self._lock:
            pool = self._pools.pop(key, None)
            if pool is None:
                pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crawl-fetch")
            self._pools[key] = pool
            while len(self._pools) > self.keep:
                self._pools.popitem(last=False)[1].shutdown(wait=False)
            return pool


def fetch_one(
    fetcher: Fetcher, entry: FrontierEntry, memory: CrawlMemory
) -> FetchResult | FetchError:
    """One entry; a product page an earlier run made an item from is asked conditionally
    (304 = unchanged). Fetch errors are returned, not raised (one page never fails a batch)."""
    record = memory.pages.get(short_hash(entry.url)) if entry.kind == "page" else None
    try:
        if record is not None and record.conditional:
            return fetcher.fetch(
                entry.url,
                accept=_ACCEPT[entry.kind],
                etag=record.etag,
                last_modified=record.last_modified,
            )
        return fetcher.fetch(entry.url, accept=_ACCEPT[entry.kind])
    except FetchError as error:
        return error


def _fetch_prepared(
    fetcher: Fetcher, entry: FrontierEntry, memory: CrawlMemory, prepare: Prepare | None
) -> tuple[FetchResult | FetchError, Any]:
    result = fetch_one(fetcher, entry, memory)
    if prepare is None or isinstance(result, FetchError):
        return result, None
    return result, prepare(entry, result)


def fetch_in_order(
    pool: ThreadPoolExecutor,
    fetcher: Fetcher,
    entries: list[FrontierEntry],
    memory: CrawlMemory,
    prepare: Prepare | None = None,
) -> Iterator[Fetched]:
    """(entry, result or error, what `prepare` made of the result or None), in order."""
    if len(entries) <= 1:
        for entry in entries:
            yield entry, *_fetch_prepared(fetcher, entry, memory, prepare)
        return
    futures = [pool.submit(_fetch_prepared, fetcher, e, memory, prepare) for e in entries]
    try:
        for entry, future in zip(entries, futures, strict=True):
            yield entry, *future.result()
    finally:  # the batch failed half-way: fetch nothing more for it
        for future in futures:
            future.cancel()
