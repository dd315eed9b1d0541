"""The persisted state of one crawl run and the shapes the crawl steps exchange.

`state/runs/<run_id>.json` in the blob store holds the frontier, the visited set, the seen
image URLs and the counters the engine needs to resume a run after any crash: it is written
after every batch. Hashes are 16 hex characters (64 bits) of the canonical URL's sha256, so a
million visited pages cost ~20 MB of JSON.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from studiolab.crawl.urls import url_hash
from studiolab.domain.errors import NotFound, StudiolabError
from studiolab.domain.ports import BlobStore
from studiolab.services.crawl_memory import PageRecord

STATE_VERSION = 1
FrontierKind = Literal["page", "sitemap", "products_json"]


@functools.lru_cache(maxsize=65536)  # pure; the engine asks it several times per URL
def short_hash(url: str) -> str:
    return url_hash(url)[:16]


def state_key(run_id: str) -> str:
    return f"state/runs/{run_id}.json"


@dataclass
class ImageTask:
    """One image to download (a Map iteration's input)."""

    run_id: str
    project_id: str
    item_id: str
    url: str
    n: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageTask:
        return cls(
            run_id=str(data["run_id"]),
            project_id=str(data["project_id"]),
            item_id=str(data["item_id"]),
            url=str(data["url"]),
            n=int(data["n"]),
        )


@dataclass
class BatchResult:
    images: list[ImageTask]
    done: bool
    stop: bool
    wait_s: float
    iteration: int

    def to_payload(self) -> dict[str, Any]:
        """The FetchBatch step's reply (Wait's SecondsPath needs whole seconds)."""
        return {
            "images": [asdict(task) for task in self.images],
            "done": self.done,
            "stop": self.stop,
            "wait_s": int(-(-self.wait_s // 1)),
            "iteration": self.iteration,
        }


@dataclass
class FrontierEntry:
    url: str
    kind: FrontierKind = "page"
    page: int = 0  # products.json page number
    depth: int = 0  # links from the start URLs (services/crawl_discovery.py)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrontierEntry:
        return cls(
            url=str(data["url"]),
            kind=data.get("kind", "page"),
            page=int(data.get("page", 0)),
            depth=int(data.get("depth", 0)),
        )


@dataclass
class RunState:
    seeded: bool = False
    frontier: list[FrontierEntry] = field(default_factory=list)
    queued: set[str] = field(default_factory=set)  # URL hashes ever put in the frontier
    products: set[str] = field(default_factory=set)  # product URL hashes with an item
    known_products: set[str] = field(default_factory=set)  # from sitemaps / products.json
    image_urls: set[str] = field(default_factory=set)
    pending_images: list[ImageTask] = field(default_factory=list)
    # On-site links of a shop whose sitemap / products.json listed products: crawled only
    # when the frontier has run dry (services/crawl_discovery.py).
    deferred: list[FrontierEntry] = field(default_factory=list)
    # Incremental re-crawl (services/crawl_memory.py): this run's page records (merged into
    # the crawler's memory when the run ends) and the Shopify updated_at of queued pages.
    seen: dict[str, PageRecord] = field(default_factory=dict)
    listed_updated: dict[str, str] = field(default_factory=dict)
    pages: int = 0
    items: int = 0  # products covered: new, updated and unchanged (what max_items bounds)
    batches: int = 0
    # Transient, never persisted: the counter increments of the batch being processed and
    # the product key + image hashes of the last product a page made (read by the engine).
    tally: Counter[str] = field(default_factory=Counter, repr=False, compare=False)
    made: PageRecord | None = field(default=None, repr=False, compare=False)
    # ... and why the batch's last failed page failed ("<code>: <message>"), for the run's
    # status message: a counter alone does not tell a user what to change.
    page_failure: str | None = field(default=None, repr=False, compare=False)

    def page_failed(self, error: StudiolabError) -> None:
        self.tally["pages_failed"] += 1
        self.page_failure = f"{error.code}: {error.message}"

    def enqueue(
        self,
        url: str,
        kind: FrontierKind = "page",
        page: int = 0,
        depth: int = 0,
        *,
        defer: bool = False,
    ) -> bool:
        key = short_hash(url) if kind != "products_json" else f"json:{page}:{short_hash(url)}"
        if key in self.queued:
            return False
        self.queued.add(key)
        (self.deferred if defer else self.frontier).append(FrontierEntry(url, kind, page, depth))
        return True

    def next_entry(self, deferred: bool = True) -> FrontierEntry | None:
        """The next page to fetch; the deferred ones only when the frontier is empty and
        `deferred` (the engine passes False once a batch has entries: a sitemap or
        products.json among them may still fill the frontier)."""
        if deferred and not self.frontier and self.deferred:
            self.frontier, self.deferred = self.deferred, []
        return self.frontier.pop(0) if self.frontier else None

    @property
    def exhausted(self) -> bool:
        return not self.frontier and not self.deferred

    def to_json(self) -> bytes:
        data = {
            "version": STATE_VERSION,
            "seeded": self.seeded,
            "frontier": [_entry(entry) for entry in self.frontier],
            "deferred": [_entry(entry) for entry in self.deferred],
            "queued": sorted(self.queued),
            "products": sorted(self.products),
            "known_products": sorted(self.known_products),
            "image_urls": sorted(self.image_urls),
            "pending_images": [asdict(task) for task in self.pending_images],
            "seen": {key: record.to_dict() for key, record in self.seen.items()},
            "listed_updated": self.listed_updated,
            "pages": self.pages,
            "items": self.items,
            "batches": self.batches,
        }
        return json.dumps(data, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> RunState:
        data = json.loads(raw)
        seen = {key: PageRecord.from_dict(value) for key, value in data.get("seen", {}).items()}
        return cls(
            seeded=bool(data.get("seeded")),
            frontier=[FrontierEntry.from_dict(entry) for entry in data.get("frontier", [])],
            deferred=[FrontierEntry.from_dict(entry) for entry in data.get("deferred", [])],
            queued=set(data.get("queued", [])),
            products=set(data.get("products", [])),
            known_products=set(data.get("known_products", [])),
            image_urls=set(data.get("image_urls", [])),
            pending_images=[ImageTask.from_dict(task) for task in data.get("pending_images", [])],
            seen={key: record for key, record in seen.items() if record is not None},
            listed_updated=dict(data.get("listed_updated", {})),
            pages=int(data.get("pages", 0)),
            items=int(data.get("items", 0)),
            batches=int(data.get("batches", 0)),
        )


def _entry(entry: FrontierEntry) -> dict[str, Any]:
    return {"url": entry.url, "kind": entry.kind, "page": entry.page, "depth": entry.depth}


class StateCache:
    """The last state each run saved in this process, with the bytes it was saved as: when
    the stored bytes are still exactly those, the next batch reuses the object instead of
    parsing the JSON again (a crawl's state grows with it; the blob is still read, so
    another process's newer state is never missed)."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._entries: dict[str, tuple[bytes, RunState]] = {}
        self._lock = threading.Lock()

    def get(self, run_id: str, raw: bytes) -> RunState | None:
        with self._lock:
            entry = self._entries.pop(run_id, None)  # taken: one batch of a run at a time
        if entry is None or entry[0] != raw:
            return None
        state = entry[1]
        state.tally, state.made, state.page_failure = Counter(), None, None
        return state

    def put(self, run_id: str, raw: bytes, state: RunState) -> None:
        with self._lock:
            self._entries[run_id] = (raw, state)
            while len(self._entries) > self.size:
                self._entries.pop(next(iter(self._entries)))


def load_state(blobs: BlobStore, run_id: str, cache: StateCache | None = None) -> RunState:
    try:
        raw = blobs.get(state_key(run_id))
    except NotFound:
        return RunState()
    cached = cache.get(run_id, raw) if cache is not None else None
    return cached if cached is not None else RunState.from_json(raw)


def save_state(
    blobs: BlobStore, run_id: str, state: RunState, cache: StateCache | None = None
) -> None:
    """Write the state; with a cache, the caller must not change `state` afterwards."""
    raw = state.to_json()
    blobs.put(state_key(run_id), raw, content_type="application/json")
    if cache is not None:
        cache.put(run_id, raw, state)
