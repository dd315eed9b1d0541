"""The one place that picks adapters. Everything else receives ports.

Lambda handlers call `get_context()` (built once per cold start from the environment);
`studiolab up` builds a local context and installs it for the in-process API."""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from studiolab.adapters.system import SystemClock, UlidIds
from studiolab.domain.ports import BlobStore, Catalog, Clock, IdGenerator, Jobs, Workflows
from studiolab.domain.s3events import parse_object_created
from studiolab.domain.taxonomy import Taxonomy, load_taxonomy
from studiolab.runtime.settings import Settings, settings_from_env

if TYPE_CHECKING:
    from studiolab.adapters.local.sqlite_jobs import SqliteJobQueue
    from studiolab.crawl.fetch_types import Fetcher
    from studiolab.domain.models import Crawler
    from studiolab.services.crawl_engine import CrawlEngine, FetcherFactory
    from studiolab.services.images import ImagePipeline
    from studiolab.services.runs import RunControl

log = logging.getLogger(__name__)

BLOB_CREATED = "blob.created"
EXPORT_RUN = "export.run"
JOB_TOPICS = (BLOB_CREATED, EXPORT_RUN)

REPO_ROOT = Path(__file__).resolve().parents[4]
FUNCTIONS_DIR = REPO_ROOT / "functions"
# Key prefix -> the Lambda handler S3 bucket notifications invoke on AWS (CDK wires the same
# prefixes); locally the `blob.created` job calls the very same handler file.
BLOB_ROUTES: dict[str, Path] = {
    "raw/": FUNCTIONS_DIR / "vision" / "handler.py",
    "cutout/": FUNCTIONS_DIR / "palette" / "handler.py",
}
STATE_MACHINES_DIR = REPO_ROOT / "infra" / "statemachines"
CRAWL_STEPS_HANDLER = FUNCTIONS_DIR / "crawl_steps" / "handler.py"
EXPORT_HANDLER = FUNCTIONS_DIR / "export" / "handler.py"
# Step name (the ASL's `${<Step>Arn}` placeholder) -> entry point in CRAWL_STEPS_HANDLER.
CRAWL_STEPS: dict[str, str] = {
    "StartRun": "start_run",
    "FetchBatch": "fetch_batch",
    "DownloadImage": "download_image",
    "FinishRun": "finish_run",
    "FailRun": "fail_run",
    "ContinueAsNew": "continue_as_new",
}


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
    # Crawl runs: the workflow engine (Step Functions / in-process moto) and, for tests, a
    # replacement for the default httpx fetcher factory.
    workflows: Workflows | None = None
    fetcher_factory: FetcherFactory | None = None
    _crawl_engine: CrawlEngine | None = field(default=None, repr=False)

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
    workflows = local_workflows()
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
        closers=[database.close, workflows.close],
        workflows=workflows,
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
        workflows=_aws_workflows(settings),
    )


def _aws_workflows(settings: Settings) -> Workflows | None:
    if not settings.state_machines:
        return None
    from studiolab.adapters.aws.stepfunctions_workflows import StepFunctionsWorkflows

    return StepFunctionsWorkflows(settings.state_machines, region=settings.region)


def _crawl_step(attribute: str) -> Callable[[Any, Any], Any]:
    def call(event: Any, context: Any) -> Any:
        return getattr(load_module(CRAWL_STEPS_HANDLER), attribute)(event, context)

    call.__name__ = attribute
    return call


def local_workflows() -> Any:
    """The in-process Step Functions engine over infra/statemachines (opened lazily, on the
    first start/stop/describe: building a local context does not start moto)."""
    from studiolab.adapters.local.moto_workflows import MotoWorkflows

    machines = {p.name.removesuffix(".asl.json"): p for p in STATE_MACHINES_DIR.glob("*.asl.json")}
    return MotoWorkflows(machines, {step: _crawl_step(a) for step, a in CRAWL_STEPS.items()})


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


def image_pipeline() -> ImagePipeline:
    """The image pipeline service over the current context's ports."""
    from studiolab.services.images import ImagePipeline

    context = get_context()
    return ImagePipeline(
        catalog=context.catalog,
        blobs=context.blobs,
        clock=context.clock,
        model=context.settings.segment_model,
        max_colors=context.settings.max_colors,
        models_dir=context.settings.models_dir,
    )


def default_fetcher_factory(settings: Settings) -> FetcherFactory:
    from studiolab.adapters.http.httpx_fetcher import HttpxFetcher
    from studiolab.crawl.fetch_types import FetchSettings

    def make(crawler: Crawler) -> Fetcher:
        return HttpxFetcher(
            FetchSettings.for_crawler(crawler, allow_private_hosts=list(settings.crawl_allow_hosts))
        )

    return make


def crawl_engine() -> CrawlEngine:
    """The crawl engine over the current context's ports (one per context: its fetchers keep
    robots.txt caches and politeness throttles between batches)."""
    from studiolab.services.crawl_engine import CrawlEngine, EngineConfig

    context = get_context()
    with _current_lock:
        if context._crawl_engine is None:
            settings = context.settings
            context._crawl_engine = CrawlEngine(
                context.catalog,
                context.blobs,
                context.clock,
                context.fetcher_factory or default_fetcher_factory(settings),
                EngineConfig(
                    batch_pages=settings.crawl_batch_pages,
                    batch_images=settings.crawl_batch_images,
                    max_depth=settings.crawl_max_depth,
                    extract_processes=settings.extract_processes
                    if settings.extract_processes is not None or settings.mode == "local"
                    else 0,
                ),
            )
        return context._crawl_engine


def run_control() -> RunControl:
    """Run control over the current context's ports."""
    from studiolab.services.runs import RunControl

    context = get_context()
    if context.workflows is None:
        from studiolab.domain.errors import ConfigError

        raise ConfigError("no workflow engine configured (STUDIOLAB_STATE_MACHINES)")
    return RunControl(
        context.catalog,
        context.workflows,
        context.clock,
        context.ids,
        iteration_limit=context.settings.crawl_iteration_limit,
    )


@cache
def load_module(path: Path) -> ModuleType:
    """Import a file that is not part of a package (a Lambda entry point, the Chalice app)."""
    name = "studiolab_entry_" + "_".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def route_blob_created(event: Mapping[str, Any]) -> None:
    """Local `blob.created` jobs: call the Lambda handler registered for the key's prefix with
    a one-record S3 event, as a bucket notification would on AWS. Other prefixes (thumbnails,
    masks, exports) have no subscriber, as on AWS."""
    for created in parse_object_created(event):
        for prefix, handler_path in BLOB_ROUTES.items():
            if created.key.startswith(prefix):
                load_module(handler_path).lambda_handler(dict(event), None)
                break
        else:
            log.debug("no handler for blob %s", created.key)


def run_export_job(payload: Mapping[str, Any]) -> object:
    """Local `export.run` jobs: the same handler file the AWS async invoke runs."""
    return load_module(EXPORT_HANDLER).lambda_handler(dict(payload), None)


def local_job_handlers() -> dict[str, Callable[[dict[str, Any]], object]]:
    return {BLOB_CREATED: route_blob_created, EXPORT_RUN: run_export_job}
