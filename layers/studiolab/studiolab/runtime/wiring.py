"""The one place that picks adapters. Everything else receives ports.

Lambda handlers call `get_context()` (built once per cold start from the environment);
`studiolab up` builds a local context and installs it for the in-process API."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from studiolab.adapters.system import SystemClock, UlidIds
from studiolab.domain.ports import BlobStore, Catalog, Clock, IdGenerator, Jobs
from studiolab.domain.s3events import parse_object_created
from studiolab.domain.taxonomy import Taxonomy, load_taxonomy
from studiolab.runtime.settings import Settings, settings_from_env

if TYPE_CHECKING:
    from studiolab.adapters.local.sqlite_jobs import SqliteJobQueue

log = logging.getLogger(__name__)

BLOB_CREATED = "blob.created"
JOB_TOPICS = (BLOB_CREATED,)

# Key prefix -> handler of S3-notification events, as S3 bucket notifications route them
# on AWS (CDK wires the same prefixes). Later issues register raw/ and cutout/ here.
BlobHandler = Callable[[dict[str, Any]], object]
BLOB_ROUTES: dict[str, BlobHandler] = {}


@dataclass
class AppContext:
    settings: Settings
    catalog: Catalog
    blobs: BlobStore
    jobs: Jobs
    clock: Clock
    ids: IdGenerator
    taxonomy: Taxonomy
    # Local mode only: the durable job table behind `jobs`, which `studiolab up` drains.
    job_queue: SqliteJobQueue | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for closer in reversed(self.closers):
            closer()
        self.closers.clear()


def build_local(settings: Settings) -> AppContext:
    from studiolab.adapters.local.blob_events import QueuedBlobEvents
    from studiolab.adapters.local.fs_blobstore import FilesystemBlobStore
    from studiolab.adapters.local.sqlite_catalog import SqliteCatalog
    from studiolab.adapters.local.sqlite_db import SqliteDatabase
    from studiolab.adapters.local.sqlite_jobs import SqliteJobQueue
    from studiolab.adapters.local.url_signer import UrlSigner, load_or_create_secret
    from studiolab.runtime.datadir import DataDir

    data_dir = DataDir(settings.data_dir).prepare()
    clock = SystemClock()
    database = SqliteDatabase(data_dir.catalog_path)
    jobs = SqliteJobQueue(database, clock=clock, topics=JOB_TOPICS)
    signer = UrlSigner(load_or_create_secret(data_dir.secret_path), settings.base_url, clock)
    blobs = FilesystemBlobStore(
        data_dir.blobs_path, signer, events=QueuedBlobEvents(jobs, bucket="local", clock=clock)
    )
    return AppContext(
        settings=settings,
        catalog=SqliteCatalog(database),
        blobs=blobs,
        jobs=jobs,
        clock=clock,
        ids=UlidIds(),
        taxonomy=load_taxonomy(settings.attributes_file),
        job_queue=jobs,
        closers=[database.close],
    )


def build_aws(settings: Settings) -> AppContext:
    from studiolab.adapters.aws.dynamodb_catalog import DynamoCatalog
    from studiolab.adapters.aws.lambda_jobs import LambdaJobs
    from studiolab.adapters.aws.s3_blobstore import S3BlobStore

    assert settings.table_name and settings.bucket_name  # checked by Settings
    return AppContext(
        settings=settings,
        catalog=DynamoCatalog(settings.table_name),
        blobs=S3BlobStore(settings.bucket_name),
        jobs=LambdaJobs(settings.functions),
        clock=SystemClock(),
        ids=UlidIds(),
        taxonomy=load_taxonomy(settings.attributes_file),
    )


def build_context(settings: Settings) -> AppContext:
    return build_aws(settings) if settings.mode == "aws" else build_local(settings)


_current: AppContext | None = None
_current_lock = threading.Lock()


def install(context: AppContext | None) -> None:
    """Make `context` the process-wide one (the local server; tests)."""
    global _current
    with _current_lock:
        _current = context


def get_context() -> AppContext:
    global _current
    with _current_lock:
        if _current is None:
            _current = build_context(settings_from_env())
        return _current


def route_blob_created(event: Mapping[str, Any]) -> None:
    """Local `blob.created` jobs: call the handler registered for the key's prefix with the
    S3-shaped event, as a bucket notification would on AWS. Unrouted prefixes are ignored."""
    for created in parse_object_created(event):
        for prefix, handler in BLOB_ROUTES.items():
            if created.key.startswith(prefix):
                handler(dict(event))
                break
        else:
            log.debug("no handler for blob %s", created.key)


def local_job_handlers() -> dict[str, Callable[[dict[str, Any]], object]]:
    return {BLOB_CREATED: route_blob_created}
