"""Powertools in the Lambda handlers (studiolab.runtime.observability).

On Lambda a handler prints structured JSON log lines (service from POWERTOOLS_SERVICE_NAME,
Lambda context, correlation id from the event or the request id) and one EMF blob with its
business metrics. Off Lambda (studiolab up, tests) the same handler files print no EMF, no
INFO lines, and need neither AWS nor the X-Ray SDK. Lambda-like runs happen in a fresh
interpreter: the service name and the cold start are read when the module is imported."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from studiolab.domain.models import ItemFilter
from studiolab.domain.s3events import object_created_event
from studiolab.runtime import observability
from studiolab.runtime.settings import load_settings
from studiolab.runtime.wiring import (
    BLOB_ROUTES,
    EXPORT_HANDLER,
    REPO_ROOT,
    build_context,
    install,
    load_module,
)
from studiolab.services.exports import request_export
from tests.exports.helpers import add_image_item, make_project

RAW_KEY = "raw/pr_1/it_404/photo.png"
NOW = datetime(2026, 11, 28, tzinfo=UTC)
LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "studiolab-fn",
    "POWERTOOLS_METRICS_NAMESPACE": "studiolab",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "LOG_LEVEL": "INFO",
}
# Runs one handler file once, with a Lambda-like context (or None), and prints its result.
INVOKE = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from types import SimpleNamespace
    from studiolab.runtime.wiring import load_module
    path, event, with_context = Path(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3] == "1"
    context = SimpleNamespace(
        function_name="studiolab-fn",
        function_version="$LATEST",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:studiolab-fn",
        aws_request_id="req-0001",
        log_group_name="/aws/lambda/studiolab-fn",
        log_stream_name="stream",
        get_remaining_time_in_millis=lambda: 60000,
    )
    result = load_module(path).lambda_handler(event, context if with_context else None)
    print("RESULT " + json.dumps(result))
    """
)


def _invoke(
    tmp_path: Path,
    handler: Path,
    event: dict[str, Any],
    *,
    env: dict[str, str],
    with_context: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    """(JSON lines printed on stdout, the handler's result, stderr) of one invocation."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_LAMBDA_", "POWERTOOLS_", "STUDIOLAB_", "LAMBDA_", "_X_AMZN"))
        and k != "LOG_LEVEL"
    }
    clean.update(
        {
            "STUDIOLAB_MODE": "local",
            "STUDIOLAB_DATA_DIR": str(tmp_path / "data"),
            "STUDIOLAB_SEGMENT_MODEL": "none",
            **env,
        }
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            INVOKE,
            str(handler),
            json.dumps(event),
            "1" if with_context else "0",
        ],
        cwd=REPO_ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines, result = [], None
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line.removeprefix("RESULT "))
        else:
            lines.append(json.loads(line))  # every other stdout line is JSON
    assert result is not None
    return lines, result, done.stderr


def _metrics_blob(lines: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    blobs = [
        line
        for line in lines
        if "_aws" in line
        and any(
            m["Name"] == metric
            for directive in line["_aws"]["CloudWatchMetrics"]
            for m in directive["Metrics"]
        )
    ]
    assert len(blobs) == 1, lines
    return blobs[0]


def _log_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "message" in line]


def test_export_handler_on_lambda_logs_json_and_emits_emf(tmp_path: Path) -> None:
    # Given the export function's environment (as CDK sets it) and a Lambda context
    env = {**LAMBDA_ENV, "POWERTOOLS_SERVICE_NAME": "export"}

    # When an export job for an unknown export runs (cancelled: its project is gone)
    lines, result, _ = _invoke(tmp_path, EXPORT_HANDLER, {"export_id": "exp_42"}, env=env)

    # Then the log line is JSON with the service, the Lambda context and the correlation id
    assert result["status"] == "FAILED"
    logs = _log_lines(lines)
    done = [line for line in logs if line["message"] == "export job done"]
    assert len(done) == 1, logs
    assert done[0]["service"] == "export"
    assert done[0]["correlation_id"] == "exp_42"
    assert done[0]["function_request_id"] == "req-0001"
    assert done[0]["cold_start"] is True
    assert done[0]["level"] == "INFO" and done[0]["status"] == "FAILED"
    # ... and an EMF blob carries the business metric in the namespace, per service
    blob = _metrics_blob(lines, "ExportsCancelled")
    directive = blob["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "studiolab"
    assert ["service"] in directive["Dimensions"]
    assert blob["service"] == "export" and blob["ExportsCancelled"] == [1.0]
    # ... plus Powertools' cold-start metric
    assert _metrics_blob(lines, "ColdStart")["function_name"] == "studiolab-fn"


def test_a_built_export_reports_its_items_and_bytes(tmp_path: Path) -> None:
    # Given a project with one image item and a pending export in the local data dir
    context = build_context(load_settings(mode="local", data_dir=tmp_path / "data"))
    try:
        make_project(context.catalog)
        add_image_item(context.catalog, context.blobs, "it_1", b"img")
        export = request_export(
            context.catalog, context.jobs, context.ids, context.clock, "pr_1", ItemFilter()
        )
    finally:
        context.close()
    env = {**LAMBDA_ENV, "POWERTOOLS_SERVICE_NAME": "export"}

    # When the export function builds it
    lines, result, _ = _invoke(tmp_path, EXPORT_HANDLER, {"export_id": export.id}, env=env)

    # Then the metrics say one export succeeded, with its item count and zip size
    assert result["status"] == "SUCCEEDED"
    blob = _metrics_blob(lines, "ExportsSucceeded")
    assert blob["ExportItems"] == [1.0] and blob["ExportBytes"][0] > 0
    units = {m["Name"]: m["Unit"] for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units == {"ExportsSucceeded": "Count", "ExportItems": "Count", "ExportBytes": "Bytes"}


def test_vision_handler_on_lambda_counts_images_and_correlates_by_key(tmp_path: Path) -> None:
    env = {**LAMBDA_ENV, "POWERTOOLS_SERVICE_NAME": "vision"}
    event = object_created_event(bucket="b", key=RAW_KEY, size=3, etag="e", at=NOW)

    lines, result, _ = _invoke(tmp_path, BLOB_ROUTES["raw/"], event, env=env)

    assert result == {"outcomes": {RAW_KEY: "skipped"}}  # no such item: nothing to do
    (logged,) = [line for line in _log_lines(lines) if line["message"] == "raw images processed"]
    assert logged["service"] == "vision"
    assert logged["correlation_id"] == event["Records"][0]["s3"]["object"]["key"]
    blob = _metrics_blob(lines, "ImagesSkipped")
    assert blob["ImagesSkipped"] == [1.0]
    assert blob["ImagesSegmented"] == [0.0] and blob["ImagesFailed"] == [0.0]


def test_palette_handler_without_a_correlation_path_falls_back_to_the_request_id(
    tmp_path: Path,
) -> None:
    env = {**LAMBDA_ENV, "POWERTOOLS_SERVICE_NAME": "palette"}

    lines, result, _ = _invoke(tmp_path, BLOB_ROUTES["cutout/"], {"Records": []}, env=env)

    assert result == {"outcomes": {}}
    (logged,) = [line for line in _log_lines(lines) if line["message"] == "cut-outs analysed"]
    assert logged["service"] == "palette" and logged["correlation_id"] == "req-0001"
    assert _metrics_blob(lines, "PalettesWritten")["PalettesWritten"] == [0.0]


@pytest.mark.parametrize("with_context", [False, True])
def test_off_lambda_a_handler_prints_no_emf_and_no_info_lines(
    tmp_path: Path, with_context: bool
) -> None:
    # Given no Lambda environment (studiolab up: context None; moto's in-process Lambda: a
    # stand-in context), not even Powertools' settings
    lines, result, stderr = _invoke(
        tmp_path, EXPORT_HANDLER, {"export_id": "exp_42"}, env={}, with_context=with_context
    )

    # Then the job still works, and stdout stays empty: no EMF, no JSON INFO line
    assert result["status"] == "FAILED"
    assert lines == []
    assert "No application metrics" not in stderr and "xray" not in stderr.lower()


@pytest.fixture
def local_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_LAMBDA_FUNCTION_NAME", "POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV"):
        monkeypatch.delenv(name, raising=False)
    context = build_context(load_settings(mode="local", data_dir=tmp_path / "data"))
    install(context)
    try:
        yield
    finally:
        install(None)
        context.close()


@pytest.mark.usefixtures("local_context")
def test_many_local_jobs_never_print_emf(capsys: pytest.CaptureFixture[str]) -> None:
    # Powertools prints a metric set by itself once a metric holds 100 values, even with
    # POWERTOOLS_METRICS_DISABLED: off Lambda the handler's metrics are dropped each time.
    handler = load_module(EXPORT_HANDLER).lambda_handler
    for i in range(150):
        assert handler({"export_id": f"exp_{i}"}, None)["status"] == "FAILED"

    assert "_aws" not in capsys.readouterr().out
    assert observability.metrics.metric_set == {}


def test_the_tracer_needs_no_xray_sdk() -> None:
    try:
        import aws_xray_sdk  # noqa: F401
    except ImportError:
        assert not observability.TRACING
        assert isinstance(observability.tracer.provider, observability.NullTracingProvider)
    else:  # pragma: no cover - the SDK is not a studiolab dependency
        assert observability.TRACING

    @observability.tracer.capture_lambda_handler
    def handler(event: Any, context: Any) -> str:
        observability.tracer.put_annotation("item", "it_1")
        return "ok"

    assert handler({}, None) == "ok"


def test_module_logs_still_reach_the_root_handlers() -> None:
    # Powertools filters root handlers by "service name in logger name"; that filter is
    # lifted, and the Powertools logger itself does not propagate (no duplicate lines).
    for handler in logging.getLogger().handlers:
        assert not any(getattr(f, "logger", None) == observability.SERVICE for f in handler.filters)
    assert logging.getLogger(observability.SERVICE).propagate is False
    assert observability.SERVICE != "studiolab"  # would be the parent of studiolab.* loggers


# The Chalice app as API Gateway invokes it: create a project, then request an export.
API_INVOKE = textwrap.dedent(
    """
    import json, sys
    from types import SimpleNamespace
    from studiolab.runtime.wiring import REPO_ROOT, load_module
    app = load_module(REPO_ROOT / "functions" / "api" / "app.py").app
    def event(method, resource, path, body, params=None):
        return {
            "resource": resource, "path": path, "httpMethod": method,
            "headers": {"content-type": "application/json"}, "multiValueHeaders": {},
            "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": params, "stageVariables": None, "isBase64Encoded": False,
            "body": json.dumps(body),
            "requestContext": {"resourcePath": resource, "httpMethod": method,
                               "requestId": f"apigw-{method}-{resource}", "stage": "api"},
        }
    context = SimpleNamespace(
        function_name="studiolab-api", function_version="$LATEST", memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:studiolab-api",
        aws_request_id="req-api", log_group_name="/aws/lambda/studiolab-api",
        log_stream_name="stream", get_remaining_time_in_millis=lambda: 60000,
    )
    body = {"name": "p", "shop": "s", "attribute": "skirt.flare"}
    made = app(event("POST", "/v1/projects", "/v1/projects", body), context)
    project = json.loads(made["body"])["id"]
    asked = app(event("POST", "/v1/projects/{project_id}/exports",
                      f"/v1/projects/{project}/exports", {}, {"project_id": project}), context)
    print("RESULT " + json.dumps([made["statusCode"], asked["statusCode"]]))
    """
)


def test_api_on_lambda_counts_export_requests_in_emf(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_LAMBDA_", "STUDIOLAB_"))}
    env |= LAMBDA_ENV | {
        "POWERTOOLS_SERVICE_NAME": "api",
        "STUDIOLAB_MODE": "local",
        "STUDIOLAB_DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-c", API_INVOKE],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if not line.startswith("RESULT ")]
    result = json.loads(done.stdout.split("RESULT ")[1])
    assert result == [201, 202]
    blob = _metrics_blob([json.loads(line) for line in lines], "ExportsRequested")
    assert blob["ExportsRequested"] == [1.0] or blob["ExportsRequested"] == 1.0
    assert blob["service"] == "api"
