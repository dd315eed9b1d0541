"""The persisted crawl state's in-process cache and the crawler memory's storage: what is
reused is exactly what was saved, and damaged records cost a refetch, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from studiolab.adapters.local.fs_blobstore import FilesystemBlobStore
from studiolab.adapters.local.url_signer import UrlSigner
from studiolab.services.crawl_memory import (
    CrawlMemory,
    ImageRecord,
    PageRecord,
    image_hash,
    load_image_record,
    load_memory,
    memory_key,
    remember,
    save_image_record,
)
from studiolab.services.crawl_state import (
    RunState,
    StateCache,
    load_state,
    save_state,
    state_key,
)


class _Clock:
    def now(self) -> datetime:
        return datetime(2026, 11, 1, tzinfo=UTC)


def blobs(tmp_path: Path) -> FilesystemBlobStore:
    signer = UrlSigner(b"0123456789abcdef0123", "http://127.0.0.1:1", _Clock())
    return FilesystemBlobStore(tmp_path / "blobs", signer)


def test_state_cache_reuses_only_the_bytes_it_saved(tmp_path: Path) -> None:
    store, cache = blobs(tmp_path), StateCache()
    state = RunState(seeded=True, pages=3)
    state.enqueue("https://shop.example/products/a")
    state.seen["k"] = PageRecord(product="p", etag='"1"')
    state.tally["pages_ok"] += 2
    save_state(store, "run1", state, cache)

    again = load_state(store, "run1", cache)
    assert again is state and not again.tally  # reused, with the transient tally reset
    assert load_state(store, "run1", cache) is not state  # taken: a second reader parses
    save_state(store, "run1", again, cache)
    other = RunState(seeded=True, pages=9)  # another process wrote a newer state
    store.put(state_key("run1"), other.to_json())
    fresh = load_state(store, "run1", cache)
    assert fresh is not state and fresh.pages == 9
    assert RunState.from_json(state.to_json()).seen == {"k": PageRecord("p", etag='"1"')}


def test_damaged_memory_is_an_empty_memory(tmp_path: Path) -> None:
    store = blobs(tmp_path)
    for raw in (b"{not json", b"[]", b'{"pages": 3}', b'{"pages": {"a": {"e": "x"}}}'):
        store.put(memory_key("cr1"), raw)
        assert load_memory(store, "cr1").pages == {}
    store.put(memory_key("cr1"), b'{"pages": {"a": {"p": "prod", "e": "' + b"x" * 999 + b'"}}}')
    record = load_memory(store, "cr1").pages["a"]
    assert record.product == "prod" and record.etag is None  # an absurd ETag is not kept


def test_remember_keeps_pages_whose_images_are_all_stored(tmp_path: Path) -> None:
    store = blobs(tmp_path)
    url = "https://cdn.example/1.jpg"
    save_image_record(store, "pr1", url, ImageRecord("raw/pr1/it/0.jpg", "c0ffee", '"e"'))
    assert load_image_record(store, "pr1", url) == ImageRecord(
        "raw/pr1/it/0.jpg", "c0ffee", '"e"', None
    )
    previous = CrawlMemory({"old": PageRecord("p0"), "gone": PageRecord("p9")})
    seen = {
        "complete": PageRecord("p1", etag='"a"', images=[_hash(url)]),
        "gone": PageRecord("p9", etag='"b"', images=[_hash("https://cdn.example/missing.jpg")]),
    }
    memory = remember(store, "cr1", "pr1", previous, seen)
    assert set(memory.pages) == {"old", "complete"}  # "gone" lost an image: fetch it again
    assert load_memory(store, "cr1") == memory


def _hash(url: str) -> str:
    return image_hash(url)
