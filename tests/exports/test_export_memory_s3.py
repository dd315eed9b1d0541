"""Bounded memory while exporting (tracemalloc), and the export on the S3 blob store under
moto: multipart streaming works, and a failed export leaves no object and no open upload."""

from __future__ import annotations

import io
import os
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from moto import mock_aws

from studiolab.adapters.aws.s3_blobstore import S3BlobStore
from studiolab.adapters.local.sqlite_catalog import SqliteCatalog
from studiolab.adapters.local.sqlite_db import SqliteDatabase
from studiolab.domain.models import ItemFilter
from studiolab.services.exports import request_export, run_export
from tests.exports.helpers import (
    Env,
    FakeClock,
    RecordingJobs,
    SeqIds,
    add_image_item,
    make_env,
    make_project,
)
from tests.exports.test_export_service import FailingBlobs

MB = 1024 * 1024
BUCKET = "studiolab-export-test"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path)


def test_memory_stays_bounded_with_200_one_megabyte_images(env: Env) -> None:
    make_project(env.catalog)
    for n in range(200):
        add_image_item(env.catalog, env.blobs, f"it_{n:03d}", os.urandom(MB))
    export = request_export(env.catalog, env.jobs, env.ids, env.clock, "pr_1", ItemFilter())

    tracemalloc.start()
    try:
        export = run_export(env.catalog, env.blobs, env.clock, export.id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert export.status == "SUCCEEDED", export.error
    assert export.counts.images == 200 and export.counts.bytes > 200 * MB
    assert peak < 30 * MB, f"peak {peak / MB:.1f} MB"
    with zipfile.ZipFile(env.blobs.root / (export.blob_key or "")) as archive:
        assert archive.testzip() is None and len(archive.namelist()) == 203


@pytest.fixture
def s3_env(tmp_path: Path) -> Iterator[tuple[Env, Any, S3BlobStore]]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        blobs = S3BlobStore(
            BUCKET,
            client=client,
            transfer_config=TransferConfig(
                multipart_threshold=5 * MB, multipart_chunksize=5 * MB, max_concurrency=2
            ),
        )
        database = SqliteDatabase(tmp_path / "catalog.sqlite")
        catalog = SqliteCatalog(database)
        env = Env(catalog, cast(Any, blobs), FakeClock(), SeqIds(), RecordingJobs(), database)
        yield env, client, blobs
        database.close()


def test_export_to_s3_streams_a_multipart_upload(s3_env: tuple[Env, Any, S3BlobStore]) -> None:
    env, client, blobs = s3_env
    make_project(env.catalog)
    for n in range(48):
        add_image_item(env.catalog, blobs, f"it_{n:02d}", os.urandom(256 * 1024))
    export = request_export(env.catalog, env.jobs, env.ids, env.clock, "pr_1", ItemFilter())
    export = run_export(env.catalog, blobs, env.clock, export.id)

    assert export.status == "SUCCEEDED", export.error
    key = export.blob_key or ""
    head = client.head_object(Bucket=BUCKET, Key=key)
    assert head["ContentType"] == "application/zip"
    assert "-" in head["ETag"]  # a multipart upload's ETag: "<md5 of md5s>-<parts>"
    assert int(head["ETag"].strip('"').split("-")[1]) >= 3
    assert export.counts.bytes == head["ContentLength"] > 12 * MB
    with zipfile.ZipFile(io.BytesIO(blobs.get(key))) as archive:
        assert archive.testzip() is None and len(archive.namelist()) == 51


def test_failed_export_on_s3_leaves_no_object_nor_open_upload(
    s3_env: tuple[Env, Any, S3BlobStore],
) -> None:
    env, client, blobs = s3_env
    make_project(env.catalog)
    for n in range(60):
        add_image_item(env.catalog, blobs, f"it_{n:02d}", os.urandom(256 * 1024))
    export = request_export(env.catalog, env.jobs, env.ids, env.clock, "pr_1", ItemFilter())
    failing = FailingBlobs(blobs, fail_on=50)  # after ~12 MB: parts already uploaded
    export = run_export(env.catalog, failing, env.clock, export.id)

    assert export.status == "FAILED" and "storage went away" in (export.error or "")
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="exports/")
    assert listed.get("KeyCount", 0) == 0
    assert client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
