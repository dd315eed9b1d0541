"""Fixtures for the BlobStore contract suite (imported by the test modules; not a conftest,
so it cannot clash with other suites' fixtures).

`blob_backend` gives, for each adapter, the store plus the three things a signed URL is for,
done the way a client would on that backend:
- fetch / upload: GET / PUT the URL. Filesystem: through UrlSigner.parse_target and the
  store's open_signed_get / accept_signed_put, exactly what the local HTTP server calls.
  S3: with `requests`; moto's mock_aws intercepts requests to *.amazonaws.com (it registers
  its handlers with the `responses` library), so the URL goes through moto's S3 routing as
  a real request would, without a socket: path quoting, query parsing, response-* overrides.
- check: would the backend accept this URL for this method at time `at`? Filesystem:
  UrlSigner.verify with the clock set to `at`. S3: moto 5.2.5 checks neither signature nor
  expiry of presigned URLs (its IAM checks read only the Authorization header, and only when
  INITIAL_NO_AUTH_ACTION_COUNT is set), so `check_presigned_s3` recomputes the SigV4
  query signature with the client's credentials and applies X-Amz-Date + X-Amz-Expires, as S3
  does. It is written from the SigV4 spec, not with botocore's signer, so it is an
  independent check of the URLs we hand out.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import boto3
import pytest
import requests
from moto import mock_aws

from studiolab.adapters.aws.s3_blobstore import S3BlobStore
from studiolab.adapters.local.fs_blobstore import FilesystemBlobStore
from studiolab.adapters.local.url_signer import Op, UrlSigner
from studiolab.domain.errors import Forbidden, StudiolabError
from studiolab.domain.ports import BlobInfo, BlobStore

BUCKET = "studiolab-test-blobs"
REGION = "us-east-1"
BASE_URL = "http://127.0.0.1:8765"
SECRET = b"k" * 32
MAX_PUT_BYTES = 64 * 1024 * 1024
START = datetime(2026, 11, 2, 12, 0, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


class RecordingEvents:
    def __init__(self) -> None:
        self.created: list[BlobInfo] = []

    def object_created(self, info: BlobInfo) -> None:
        self.created.append(info)


class RecordingJobs:
    def __init__(self) -> None:
        self.submitted: list[tuple[str, dict[str, Any]]] = []

    def submit(self, topic: str, payload: Any) -> str:
        self.submitted.append((topic, dict(payload)))
        return f"job_{len(self.submitted)}"


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str]  # lower-case names


@dataclass
class BlobBackend:
    name: str
    store: BlobStore
    now: Callable[[], datetime]
    fetch: Callable[[str], Response]
    upload: Callable[[str, bytes, str | None], Response]
    check: Callable[[str, str, datetime, str | None], None]
    extra: dict[str, Any] = field(default_factory=dict)


# filesystem


def make_fs_backend(root: Path) -> BlobBackend:
    clock = FakeClock()
    signer = UrlSigner(SECRET, BASE_URL, clock)
    events = RecordingEvents()
    store = FilesystemBlobStore(root, signer, events=events)

    def fetch(url: str) -> Response:
        try:
            key, query = signer.parse_target(url)
            _, reader, headers = store.open_signed_get(key, query)
            with reader:
                body = b"".join(reader)
        except StudiolabError as error:
            return Response(error.http_status, error.message.encode(), {})
        return Response(200, body, {name.lower(): value for name, value in headers.items()})

    def upload(url: str, body: bytes, content_type: str | None) -> Response:
        try:
            key, query = signer.parse_target(url)
            store.accept_signed_put(
                key,
                query,
                io.BytesIO(body),
                len(body),
                max_bytes=MAX_PUT_BYTES,
                content_type=content_type,
            )
        except StudiolabError as error:
            return Response(error.http_status, error.message.encode(), {})
        return Response(200, b"", {})

    def check(url: str, method: str, at: datetime, content_type: str | None) -> None:
        saved = clock.now()
        clock.set(at)
        try:
            key, query = signer.parse_target(url)
            op: Op = "get" if method == "GET" else "put"
            signer.verify(op, key, query, content_type=content_type)
        finally:
            clock.set(saved)

    return BlobBackend(
        "filesystem", store, clock.now, fetch, upload, check, {"clock": clock, "events": events}
    )


# S3 under moto


@pytest.fixture(name="aws_env")
def aws_env_fixture(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Fake credentials and region, nothing from the developer's machine, all AWS mocked."""
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_SQS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    with mock_aws():
        yield


def make_s3_backend() -> BlobBackend:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    store = S3BlobStore(BUCKET)  # the production default client, credentials from the env
    # The secret the store's client signs with (mock_aws swaps in its own fake env creds).
    credentials = boto3.Session().get_credentials()
    assert credentials is not None
    secret_key = credentials.get_frozen_credentials().secret_key

    def fetch(url: str) -> Response:
        reply = requests.get(url, timeout=10)
        return Response(reply.status_code, reply.content, _lower(reply.headers))

    def upload(url: str, body: bytes, content_type: str | None) -> Response:
        headers = {"Content-Type": content_type} if content_type is not None else {}
        reply = requests.put(url, data=body, headers=headers, timeout=10)
        return Response(reply.status_code, reply.content, _lower(reply.headers))

    def check(url: str, method: str, at: datetime, content_type: str | None) -> None:
        headers = {"content-type": content_type} if content_type is not None else {}
        check_presigned_s3(url, method, at, headers, secret_key)

    return BlobBackend("s3", store, lambda: datetime.now(UTC), fetch, upload, check)


def _lower(headers: Any) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in headers.items()}


def check_presigned_s3(
    url: str, method: str, at: datetime, headers: dict[str, str], secret_key: str
) -> None:
    """Forbidden unless S3 would accept this SigV4 presigned URL for `method` at `at`
    (payload UNSIGNED-PAYLOAD, as botocore presigns S3 URLs)."""
    try:
        parts = urlsplit(url)
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
        query = dict(pairs)
        if len(query) != len(pairs) or query["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
            raise Forbidden("malformed presigned URL")
        date, region, service, terminator = query["X-Amz-Credential"].split("/")[1:]
        signed_headers = query["X-Amz-SignedHeaders"].split(";")
        values = {"host": parts.netloc, **{k.lower(): v for k, v in headers.items()}}
        canonical_query = "&".join(
            f"{_uri(name)}={_uri(value)}"
            for name, value in sorted(pairs)
            if name != "X-Amz-Signature"
        )
        canonical_request = "\n".join(
            [
                method,
                parts.path,
                canonical_query,
                "".join(f"{name}:{values[name].strip()}\n" for name in signed_headers),
                ";".join(signed_headers),
                "UNSIGNED-PAYLOAD",
            ]
        )
        scope = f"{date}/{region}/{service}/{terminator}"
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256",
                query["X-Amz-Date"],
                scope,
                hashlib.sha256(canonical_request.encode()).hexdigest(),
            ]
        )
        key = f"AWS4{secret_key}".encode()
        for part in (date, region, service, terminator):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires_in = int(query["X-Amz-Expires"])
        signature = query["X-Amz-Signature"]
    except (KeyError, ValueError) as error:
        raise Forbidden(f"malformed presigned URL: {error!r}") from error
    if not hmac.compare_digest(expected, signature):
        raise Forbidden("SignatureDoesNotMatch")
    if not 1 <= expires_in <= 604_800:
        raise Forbidden("X-Amz-Expires out of range")
    if at >= signed_at + timedelta(seconds=expires_in):
        raise Forbidden("Request has expired")


def _uri(text: str) -> str:
    return quote(text, safe="-_.~")


@pytest.fixture(name="blob_backend", params=["filesystem", "s3"])
def blob_backend_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> BlobBackend:
    if request.param == "s3":
        request.getfixturevalue("aws_env")
        return make_s3_backend()
    return make_fs_backend(tmp_path / "blobs")
