"""BlobStore on S3 (the only module that talks to S3).

Keys go through check_key like the local store, so a key that works here works locally.
Missing objects are NotFound; any other S3 or transport failure is BackendError. The IAM role
needs s3:ListBucket on the bucket: without it S3 answers 403 instead of 404 for a missing key,
which would surface as BackendError rather than NotFound.

Writes emit no event here: S3 sends its own bucket notification (see S3NotificationEvents).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from studiolab.domain.blobkeys import check_key, check_prefix
from studiolab.domain.blobrules import (
    check_content_type,
    check_expires_in,
    content_disposition,
    default_content_type,
)
from studiolab.domain.errors import BackendError, InvalidInput, NotFound
from studiolab.domain.ports import BlobInfo

DELETE_BATCH = 1000  # DeleteObjects maximum
_MB = 1024 * 1024
# put_stream buffers about (max_concurrency + 1) parts: ~40 MB, fine for a 512 MB+ Lambda.
DEFAULT_TRANSFER = TransferConfig(
    multipart_threshold=8 * _MB, multipart_chunksize=8 * _MB, max_concurrency=4
)
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


def default_client() -> Any:
    """SigV4 (required for presigned URLs in newer regions and for KMS), standard retries."""
    return boto3.client("s3", config=Config(signature_version="s3v4", retries={"mode": "standard"}))


class S3BlobStore:
    read_ahead = 8  # GETs are latency-bound: bulk readers overlap them

    def __init__(
        self,
        bucket: str,
        *,
        client: Any | None = None,
        transfer_config: TransferConfig | None = None,
    ) -> None:
        if not bucket:
            raise InvalidInput("bucket name is empty", fields={"bucket": "empty"})
        self._bucket = bucket
        self._client = client if client is not None else default_client()
        self._transfer = transfer_config or DEFAULT_TRANSFER

    @property
    def bucket(self) -> str:
        return self._bucket

    # writes

    def put(self, key: str, data: bytes, *, content_type: str | None = None) -> BlobInfo:
        check_key(key)
        content_type = default_content_type(key, content_type)
        with _translate(key):
            response = self._client.put_object(
                Bucket=self._bucket, Key=key, Body=data, ContentType=content_type
            )
        return BlobInfo(key, len(data), response["ETag"], content_type, _response_date(response))

    def put_stream(
        self, key: str, source: BinaryIO, *, content_type: str | None = None
    ) -> BlobInfo:
        """Multipart above 8 MB, reading `source` part by part (bounded memory)."""
        check_key(key)
        content_type = default_content_type(key, content_type)
        with _translate(key):
            self._client.upload_fileobj(
                source,
                self._bucket,
                key,
                ExtraArgs={"ContentType": content_type},
                Config=self._transfer,
            )
        return self.head(key)

    def delete(self, key: str) -> None:
        check_key(key)
        with _translate(key):
            self._client.delete_object(Bucket=self._bucket, Key=key)

    def delete_prefix(self, prefix: str) -> int:
        if not prefix:
            raise InvalidInput("delete_prefix needs a non-empty prefix", fields={"prefix": "empty"})
        check_prefix(prefix)
        deleted = 0
        batch: list[str] = []
        for info in self.list(prefix):
            batch.append(info.key)
            if len(batch) == DELETE_BATCH:
                deleted += self._delete_batch(batch)
                batch = []
        if batch:
            deleted += self._delete_batch(batch)
        return deleted

    def _delete_batch(self, keys: list[str]) -> int:
        with _translate(keys[0]):
            response = self._client.delete_objects(
                Bucket=self._bucket,
                Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
            )
        errors = response.get("Errors") or []
        if errors:
            first = errors[0]
            raise BackendError(
                f"S3 refused to delete {len(errors)} of {len(keys)} objects, e.g. "
                f"{first.get('Key')!r}: {first.get('Code')} {first.get('Message')}"
            )
        return len(keys)

    # reads

    def get(self, key: str) -> bytes:
        check_key(key)
        with _translate(key):
            response = self._client.get_object(Bucket=self._bucket, Key=key)
            body = response["Body"]
            try:
                data: bytes = body.read()
            finally:
                body.close()
        return data

    def stream(self, key: str, *, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        check_key(key)  # invalid keys fail now, absent ones on the first next()
        if chunk_size < 1:
            raise InvalidInput("chunk_size must be positive", fields={"chunk_size": "< 1"})
        return self._chunks(key, chunk_size)

    def _chunks(self, key: str, chunk_size: int) -> Iterator[bytes]:
        with _translate(key):
            body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
            try:
                yield from body.iter_chunks(chunk_size)
            finally:
                body.close()

    def head(self, key: str) -> BlobInfo:
        check_key(key)
        with _translate(key):
            response = self._client.head_object(Bucket=self._bucket, Key=key)
        return BlobInfo(
            key=key,
            size=int(response["ContentLength"]),
            etag=response["ETag"],
            content_type=response.get("ContentType"),
            last_modified=_utc(response["LastModified"]),
        )

    def exists(self, key: str) -> bool:
        try:
            self.head(key)
        except NotFound:
            return False
        return True

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """S3 order (UTF-8 bytes). content_type is None: ListObjectsV2 does not return it."""
        check_prefix(prefix)
        paginator = self._client.get_paginator("list_objects_v2")
        with _translate(prefix):
            for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield BlobInfo(
                        key=item["Key"],
                        size=int(item["Size"]),
                        etag=item["ETag"],
                        content_type=None,
                        last_modified=_utc(item["LastModified"]),
                    )

    # presigned URLs

    def signed_get_url(self, key: str, *, expires_in: int, filename: str | None = None) -> str:
        check_key(key)
        check_expires_in(expires_in)
        params: dict[str, str] = {"Bucket": self._bucket, "Key": key}
        if filename is not None:
            params["ResponseContentDisposition"] = content_disposition(filename)
        with _translate(key):
            url: str = self._client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires_in
            )
        return url

    def signed_put_url(self, key: str, *, expires_in: int, content_type: str | None = None) -> str:
        """With `content_type`, Content-Type is a signed header: the PUT must send exactly it.
        Without, the uploader's Content-Type header is stored (S3's rule)."""
        check_key(key)
        check_expires_in(expires_in)
        params: dict[str, str] = {"Bucket": self._bucket, "Key": key}
        if content_type is not None:
            params["ContentType"] = check_content_type(content_type)
        with _translate(key):
            url: str = self._client.generate_presigned_url(
                "put_object", Params=params, ExpiresIn=expires_in
            )
        return url


@contextmanager
def _translate(key: str) -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in _NOT_FOUND_CODES:
            raise NotFound(f"no blob {key!r}") from error
        raise BackendError(f"S3 error on {key!r}: {code or error}") from error
    except (BotoCoreError, Boto3Error) as error:
        raise BackendError(f"S3 unavailable on {key!r}: {error}") from error


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _response_date(response: dict[str, Any]) -> datetime:
    """Last-Modified of a fresh PutObject is its Date header (both whole seconds)."""
    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if date:
        try:
            return parsedate_to_datetime(date).astimezone(UTC)
        except (TypeError, ValueError):
            pass
    return datetime.now(UTC).replace(microsecond=0)
