"""Run moto's Lambda functions as in-process Python calls (moto alone needs Docker).

Hooks the private `moto.awslambda.models.LambdaFunction._invoke_lambda(self, event=None)
-> tuple[str, bool, str]` (moto 5.2.5), which `LambdaFunction.invoke` calls for every
invocation type (RequestResponse, Event, DryRun) and which S3 notifications and the Step
Functions interpreter (Task lambda:invoke) reach through the lambda API. Its contract:

    (payload, errored, logs)
    payload  the function's response as a JSON string; when errored, Lambda's error object
             {"errorMessage", "errorType", "stackTrace"}: Step Functions reads `errorType`
             as the error name for Retry/Catch (so a Python exception name is catchable).
    errored  True sets the `X-Amz-Function-Error` header (FunctionError in boto3).
    logs     the log tail (base64-encoded into `LogResult` for RequestResponse).

For Event invocations moto runs the function synchronously in the caller's thread and replies
202 with the same payload; the in-process call keeps that behaviour.

Limits: the handler sees this process's environment, not the function's `Environment`
(os.environ is process-wide and handlers run concurrently); `mock_aws(config={"lambda":
{"use_docker": False}})` selects moto's LambdaSimpleBackend, which never reaches the hook.
Because the hook is private, `check_moto_hook` verifies its shape and fails loudly when moto
changes: pin moto exactly.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

logger = logging.getLogger(__name__)

LambdaHandler = Callable[[Any, Any], Any]
# Called with the function name, then (if that gives None or raises LookupError) with its
# handler string ("handler.lambda_handler").
Resolver = Callable[[str], LambdaHandler | None]

HOOK_OWNER = "moto.awslambda.models.LambdaFunction"
HOOK_NAME = "_invoke_lambda"
_EXPECTED_PARAMETERS = ("self", "event")
_EXPECTED_RETURNS = ("tuple[str, bool, str]", "Tuple[str, bool, str]")

_lock = threading.Lock()
_resolvers: list[Resolver] = []
_original: Any = None


@dataclass
class InProcessContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    log_group_name: str
    timeout_s: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_stream_name: str = "in-process"
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_s - elapsed) * 1000))


def check_moto_hook() -> type:
    """The moto class to patch, after checking the private method is still what we expect;
    RuntimeError otherwise."""
    try:
        models = import_module("moto.awslambda.models")
    except ImportError as error:
        raise RuntimeError(f"in-process Lambda needs moto: {error}") from error
    owner = getattr(models, "LambdaFunction", None)
    if not isinstance(owner, type):
        raise RuntimeError(f"{HOOK_OWNER} is gone: moto changed; re-check inprocess_lambda")
    target = owner.__dict__.get(HOOK_NAME)
    if target is None or not callable(target):
        raise RuntimeError(
            f"{HOOK_OWNER}.{HOOK_NAME} is missing: the moto private API this module replaces "
            "changed (checked against moto 5.2.5); re-check inprocess_lambda"
        )
    if target is _invoke_in_process:
        return owner
    signature = inspect.signature(target)
    names = tuple(signature.parameters)
    returns = signature.return_annotation
    returns_text = returns if isinstance(returns, str) else getattr(returns, "__name__", returns)
    if names != _EXPECTED_PARAMETERS or str(returns_text) not in _EXPECTED_RETURNS:
        raise RuntimeError(
            f"{HOOK_OWNER}.{HOOK_NAME} has signature {signature}; expected "
            "(self, event: str | None = None) -> tuple[str, bool, str] (moto 5.2.5): the "
            "private API changed; re-check inprocess_lambda"
        )
    try:
        invoke_source = inspect.getsource(getattr(owner, "invoke"))  # noqa: B009
    except (OSError, TypeError):
        logger.warning("cannot read %s.invoke source; skipping its check", HOOK_OWNER)
    else:
        if f"self.{HOOK_NAME}(" not in invoke_source:
            raise RuntimeError(
                f"{HOOK_OWNER}.invoke no longer calls {HOOK_NAME}: the private API changed; "
                "re-check inprocess_lambda"
            )
    return owner


def install(resolve: Resolver) -> None:
    """Patch moto (once) and make `resolve` the active resolver (the latest installed wins)."""
    global _original
    with _lock:
        owner = check_moto_hook()
        if not _resolvers:
            _original = owner.__dict__[HOOK_NAME]
            setattr(owner, HOOK_NAME, _invoke_in_process)
        _resolvers.append(resolve)


def uninstall(resolve: Resolver) -> None:
    """Remove `resolve`; restore moto's method when no resolver is left."""
    global _original
    with _lock:
        if resolve in _resolvers:
            # the last occurrence: nested installs of the same resolver unwind in order
            del _resolvers[len(_resolvers) - 1 - _resolvers[::-1].index(resolve)]
        if not _resolvers and _original is not None:
            owner = import_module("moto.awslambda.models").LambdaFunction
            setattr(owner, HOOK_NAME, _original)
            _original = None


@contextlib.contextmanager
def run_lambdas_in_process(resolve: Resolver) -> Iterator[None]:
    """While active, every moto Lambda invocation calls `resolve(name)(event, context)`."""
    install(resolve)
    try:
        yield
    finally:
        uninstall(resolve)


def import_handler(handler: str) -> LambdaHandler:
    """A resolver for dotted handler strings: "package.module.function" -> the function."""
    module_name, _, attribute = handler.rpartition(".")
    if not module_name:
        raise LookupError(f"handler {handler!r} is not 'module.function'")
    function = getattr(import_module(module_name), attribute, None)
    if not callable(function):
        raise LookupError(f"{handler!r} is not a callable")
    return function  # type: ignore[no-any-return]


def _resolve(resolver: Resolver, fn: Any) -> LambdaHandler | None:
    for name in (fn.function_name, fn.handler):
        if not name:
            continue
        try:
            handler = resolver(name)
        except LookupError:
            continue
        if handler is not None:
            return handler
    return None


def _error(error_type: str, message: str, stack: list[str] | None = None) -> str:
    return json.dumps({"errorMessage": message, "errorType": error_type, "stackTrace": stack or []})


def _invoke_in_process(self: Any, event: str | None = None) -> tuple[str, bool, str]:
    """Replacement for LambdaFunction._invoke_lambda (same signature and return contract)."""
    with _lock:
        resolver = _resolvers[-1] if _resolvers else None
    if resolver is None:  # uninstalled between the lookup and the call
        return _error("Runtime.NoResolver", "in-process Lambda is not installed"), True, ""
    handler = _resolve(resolver, self)
    if handler is None:
        message = f"no in-process handler for function {self.function_name!r} ({self.handler!r})"
        logger.error(message)
        return _error("Runtime.HandlerNotFound", message), True, ""
    if event is None:
        payload: Any = {}
    elif isinstance(event, str | bytes):
        try:
            payload = json.loads(event)
        except ValueError:
            payload = event
    else:
        payload = event  # LambdaFunction.invoke passes the already-parsed body
    context = InProcessContext(
        function_name=self.function_name,
        function_version=str(self.version),
        invoked_function_arn=self.function_arn,
        memory_limit_in_mb=int(self.memory_size),
        log_group_name=self.logs_group_name,
        timeout_s=float(self.timeout),
    )
    try:
        result = handler(payload, context)
    except Exception as error:
        logger.info("in-process %s raised %s", self.function_name, type(error).__name__)
        stack = traceback.format_tb(error.__traceback__)
        return _error(type(error).__name__, str(error), stack), True, "".join(stack)
    try:
        return json.dumps(result), False, ""
    except (TypeError, ValueError) as error:
        return _error("Runtime.MarshalError", f"Unable to marshal response: {error}"), True, ""
