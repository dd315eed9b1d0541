"""The crawl state machine's steps (infra/statemachines/crawl.asl.json), one entry point each.

Thin: parse the Step Functions task payload, call one service, shape the reply. Errors
propagate: their Python class name is the error name the ASL's Retry/Catch match.
Powertools (studiolab.runtime.observability): correlation id = the run id; metrics
ImagesQueued (per batch), Downloads<Outcome> (per image), Runs<Status>, RunsRepaired."""

from __future__ import annotations

from typing import Any

from studiolab.runtime.observability import count, lambda_entry, logger
from studiolab.runtime.wiring import crawl_engine, run_control
from studiolab.services.crawl_state import ImageTask

by_run = lambda_entry(correlation_id_path="run_id")


@by_run
def start_run(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_control().begin(str(event["run_id"]))


@by_run
def fetch_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    batch = crawl_engine().fetch_batch(str(event["run_id"]), int(event.get("iteration", 0)))
    count(ImagesQueued=len(batch.images))
    logger.info("batch fetched", extra={"iteration": batch.iteration, "done": batch.done})
    return batch.to_payload()


@by_run
def download_image(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = crawl_engine().download_image(ImageTask.from_dict(event))
    count(**{f"Downloads{str(result['outcome']).title()}": 1})
    return result


@by_run
def finish_run(event: dict[str, Any], context: Any) -> dict[str, Any]:
    run = run_control().finish(str(event["run_id"]))
    count(**{f"Runs{run.status.title().replace('_', '')}": 1})
    logger.info("run finished", extra={"status": str(run.status)})
    return {"run_id": run.id, "status": str(run.status)}


@by_run
def fail_run(event: dict[str, Any], context: Any) -> dict[str, Any]:
    run = run_control().fail(str(event["run_id"]), event.get("error"))
    count(RunsFailed=1)
    logger.warning("run failed", extra={"status": str(run.status), "error": event.get("error")})
    return {"run_id": run.id, "status": str(run.status)}


@by_run
def continue_as_new(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"execution_ref": run_control().continue_as_new(str(event["run_id"]))}


@lambda_entry()  # EventBridge event: correlation id = the Lambda request id
def reconcile(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The reconciler (EventBridge schedule / Step Functions status-change event on AWS)."""
    repairs = run_control().reconcile()
    count(RunsRepaired=len(repairs))
    return {"repairs": [{"run_id": r.run_id, "action": r.action} for r in repairs]}
