"""UrlSigner and the signing secret: the local half of signed blob URLs."""

from __future__ import annotations

import hmac
import os
import stat
import threading
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from studiolab.adapters.local import url_signer
from studiolab.adapters.local.url_signer import (
    UrlSigner,
    load_or_create_secret,
)
from studiolab.domain.blobrules import content_disposition
from studiolab.domain.errors import DataDirError, Forbidden, InvalidInput, NotFound
from tests.contract.blob_fixtures import START, FakeClock

SECRET = b"s" * 32
BASE = "http://127.0.0.1:8765"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def signer(clock: FakeClock) -> UrlSigner:
    return UrlSigner(SECRET, BASE, clock)


def split(signer: UrlSigner, url: str) -> tuple[str, dict[str, str]]:
    return signer.parse_target(url)


def test_url_format(signer: UrlSigner) -> None:
    url = signer.sign("get", "raw/p 1/a+b \u00e9.jpg", 3600)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE
    assert parts.path == "/blobs/raw/p%201/a%2Bb%20%C3%A9.jpg"
    query = dict(parse_qsl(parts.query))
    assert list(query) == ["op", "exp", "sig"]
    assert query["op"] == "get"
    assert int(query["exp"]) == int(START.timestamp()) + 3600
    assert len(query["sig"]) == 64 and int(query["sig"], 16) >= 0


def test_sign_then_verify_roundtrip(signer: UrlSigner) -> None:
    key = "raw/p 1/a+b \u00e9%41.jpg"
    url = signer.sign("put", key, 60, content_type="image/png")
    parsed_key, query = split(signer, url)
    assert parsed_key == key
    request = signer.verify("put", parsed_key, query, content_type="image/png")
    assert (request.op, request.key, request.content_type, request.filename) == (
        "put",
        key,
        "image/png",
        None,
    )
    assert int(request.expires_at.timestamp()) == int(START.timestamp()) + 60


def test_filename_is_signed_and_returned(signer: UrlSigner) -> None:
    key, query = split(signer, signer.sign("get", "e/x.zip", 60, filename="r\u00e9sum\u00e9.zip"))
    assert signer.verify("get", key, query).filename == "r\u00e9sum\u00e9.zip"


@pytest.mark.parametrize("expires_in", [0, -5, 604_801, True, 1.5, "60"])
def test_expires_in_out_of_range(signer: UrlSigner, expires_in: object) -> None:
    with pytest.raises(InvalidInput):
        signer.sign("get", "a", expires_in)  # type: ignore[arg-type]


@pytest.mark.parametrize("expires_in", [1, 604_800])
def test_expires_in_bounds_accepted(signer: UrlSigner, expires_in: int) -> None:
    signer.sign("get", "a", expires_in)


def test_expires_exactly_at_exp(signer: UrlSigner, clock: FakeClock) -> None:
    key, query = split(signer, signer.sign("get", "a", 10))
    clock.advance(9.999)
    signer.verify("get", key, query)
    clock.advance(0.001)
    with pytest.raises(Forbidden, match="expired"):
        signer.verify("get", key, query)


def test_op_mismatch(signer: UrlSigner) -> None:
    key, query = split(signer, signer.sign("get", "a", 10))
    with pytest.raises(Forbidden):
        signer.verify("put", key, query)


@pytest.mark.parametrize("field", ["op", "exp", "sig", "filename"])
def test_missing_or_changed_fields(signer: UrlSigner, field: str) -> None:
    key, query = split(signer, signer.sign("get", "a/b", 100, filename="f.txt"))
    without = {name: value for name, value in query.items() if name != field}
    with pytest.raises(Forbidden):
        signer.verify("get", key, without)
    changed = dict(query, **{field: query[field] + "1"})
    with pytest.raises(Forbidden):
        signer.verify("get", key, changed)


def test_adding_a_filename_or_content_type_breaks_the_signature(signer: UrlSigner) -> None:
    key, query = split(signer, signer.sign("put", "a/b", 100))
    for extra in ({"filename": "x"}, {"content_type": "text/html"}):
        with pytest.raises(Forbidden):
            signer.verify("put", key, {**query, **extra})


def test_other_key_or_secret_is_refused(signer: UrlSigner, clock: FakeClock) -> None:
    key, query = split(signer, signer.sign("get", "a/b", 100))
    with pytest.raises(Forbidden):
        signer.verify("get", "a/c", query)
    with pytest.raises(Forbidden):
        UrlSigner(b"t" * 32, BASE, clock).verify("get", key, query)


def test_malformed_signature_and_expiry(signer: UrlSigner) -> None:
    key, query = split(signer, signer.sign("get", "a", 100))
    for bad in (
        {"sig": query["sig"].upper()},
        {"sig": query["sig"][:-1]},
        {"exp": "-1"},
        {"exp": "1e9"},
        {"exp": "\u0661\u0662"},  # Arabic-Indic digits: int() accepts them, we do not
    ):
        with pytest.raises(Forbidden):
            signer.verify("get", key, {**query, **bad})


def test_uses_constant_time_comparison(signer: UrlSigner, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    key, query = split(signer, signer.sign("get", "a", 100))
    signer.verify("get", key, query)
    assert seen and seen[0][1] == query["sig"]


def test_put_content_type_binding(signer: UrlSigner) -> None:
    key, query = split(signer, signer.sign("put", "a.png", 100, content_type="image/png"))
    signer.verify("put", key, query, content_type="image/png")
    for other in ("image/jpeg", None, "IMAGE/PNG"):
        with pytest.raises(Forbidden):
            signer.verify("put", key, query, content_type=other)
    key, query = split(signer, signer.sign("put", "a.png", 100))
    signer.verify("put", key, query, content_type="anything/goes")


def test_invalid_key_is_invalid_input_not_forbidden(signer: UrlSigner) -> None:
    with pytest.raises(InvalidInput):
        signer.sign("get", "../etc/passwd", 10)
    with pytest.raises(InvalidInput):
        signer.verify("get", "../etc/passwd", {"op": "get", "exp": "1", "sig": "0" * 64})


@pytest.mark.parametrize("filename", ["", "a\r\nSet-Cookie: x", "a/b", "a\\b", "x" * 256])
def test_bad_filenames(signer: UrlSigner, filename: str) -> None:
    with pytest.raises(InvalidInput):
        signer.sign("get", "a", 10, filename=filename)


@pytest.mark.parametrize("content_type", ["", "text/html\r\nX: y", "t\u00e9xt/plain"])
def test_bad_content_types(signer: UrlSigner, content_type: str) -> None:
    with pytest.raises(InvalidInput):
        signer.sign("put", "a", 10, content_type=content_type)


def test_parse_target(signer: UrlSigner) -> None:
    assert split(signer, "/blobs/a%2Fb/c%20d?op=get&exp=1") == (
        "a/b/c d",
        {"op": "get", "exp": "1"},
    )
    with pytest.raises(NotFound):
        split(signer, "/api/projects")
    with pytest.raises(Forbidden):
        split(signer, "/blobs/a?op=get&op=put")


def test_base_url_with_a_path(clock: FakeClock) -> None:
    signer = UrlSigner(SECRET, "http://localhost:9000/studio/", clock)
    url = signer.sign("get", "k", 10)
    assert url.startswith("http://localhost:9000/studio/blobs/k?")
    assert signer.route == "/studio/blobs/"
    key, query = signer.parse_target(urlsplit(url).path + "?" + urlsplit(url).query)
    signer.verify("get", key, query)


@pytest.mark.parametrize("base", ["127.0.0.1:8000", "ftp://x", "http://h/?q=1"])
def test_bad_base_url(clock: FakeClock, base: str) -> None:
    with pytest.raises(InvalidInput):
        UrlSigner(SECRET, base, clock)


def test_short_secret(clock: FakeClock) -> None:
    with pytest.raises(InvalidInput):
        UrlSigner(b"short", BASE, clock)


def test_content_disposition() -> None:
    assert content_disposition("a.zip") == 'attachment; filename="a.zip"'
    assert content_disposition('q"%\u00e9.zip') == (
        "attachment; filename=\"q___.zip\"; filename*=UTF-8''q%22%25%C3%A9.zip"
    )


# the secret


def test_secret_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / "url-secret"
    first = load_or_create_secret(path)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first  # survives a restart
    assert sorted(p.name for p in path.parent.iterdir()) == ["url-secret"]  # no temp left


def test_urls_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "url-secret"
    url = UrlSigner(load_or_create_secret(path), BASE, clock).sign("get", "a", 60)
    restarted = UrlSigner(load_or_create_secret(path), BASE, clock)
    key, query = restarted.parse_target(url)
    restarted.verify("get", key, query)


def test_losing_the_race_keeps_the_winners_secret(tmp_path: Path) -> None:
    path = tmp_path / "url-secret"
    path.write_bytes(b"w" * 32)
    url_signer._create_secret(path)  # as if another process created it just before us
    assert path.read_bytes() == b"w" * 32
    assert [p.name for p in tmp_path.iterdir()] == ["url-secret"]


def test_concurrent_creation_agrees(tmp_path: Path) -> None:
    path = tmp_path / "url-secret"
    results: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: results.append(load_or_create_secret(path)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results) == 8


def test_corrupt_secret_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "url-secret"
    path.write_bytes(b"too short")
    with pytest.raises(DataDirError):
        load_or_create_secret(path)


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_loose_mode_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "url-secret"
    path.write_bytes(b"x" * 32)
    path.chmod(0o644)
    assert load_or_create_secret(path) == b"x" * 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_query_encoding_roundtrip_of_odd_values(signer: UrlSigner) -> None:
    url = signer.sign("get", "a", 60, filename="a&b=c+d %.zip")
    key, query = signer.parse_target(url)
    assert query["filename"] == "a&b=c+d %.zip"
    signer.verify("get", key, query)
    assert "filename=" + urlencode({"x": "a&b=c+d %.zip"})[2:] in url
