"""Observability of the Lambda entry points, the Powertools way: one Logger, one Tracer, one
Metrics per process, and `lambda_entry`, the decorator every handler in functions/ wears:

    @lambda_entry(correlation_id_path="export_id")
    def lambda_handler(event, context):
        ...
        count(ExportsSucceeded=1)
        logger.info("export built", extra={...})

On Lambda (the runtime sets AWS_LAMBDA_FUNCTION_NAME) it stacks, in the Cookbook's order,
`logger.inject_lambda_context` (JSON lines with function name, request id, cold start and a
correlation id - taken from the event by `correlation_id_path` (JMESPath), else the request
id), `metrics.log_metrics(capture_cold_start_metric=True)` (one EMF blob on stdout per
invocation, namespace POWERTOOLS_METRICS_NAMESPACE, dimension `service`) and
`tracer.capture_lambda_handler` (a `## lambda_handler` subsegment). The service is
POWERTOOLS_SERVICE_NAME (CDK: one per function), the level POWERTOOLS_LOG_LEVEL / LOG_LEVEL.

Anywhere else - `studiolab up` runs the same handler files with context None (jobs) or a
stand-in context (moto's in-process Lambda), tests - it stays quiet and needs no AWS:
- no EMF is printed, ever: what a handler added is dropped when it returns. (Powertools 3.37's
  POWERTOOLS_METRICS_DISABLED alone does not do for a long-lived process: flush_metrics then
  skips the print *and the clearing*, values pile up, and add_metric prints the whole set by
  itself once a metric holds 100 values.)
- the handler's log records below WARNING are dropped (POWERTOOLS_DEV=true keeps them);
- the Lambda-context decorators are skipped (inject_lambda_context fails on context None);
- no X-Ray.

Tracer: Powertools' Tracer imports aws_xray_sdk when it is built - even disabled - and that
SDK (Powertools' `tracer` extra) is in neither the layer nor the images. Without it the Tracer
gets a null provider (subsegments, annotations and metadata are no-ops); Lambda's own X-Ray
segment (CDK: Tracing.ACTIVE) still records every invocation. With the SDK installed,
Powertools' own rules apply (off outside Lambda, or with POWERTOOLS_TRACE_DISABLED=true).

Logger trap worked around: Powertools adds to the root logger's handlers a filter that drops
every record whose logger *name contains* the service name (its guard against duplicated
child-logger records). Service "export" or "vision" would silence studiolab.services.exports
and studiolab.vision.* on Lambda, a service named "studiolab" all of `studiolab up`'s logs.
Instead the Powertools logger does not propagate to the root logger and that filter is
lifted."""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import warnings
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.filters import SuppressFilter
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared.functions import strtobool
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

__all__ = [
    "SERVICE",
    "TRACING",
    "MetricUnit",
    "count",
    "lambda_entry",
    "logger",
    "metrics",
    "on_lambda",
    "tracer",
]

Handler = TypeVar("Handler", bound=Callable[[Any, Any], Any])

# Not "studiolab": Powertools names its stdlib logger after the service, and a logger named
# "studiolab" would be the parent of every studiolab.* module logger (and, not propagating,
# would swallow their records).
DEFAULT_SERVICE = "studiolab-handlers"
DEFAULT_NAMESPACE = "studiolab"
LOCAL_LEVEL = logging.WARNING  # off Lambda, quieter records are dropped (POWERTOOLS_DEV keeps)

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE
TRACING = importlib.util.find_spec("aws_xray_sdk") is not None


def on_lambda() -> bool:
    """True inside a Lambda execution environment (read at each call, not at import)."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def _dev_mode() -> bool:
    try:
        return strtobool(os.environ.get("POWERTOOLS_DEV", "false"))
    except ValueError:
        return False


# ---- Logger ------------------------------------------------------------------------------


class _QuietOffLambda(logging.Filter):
    """Off Lambda, keep only WARNING and above (unless POWERTOOLS_DEV)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= LOCAL_LEVEL or on_lambda() or _dev_mode()


def _build_logger(service: str) -> Logger:
    built = Logger(service=service)
    std = logging.getLogger(service)  # the stdlib logger Powertools configured (same name)
    std.propagate = False  # its own JSON handler writes the record; the root must not again
    std.addFilter(_QuietOffLambda())
    for handler in logging.getLogger().handlers:
        for stale in [f for f in handler.filters if isinstance(f, SuppressFilter)]:
            if stale.logger == service:
                handler.removeFilter(stale)
    return built


logger = _build_logger(SERVICE)


# ---- Tracer ------------------------------------------------------------------------------


class _NullSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None:
        return None

    def add_subsegment(self, subsegment: Any) -> None:
        return None

    def remove_subsegment(self, subsegment: Any) -> None:
        return None

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        return None


class NullTracingProvider(BaseProvider):
    """A tracing provider that records nothing (no aws_xray_sdk in this environment)."""

    @contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        yield _NullSegment()

    @asynccontextmanager
    async def in_subsegment_async(
        self, name: Any = None, **kwargs: Any
    ) -> AsyncGenerator[BaseSegment, None]:
        yield _NullSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def patch(self, modules: Sequence[str]) -> None:
        return None

    def patch_all(self) -> None:
        return None


def _build_tracer(service: str) -> Tracer:
    if TRACING:
        return Tracer(service=service)
    # disabled=False on purpose: "disabled" makes Powertools switch the X-Ray SDK off, i.e.
    # import it; the null provider already records nothing.
    return Tracer(service=service, provider=NullTracingProvider(), disabled=False, auto_patch=False)


tracer = _build_tracer(SERVICE)


# ---- Metrics -----------------------------------------------------------------------------

metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# A handler that raised has added nothing: normal, not worth a warning line on stderr.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


def count(**values: int) -> None:
    """Add Count metrics, e.g. `count(ImagesSegmented=3, ImagesFailed=0)`. Add each name once
    per invocation (one value per metric keeps Powertools' 100-value auto-flush away)."""
    for name, value in values.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


# ---- the entry-point decorator -----------------------------------------------------------


def _request_id_fallback(handler: Handler) -> Handler:
    """Correlation id: the event's (set by inject_lambda_context), else the request id."""

    @functools.wraps(handler)
    def run(event: Any, context: Any) -> Any:
        if logger.get_correlation_id() is None:
            logger.set_correlation_id(getattr(context, "aws_request_id", None))
        return handler(event, context)

    return run  # type: ignore[return-value]


def lambda_entry(*, correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """Decorate a Lambda handler `(event, context)` with Logger, Metrics and Tracer on Lambda;
    off Lambda, call it plainly and drop its metrics (see the module docstring)."""

    def decorate(handler: Handler) -> Handler:
        # Built on the first call on Lambda, not here: Chalice's ConvertToMiddleware decorates
        # the handler again for every request, and off Lambda the stack is never used.
        instrumented: Callable[[Any, Any], Any] | None = None

        def build() -> Callable[[Any, Any], Any]:
            traced = tracer.capture_lambda_handler(
                _request_id_fallback(handler), capture_response=False
            )
            measured = metrics.log_metrics(traced, capture_cold_start_metric=True)
            wrapped: Callable[[Any, Any], Any] = logger.inject_lambda_context(
                measured, correlation_id_path=correlation_id_path, clear_state=True
            )
            return wrapped

        @functools.wraps(handler)
        def entry(event: Any, context: Any) -> Any:
            nonlocal instrumented
            try:
                if context is not None and on_lambda():
                    if instrumented is None:
                        instrumented = build()
                    return instrumented(event, context)
                return handler(event, context)
            finally:
                metrics.clear_metrics()  # flushed above on Lambda; never printed elsewhere

        return entry  # type: ignore[return-value]

    return decorate
