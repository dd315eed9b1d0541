"""BlobStore contract: the same assertions against the filesystem store and S3 (moto)."""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from studiolab.adapters.aws import s3_blobstore
from studiolab.domain.errors import Forbidden, InvalidInput, NotFound
from tests.contract.blob_fixtures import (  # noqa: F401  (fixtures, by name)
    BlobBackend,
    aws_env_fixture,
    blob_backend_fixture,
    make_s3_backend,
)

BINARY = bytes(range(256)) * 40 + b"\x00\r\n\xff"
KEY = "raw/p1/item.jpg"


def md5_etag(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


class NonSeekable(io.RawIOBase):
    """A one-way byte source, like a socket or a zip being written."""

    def __init__(self, data: bytes) -> None:
        self._source = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._source.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


# put / get / head / stream


def test_put_then_get_head_exists_stream_roundtrip(blob_backend: BlobBackend) -> None:
    store = blob_backend.store
    info = store.put(KEY, BINARY, content_type="image/jpeg")
    assert (info.key, info.size, info.etag, info.content_type) == (
        KEY,
        len(BINARY),
        md5_etag(BINARY),
        "image/jpeg",
    )
    assert info.last_modified.tzinfo is not None
    assert store.get(KEY) == BINARY
    head = store.head(KEY)
    assert (head.key, head.size, head.etag, head.content_type) == (
        KEY,
        len(BINARY),
        md5_etag(BINARY),
        "image/jpeg",
    )
    assert store.exists(KEY)
    assert b"".join(store.stream(KEY)) == BINARY


def test_stream_yields_chunks_of_at_most_chunk_size(blob_backend: BlobBackend) -> None:
    blob_backend.store.put(KEY, BINARY)
    chunks = list(blob_backend.store.stream(KEY, chunk_size=1000))
    assert len(chunks) > 1
    assert all(0 < len(chunk) <= 1000 for chunk in chunks)
    assert b"".join(chunks) == BINARY


def test_read_ahead_hint_is_a_non_negative_int(blob_backend: BlobBackend) -> None:
    read_ahead = blob_backend.store.read_ahead
    assert isinstance(read_ahead, int) and not isinstance(read_ahead, bool)
    assert read_ahead >= 0


def test_empty_object(blob_backend: BlobBackend) -> None:
    store = blob_backend.store
    info = store.put("exports/empty.bin", b"")
    assert info.size == 0 and info.etag == md5_etag(b"")
    assert store.get("exports/empty.bin") == b""
    assert store.head("exports/empty.bin").size == 0
    assert b"".join(store.stream("exports/empty.bin")) == b""
    assert store.put_stream("exports/empty2.bin", NonSeekable(b"")).size == 0  # type: ignore[arg-type]
    assert store.get("exports/empty2.bin") == b""


def test_content_type_defaults_from_the_key_alike(blob_backend: BlobBackend) -> None:
    store = blob_backend.store
    store.put("a/pic.png", b"x")
    store.put("a/blob.unknownext", b"x")
    store.put_stream("a/set.zip", io.BytesIO(b"x"))
    assert store.head("a/pic.png").content_type == "image/png"
    assert store.head("a/blob.unknownext").content_type == "application/octet-stream"
    assert store.head("a/set.zip").content_type == "application/zip"


def test_put_overwrites(blob_backend: BlobBackend) -> None:
    store = blob_backend.store
    store.put(KEY, b"first version", content_type="image/png")
    store.put(KEY, b"v2", content_type="image/jpeg")
    assert store.get(KEY) == b"v2"
    head = store.head(KEY)
    assert (head.size, head.etag, head.content_type) == (2, md5_etag(b"v2"), "image/jpeg")


def test_put_stream_large_object_roundtrips(blob_backend: BlobBackend) -> None:
    data = random.Random(7).randbytes(6 * 1024 * 1024 + 123)
    info = blob_backend.store.put_stream(
        "exports/big.zip",
        NonSeekable(data),  # type: ignore[arg-type]
        content_type="application/zip",
    )
    assert info.size == len(data)
    assert info.etag.startswith('"') and info.etag.endswith('"')
    assert info.content_type == "application/zip"
    assert blob_backend.store.head("exports/big.zip").size == len(data)
    streamed = hashlib.sha256()
    for chunk in blob_backend.store.stream("exports/big.zip"):
        streamed.update(chunk)
    assert streamed.digest() == hashlib.sha256(data).digest()
    assert blob_backend.store.get("exports/big.zip") == data


def test_absent_key_is_not_found(blob_backend: BlobBackend) -> None:
    store = blob_backend.store
    with pytest.raises(NotFound):
        store.get("raw/nope.jpg")
    with pytest.raises(NotFound):
        store.head("raw/nope.jpg")
    chunks = store.stream("raw/nope.jpg")  # lazy: the error comes with the first chunk
    with pytest.raises(NotFound):
        next(iter(chunks))
    assert not store.exists("raw/nope.jpg")


def test_a_prefix_of_keys_is_not_an_object(blob_backend: BlobBackend) -> None:
    blob_backend.store.put("raw/p1/a.jpg", b"x")
    assert not blob_backend.store.exists("raw/p1")
    with pytest.raises(NotFound):
        blob_backend.store.get("raw/p1")


def test_delete_is_idempotent(blob_backend: BlobBackend) -> None:
    store = blob_backend.store
    store.put(KEY, b"x")
    store.delete(KEY)
    assert not store.exists(KEY)
    store.delete(KEY)
    store.delete("never/was.jpg")
    with pytest.raises(NotFound):
        store.get(KEY)


# listing


LIST_KEYS = [
    "a-b",
    "a/x",
    "a/y/z",
    "a0",
    "b",
    "raw/p1/1.jpg",
    "raw/p1/sub/2.jpg",
    "raw/p10/3.jpg",
    "raw/p2/z.jpg",
    "raw/p2/\u00e9.jpg",
    "raw/p2/\u4e2d.jpg",
]


def test_list_is_in_key_byte_order_with_prefixes(blob_backend: BlobBackend) -> None:
    store = blob_backend.store
    shuffled = LIST_KEYS[:]
    random.Random(3).shuffle(shuffled)
    for index, key in enumerate(shuffled):
        store.put(key, b"x" * index)
    expected = sorted(LIST_KEYS, key=lambda key: key.encode())
    assert expected == LIST_KEYS  # '/' sorts after '-' and before '0', as bytes
    assert [info.key for info in store.list()] == expected
    assert [info.key for info in store.list("raw/p1")] == [
        "raw/p1/1.jpg",
        "raw/p1/sub/2.jpg",
        "raw/p10/3.jpg",
    ]
    assert [info.key for info in store.list("raw/p1/")] == ["raw/p1/1.jpg", "raw/p1/sub/2.jpg"]
    assert [info.key for info in store.list("a")] == ["a-b", "a/x", "a/y/z", "a0"]
    assert list(store.list("nothing/")) == []


def test_list_items_agree_with_head_except_content_type(blob_backend: BlobBackend) -> None:
    store = blob_backend.store
    store.put("l/one.png", b"1", content_type="image/png")
    store.put("l/two.txt", b"22")
    for info in store.list("l/"):
        head = store.head(info.key)
        assert (info.size, info.etag) == (head.size, head.etag)
        assert info.content_type is None  # S3's ListObjectsV2 has no content type
        assert abs(info.last_modified - head.last_modified) < timedelta(seconds=1)


def test_delete_prefix(blob_backend: BlobBackend) -> None:
    store = blob_backend.store
    for key in ["raw/p1/a.jpg", "raw/p1/b/c.jpg", "raw/p10/d.jpg", "raw/p2/e.jpg"]:
        store.put(key, b"x")
    assert store.delete_prefix("raw/p1/") == 2
    assert [info.key for info in store.list()] == ["raw/p10/d.jpg", "raw/p2/e.jpg"]
    assert store.delete_prefix("raw/p1") == 1
    assert store.delete_prefix("raw/p1") == 0
    with pytest.raises(InvalidInput):
        store.delete_prefix("")
    assert [info.key for info in store.list()] == ["raw/p2/e.jpg"]


# key validation


BAD_KEYS = ["../x", "a/../b", "/abs", "a//b", "a\\b", "nul\x00x", "", "ends/", "./a", "tab\tx"]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_invalid_keys_are_refused_everywhere(blob_backend: BlobBackend, key: str) -> None:
    store = blob_backend.store
    calls: dict[str, Callable[[], object]] = {
        "put": lambda: store.put(key, b"x"),
        "put_stream": lambda: store.put_stream(key, io.BytesIO(b"x")),
        "get": lambda: store.get(key),
        "head": lambda: store.head(key),
        "exists": lambda: store.exists(key),
        "delete": lambda: store.delete(key),
        "stream": lambda: next(iter(store.stream(key))),
        "signed_get_url": lambda: store.signed_get_url(key, expires_in=60),
        "signed_put_url": lambda: store.signed_put_url(key, expires_in=60),
    }
    for name, call in calls.items():
        with pytest.raises(InvalidInput):
            call()
            pytest.fail(f"{name} accepted {key!r}")


@pytest.mark.parametrize("prefix", ["../", "/abs", "a//b/", "a\\"])
def test_invalid_prefixes_are_refused(blob_backend: BlobBackend, prefix: str) -> None:
    with pytest.raises(InvalidInput):
        list(blob_backend.store.list(prefix))
    with pytest.raises(InvalidInput):
        blob_backend.store.delete_prefix(prefix)


# signed URLs


ODD_KEY = "raw/p 1/a+b \u00e9%20.jpg"


@pytest.mark.parametrize("expires_in", [0, -1, 604_801])
def test_signed_url_expiry_must_be_1s_to_7_days(blob_backend: BlobBackend, expires_in: int) -> None:
    with pytest.raises(InvalidInput):
        blob_backend.store.signed_get_url(KEY, expires_in=expires_in)
    with pytest.raises(InvalidInput):
        blob_backend.store.signed_put_url(KEY, expires_in=expires_in)


def test_signed_get_url_serves_the_object(blob_backend: BlobBackend) -> None:
    blob_backend.store.put(ODD_KEY, BINARY, content_type="image/jpeg")
    url = blob_backend.store.signed_get_url(ODD_KEY, expires_in=604_800)
    reply = blob_backend.fetch(url)
    assert reply.status == 200
    assert reply.body == BINARY
    assert reply.headers["content-type"] == "image/jpeg"
    assert "content-disposition" not in reply.headers


def test_signed_get_url_with_filename_downloads_as_attachment(blob_backend: BlobBackend) -> None:
    blob_backend.store.put("exports/x.zip", b"PK")
    url = blob_backend.store.signed_get_url(
        "exports/x.zip", expires_in=60, filename="r\u00e9sum\u00e9 2026.zip"
    )
    reply = blob_backend.fetch(url)
    assert reply.status == 200 and reply.body == b"PK"
    disposition = reply.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%202026.zip" in disposition


def test_signed_get_url_of_absent_object_is_404(blob_backend: BlobBackend) -> None:
    reply = blob_backend.fetch(blob_backend.store.signed_get_url("raw/none.jpg", expires_in=60))
    assert reply.status == 404


def test_signed_put_url_stores_the_body(blob_backend: BlobBackend) -> None:
    store = blob_backend.store
    url = store.signed_put_url(ODD_KEY, expires_in=300, content_type="image/png")
    assert blob_backend.upload(url, BINARY, "image/png").status == 200
    assert store.get(ODD_KEY) == BINARY
    head = store.head(ODD_KEY)
    assert (head.size, head.etag, head.content_type) == (len(BINARY), md5_etag(BINARY), "image/png")


def test_signed_put_url_without_content_type_keeps_the_uploaders(
    blob_backend: BlobBackend,
) -> None:
    url = blob_backend.store.signed_put_url("up/notes", expires_in=300)
    assert blob_backend.upload(url, b"hello", "text/plain").status == 200
    assert blob_backend.store.head("up/notes").content_type == "text/plain"
    blob_backend.check(url, "PUT", blob_backend.now(), "anything/else")  # not bound


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_signed_urls_expire(blob_backend: BlobBackend, method: str) -> None:
    store = blob_backend.store
    start = blob_backend.now()
    url = (
        store.signed_get_url(KEY, expires_in=60)
        if method == "GET"
        else store.signed_put_url(KEY, expires_in=60)
    )
    blob_backend.check(url, method, start + timedelta(seconds=58), None)
    with pytest.raises(Forbidden):
        blob_backend.check(url, method, start + timedelta(seconds=61), None)


def test_signed_url_is_for_its_method_only(blob_backend: BlobBackend) -> None:
    now = blob_backend.now()
    get_url = blob_backend.store.signed_get_url(KEY, expires_in=60)
    put_url = blob_backend.store.signed_put_url(KEY, expires_in=60)
    blob_backend.check(get_url, "GET", now, None)
    blob_backend.check(put_url, "PUT", now, None)
    with pytest.raises(Forbidden):
        blob_backend.check(get_url, "PUT", now, None)
    with pytest.raises(Forbidden):
        blob_backend.check(put_url, "GET", now, None)


def test_signed_put_url_binds_its_content_type(blob_backend: BlobBackend) -> None:
    now = blob_backend.now()
    url = blob_backend.store.signed_put_url(KEY, expires_in=60, content_type="image/jpeg")
    blob_backend.check(url, "PUT", now, "image/jpeg")
    for other in ["image/png", None]:
        with pytest.raises(Forbidden):
            blob_backend.check(url, "PUT", now, other)


def _with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode(pairs)))


def test_any_tampering_is_refused(blob_backend: BlobBackend) -> None:
    now = blob_backend.now()
    url = blob_backend.store.signed_get_url(KEY, expires_in=600, filename="a.jpg")
    blob_backend.check(url, "GET", now, None)
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    tampered = [url.replace("item.jpg", "other.jpg", 1)]
    for index, (name, value) in enumerate(pairs):
        changed = value[:-1] + ("0" if value[-1:] != "0" else "1")
        tampered.append(_with_query(url, [*pairs[:index], (name, changed), *pairs[index + 1 :]]))
        tampered.append(_with_query(url, pairs[:index] + pairs[index + 1 :]))
    for bad in tampered:
        with pytest.raises(Forbidden):
            blob_backend.check(bad, "GET", now, None)
            pytest.fail(f"accepted {bad}")


# S3 specifics: what moto cannot enforce is at least present in the URL


def test_s3_presigned_url_carries_expiry_and_signed_headers(aws_env: None) -> None:
    store = make_s3_backend().store
    get_query = dict(parse_qsl(urlsplit(store.signed_get_url(KEY, expires_in=900)).query))
    assert get_query["X-Amz-Expires"] == "900"
    assert get_query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    put_url = store.signed_put_url(KEY, expires_in=60, content_type="image/png")
    put_query = dict(parse_qsl(urlsplit(put_url).query))
    assert put_query["X-Amz-Expires"] == "60"
    assert put_query["X-Amz-SignedHeaders"].split(";") == ["content-type", "host"]


def test_s3_delete_prefix_batches_delete_objects(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_s3_backend().store
    for index in range(7):
        store.put(f"batch/{index}.bin", b"x")
    store.put("batchless", b"x")
    calls: list[int] = []
    monkeypatch.setattr(s3_blobstore, "DELETE_BATCH", 3)
    store._client.meta.events.register(  # type: ignore[attr-defined]
        "before-call.s3.DeleteObjects",
        lambda **_: calls.append(1),
    )
    assert store.delete_prefix("batch/") == 7
    assert len(calls) == 3  # 3 + 3 + 1
    assert [info.key for info in store.list()] == ["batchless"]
