"""The crawl state machine's steps (infra/statemachines/crawl.asl.json), one entry point each.

Thin: parse the Step Functions task payload, call one service, shape the reply. Errors
propagate: their Python class name is the error name the ASL's Retry/Catch match."""

from __future__ import annotations

from typing import Any

from studiolab.runtime.wiring import crawl_engine, run_control
from studiolab.services.crawl_state import ImageTask


def start_run(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_control().begin(str(event["run_id"]))


def fetch_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    batch = crawl_engine().fetch_batch(str(event["run_id"]), int(event.get("iteration", 0)))
    return batch.to_payload()


def download_image(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return crawl_engine().download_image(ImageTask.from_dict(event))


def finish_run(event: dict[str, Any], context: Any) -> dict[str, Any]:
    run = run_control().finish(str(event["run_id"]))
    return {"run_id": run.id, "status": str(run.status)}


def fail_run(event: dict[str, Any], context: Any) -> dict[str, Any]:
    run = run_control().fail(str(event["run_id"]), event.get("error"))
    return {"run_id": run.id, "status": str(run.status)}


def continue_as_new(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"execution_ref": run_control().continue_as_new(str(event["run_id"]))}


def reconcile(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The reconciler (EventBridge schedule / Step Functions status-change event on AWS)."""
    repairs = run_control().reconcile()
    return {"repairs": [{"run_id": r.run_id, "action": r.action} for r in repairs]}
