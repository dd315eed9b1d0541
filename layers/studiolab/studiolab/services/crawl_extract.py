"""A fetched product/listing page analysed: its product (generic extraction) and its links
(products, next pages, other on-site pages), in this thread or in a process pool.

Extraction is pure CPU (lxml, parsel, JSON) and the crawl thread's bottleneck, so by default
in local mode it runs in a pool of worker processes (`ExtractPool`) fed as each page arrives
while the rest of the batch is still being fetched; pages go over as (bytes, url, selectors)
and come back as plain dicts (`PageAnalysis.to_payload`), rebuilt by the same model.

Safe by construction:
- off where multiprocessing cannot work: AWS Lambda (no /dev/shm, so no semaphores) or any
  machine where the pool fails to start: extraction then runs in the crawl thread, and the
  results are the same (tests/crawl/test_extract_pool.py compares both on every fixture);
- a page is never re-analysed in the crawl thread after a worker hung or crashed on it (a
  page that hangs or kills the parser would then hang or kill the crawl step). A page whose
  worker does not answer within `timeout_s` while no other page of the pool is unfinished
  fails as a page: `ExtractionTimeout` (the engine counts it in pages_failed and goes on).
  When the pool breaks (a worker died: BrokenProcessPool, culprit unknown) or times out
  with other pages unfinished, its processes are killed and every page it still held is
  re-run alone in a one-worker isolation pool, one page at a time: the innocent pages get
  their analysis, the culprit fails alone (`ExtractionCrashed` / `ExtractionTimeout`).
  `fallbacks` counts re-runs, `failures` failed pages; the next page gets a fresh pool.

STUDIOLAB_EXTRACT_PROCESSES: unset = automatic, 0 = always in-thread, N = N workers (where
multiprocessing works). Automatic: one worker per usable core in local mode with 2+ cores;
in-thread with 1 core, on Lambda and in aws mode. Measured on 2 cores (bench/results/
crawl.md): the pool costs ~+0.3 ms CPU per page of hand-over, so it pays when a core is
free (1.3x the in-thread pages/s on a quiet machine) and loses a little when other jobs
already keep both cores busy (0.9x in an earlier run under load average ~4.5).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Mapping
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, ClassVar, NoReturn

from studiolab.crawl.discover import listing_links
from studiolab.crawl.extract import extract_page
from studiolab.crawl.extract.page import load_page
from studiolab.crawl.links import site_links
from studiolab.crawl.product import Extraction
from studiolab.domain.errors import StudiolabError

log = logging.getLogger(__name__)

ENV_PROCESSES = "STUDIOLAB_EXTRACT_PROCESSES"
DEFAULT_TIMEOUT_S = 30.0


class ExtractionFailed(StudiolabError):
    """A page's extraction worker hung or crashed on it: the page fails, the crawl goes on."""

    code: ClassVar[str] = "extraction_failed"
    title: ClassVar[str] = "extraction failed"

    def __init__(self, url: str, detail: str = "") -> None:
        self.url = url
        message = f"{self.title}: {url}" + (f" ({detail})" if detail else "")
        super().__init__(message, fields={"url": url})


class ExtractionTimeout(ExtractionFailed):
    code = "extraction_timeout"
    title = "extraction timed out"


class ExtractionCrashed(ExtractionFailed):
    code = "extraction_crashed"
    title = "extraction worker crashed"


@dataclass
class PageAnalysis:
    extraction: Extraction
    product_urls: list[str] = field(default_factory=list)
    next_pages: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # other on-site pages (see site_links)

    def to_payload(self) -> dict[str, Any]:
        return {
            "extraction": self.extraction.model_dump(),
            "product_urls": self.product_urls,
            "next_pages": self.next_pages,
            "links": self.links,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> PageAnalysis:
        return cls(
            extraction=Extraction.model_validate(payload["extraction"]),
            product_urls=list(payload["product_urls"]),
            next_pages=list(payload["next_pages"]),
            links=list(payload["links"]),
        )


def analyse(body: str | bytes, url: str, selectors: Mapping[str, str] | None) -> PageAnalysis:
    """The page's product and links, parsed once."""
    page = load_page(body, url)
    extraction = extract_page(page, selectors=selectors or None)
    listing = listing_links(body, url, selectors=selectors or None, page=page)
    return PageAnalysis(
        extraction=extraction,
        product_urls=listing.product_urls,
        next_pages=listing.next_pages,
        links=site_links(page, exclude=(*listing.product_urls, *listing.next_pages)),
    )


def analyse_payload(body: bytes, url: str, selectors: dict[str, str] | None) -> dict[str, Any]:
    """The worker side of the pool: `analyse` as plain data."""
    return analyse(body, url, selectors).to_payload()


def multiprocessing_usable() -> bool:
    """False on AWS Lambda and wherever POSIX semaphores cannot be made (no /dev/shm)."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or os.environ.get("AWS_EXECUTION_ENV"):
        return False
    shm = "/dev/shm"  # noqa: S108 - probed, not written to
    return os.name != "posix" or os.access(shm, os.W_OK)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_processes(setting: int | None = None) -> int:
    """Workers to use: the setting (or STUDIOLAB_EXTRACT_PROCESSES) when given, else one per
    core in local mode with >= 2 cores; 0 (in-thread) on Lambda, in aws mode or on 1 core."""
    if setting is None:
        raw = os.environ.get(ENV_PROCESSES, "").strip()
        if raw:
            try:
                setting = max(0, int(raw))
            except ValueError:
                log.warning("%s=%r is not a number: extraction stays in-thread", ENV_PROCESSES, raw)
                return 0
    if not multiprocessing_usable():
        return 0
    if setting is not None:
        return setting
    if os.environ.get("STUDIOLAB_MODE", "local").strip().lower() != "local":
        return 0
    cores = _cores()
    return cores if cores >= 2 else 0


class Pending:
    """One page handed to the pool (or not: `future` None = analyse in-thread)."""

    __slots__ = ("body", "future", "pool", "selectors", "url")

    def __init__(
        self,
        body: bytes,
        url: str,
        selectors: dict[str, str] | None,
        future: Future[dict[str, Any]] | None = None,
        pool: ProcessPoolExecutor | None = None,
    ) -> None:
        self.body, self.url, self.selectors = body, url, selectors
        self.future, self.pool = future, pool


class ExtractPool:
    """A process pool for `analyse` with an in-thread fallback. `processes` 0 = in-thread."""

    def __init__(
        self,
        processes: int,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        worker: Any = analyse_payload,
    ) -> None:
        self.processes = max(0, processes)
        self.timeout_s = timeout_s
        self.worker = worker  # a module-level function (pickled by name), for tests
        self.fallbacks = 0  # pages re-run alone after their pool broke or timed out
        self.failures = 0  # pages failed: their worker hung or crashed on them
        self._pool: ProcessPoolExecutor | None = None
        self._held: dict[ProcessPoolExecutor, set[Future[dict[str, Any]]]] = {}
        self._lock = threading.Lock()
        self._solo: ProcessPoolExecutor | None = None  # the isolation pool (one worker)
        self._solo_lock = threading.Lock()
        self._disabled = self.processes == 0

    @property
    def enabled(self) -> bool:
        return not self._disabled

    def _new_executor(self, workers: int) -> ProcessPoolExecutor:
        methods = multiprocessing.get_all_start_methods()
        method = "forkserver" if "forkserver" in methods else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload([__name__])
        return ProcessPoolExecutor(workers, mp_context=context)

    def _executor(self) -> ProcessPoolExecutor | None:
        with self._lock:
            if self._disabled:
                return None
            if self._pool is None:
                try:
                    self._pool = self._new_executor(self.processes)
                except (OSError, ImportError, NotImplementedError, ValueError) as error:
                    log.warning("extraction pool unavailable (%s): in-thread from now on", error)
                    self._disabled = True
                    return None
            return self._pool

    def warm(self) -> None:
        """Start the workers now (they otherwise start with the first page)."""
        pool = self._executor()
        if pool is not None:
            futures = [pool.submit(_noop) for _ in range(self.processes)]
            for future in futures:
                try:
                    future.result(timeout=max(self.timeout_s, 60.0))
                except Exception:  # a pool that cannot start is replaced on first use
                    log.warning("extraction pool warm-up failed", exc_info=True)
                    self._discard(pool)

    def submit(self, body: bytes, url: str, selectors: Mapping[str, str] | None) -> Pending:
        """Hand a page to a worker (thread-safe; called from the fetch threads)."""
        clean = dict(selectors) if selectors else None
        # Two tries: a pool another thread just shut down (a crash elsewhere) or a worker that
        # failed to start once gets a fresh pool; failing twice means workers cannot start
        # here (e.g. no sockets for the forkserver), and extraction stays in-thread.
        for attempt in range(2):
            pool = self._executor()
            if pool is None:
                break
            try:
                future = pool.submit(self.worker, body, url, clean)
            except BrokenProcessPool:
                self._discard(pool)
            except Exception as error:
                self._discard(pool)
                if attempt == 1:
                    log.warning("extraction pool unavailable (%r): in-thread from now on", error)
                    with self._lock:
                        self._disabled = True
            else:
                with self._lock:
                    self._prune()
                    self._held.setdefault(pool, set()).add(future)
                return Pending(body, url, clean, future, pool)
        return Pending(body, url, clean)

    def result(self, pending: Pending) -> PageAnalysis:
        """The page's analysis: the worker's; in-thread when it was never handed to a pool.
        Raises ExtractionTimeout / ExtractionCrashed when a worker hung or died on this page
        (see the module docstring: such a page is never re-analysed in this thread)."""
        future, pool = pending.future, pending.pool
        if future is None:
            return analyse(pending.body, pending.url, pending.selectors)
        try:
            return PageAnalysis.from_payload(future.result(timeout=self.timeout_s))
        except FutureTimeout:
            alone = not self._others_unfinished(pool, future)
            self._discard(pool)  # kill the hung worker (and its siblings)
            if alone:
                self._fail(pending, ExtractionTimeout(pending.url, f"{self.timeout_s:g} s"))
            log.warning("extraction pool timed out, other pages unfinished: %s", pending.url)
        except (BrokenProcessPool, CancelledError):
            log.warning("extraction worker crashed holding %s", pending.url)
            self._discard(pool)
        except Exception:  # the worker raised: the in-thread run raises it again, or not
            log.debug("extraction worker failed on %s", pending.url, exc_info=True)
            return analyse(pending.body, pending.url, pending.selectors)
        finally:
            self._release(pool, future)
        return self._alone(pending)

    def _alone(self, pending: Pending) -> PageAnalysis:
        """A page a broken (or timed-out) pool held: re-run alone in the one-worker
        isolation pool, one page at a time, so a page that hangs or kills it fails alone."""
        self.fallbacks += 1
        with self._solo_lock:
            if self._solo is None and not self._disabled:
                try:
                    self._solo = self._new_executor(1)
                except (OSError, ImportError, NotImplementedError, ValueError) as problem:
                    log.warning("isolation pool unavailable (%s)", problem)
            solo = self._solo
            if solo is None:  # no processes can be started any more: as without a pool
                return analyse(pending.body, pending.url, pending.selectors)
            failure: ExtractionFailed
            try:
                future = solo.submit(self.worker, pending.body, pending.url, pending.selectors)
                return PageAnalysis.from_payload(future.result(timeout=self.timeout_s))
            except FutureTimeout:
                failure = ExtractionTimeout(pending.url, f"{self.timeout_s:g} s, alone")
            except (BrokenProcessPool, CancelledError):
                failure = ExtractionCrashed(pending.url, "its worker process died, alone")
            self._solo = None
            with contextlib.suppress(Exception):
                _kill(solo)
        self._fail(pending, failure)

    def _fail(self, pending: Pending, error: ExtractionFailed) -> NoReturn:
        self.failures += 1
        log.warning("%s", error)
        raise error

    def _others_unfinished(
        self, pool: ProcessPoolExecutor | None, future: Future[dict[str, Any]]
    ) -> bool:
        with self._lock:
            held = list(self._held.get(pool, ())) if pool is not None else []
        return any(other is not future and not other.done() for other in held)

    def _prune(self) -> None:
        """Forget finished futures (only unfinished ones matter to a timeout) and the
        entries of replaced pools, so pages never asked for (a batch that failed half-way)
        are not kept. Called with the lock held."""
        for pool in list(self._held):
            held = self._held[pool]
            held.difference_update([future for future in held if future.done()])
            if not held and pool is not self._pool:
                del self._held[pool]

    def _release(self, pool: ProcessPoolExecutor | None, future: Future[dict[str, Any]]) -> None:
        with self._lock:
            held = self._held.get(pool) if pool is not None else None
            if held is not None:
                held.discard(future)
                if not held and pool is not self._pool:
                    del self._held[pool]  # type: ignore[arg-type]

    def _discard(self, pool: ProcessPoolExecutor | None) -> None:
        """Kill the current pool's workers (a hung one never returns); the next page starts
        a new pool. Only if `pool` is still the current one (another thread may have
        replaced it already)."""
        with self._lock:
            if pool is None or pool is not self._pool:
                return
            self._pool = None
        with contextlib.suppress(Exception):
            _kill(pool)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        with self._solo_lock:
            solo, self._solo = self._solo, None
        for executor in (pool, solo):
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)


def _kill(pool: ProcessPoolExecutor) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(OSError, AttributeError):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, AttributeError, AssertionError):
            process.join(timeout=5)


def _noop() -> None:
    return None


_shared: dict[tuple[int, float], ExtractPool] = {}
_shared_lock = threading.Lock()


def shared_pool(processes: int, timeout_s: float = DEFAULT_TIMEOUT_S) -> ExtractPool:
    """One pool per process and size (every engine of a process shares its workers)."""
    key = (processes, timeout_s)
    with _shared_lock:
        pool = _shared.get(key)
        if pool is None:
            pool = _shared[key] = ExtractPool(processes, timeout_s=timeout_s)
        return pool
