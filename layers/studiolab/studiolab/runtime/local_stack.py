"""`studiolab up`: lock the data dir, bind the port, wire local adapters, recover pending
jobs, start workers and serve until Ctrl-C / SIGTERM; then stop in reverse order."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from studiolab.adapters.local.workers import WorkerPool
from studiolab.runtime.datadir import DataDir
from studiolab.runtime.server import DEFAULT_WEB_DIR, LocalServer, load_api_app
from studiolab.runtime.settings import Settings
from studiolab.runtime.wiring import (
    AppContext,
    build_local,
    install,
    local_job_handlers,
    run_control,
)

log = logging.getLogger(__name__)


@dataclass
class LocalStack:
    settings: Settings
    data_dir: DataDir = field(init=False)
    server: LocalServer = field(init=False)
    context: AppContext = field(init=False)
    workers: WorkerPool = field(init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _reconciler: threading.Thread | None = field(default=None, init=False)
    _stop_reconciler: threading.Event = field(default_factory=threading.Event, init=False)

    def start(self) -> str:
        """Start everything; returns the base URL. Raises AlreadyRunning / DataDirError /
        OSError (port taken) before anything is written."""
        self.data_dir = DataDir(self.settings.data_dir).prepare()
        self.data_dir.lock()
        try:
            self.server = LocalServer(self.settings.host, self.settings.port)
        except OSError:
            self.data_dir.unlock()
            raise
        try:
            port = self.server.server_address[1]
            self.settings = self.settings.model_copy(update={"port": port})
            self.context = build_local(self.settings)
            install(self.context)
            queue = self.context.job_queue
            assert queue is not None, "build_local always sets the job queue"
            recovered = queue.recover_after_restart()
            if recovered:
                log.info("re-queued %d jobs left running by a previous process", recovered)
            self.workers = WorkerPool(queue, local_job_handlers(), threads=self.settings.workers)
            self.workers.start()
            self._start_reconciler()
            self.server.attach(
                api_app=load_api_app(),
                blobs=self.context.blobs,
                web_dir=self.settings.web_dir or DEFAULT_WEB_DIR,
                max_upload_bytes=self.settings.max_upload_bytes,
                api_concurrency=self.settings.api_concurrency,
            )
        except BaseException:
            self.server.server_close()
            self.data_dir.unlock()
            raise
        return self.settings.base_url

    def _start_reconciler(self) -> None:
        """Crawl runs whose execution was lost (this process restarted) are resumed at once,
        then every `reconcile_interval_s` the reconciler repairs runs whose execution ended."""
        self._stop_reconciler.clear()
        self._reconciler = threading.Thread(
            target=self._reconcile_loop, name="studiolab-reconciler", daemon=True
        )
        self._reconciler.start()

    def _reconcile_loop(self) -> None:
        while True:
            try:
                for repair in run_control().reconcile():
                    log.info("run %s: %s", repair.run_id, repair.action)
            except Exception:
                log.exception("reconciling crawl runs failed")
            if self._stop_reconciler.wait(self.settings.reconcile_interval_s):
                return

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.2)

    def serve_in_background(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, name="studiolab-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Graceful: stop accepting requests, let running jobs finish, close the database."""
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(timeout=10)
        self.server.server_close()
        self._stop_reconciler.set()
        if self._reconciler is not None:
            self._reconciler.join(timeout=30)
        self.workers.stop(timeout=30)
        install(None)
        self.context.close()
        self.data_dir.unlock()
