"""Export job: {"export_id": ..., "include_cutouts"?: bool} from an asynchronous Lambda invoke
(AWS) or a local durable job -> build the zip (studiolab.services.exports.run_export).
Metrics: one of ExportsSucceeded / Failed / Cancelled per job (or the status of an export
already done), and ExportItems / ExportBytes of a built zip."""

from __future__ import annotations

from typing import Any

from studiolab.runtime.observability import MetricUnit, count, lambda_entry, logger, metrics
from studiolab.runtime.wiring import get_context
from studiolab.services.exports import is_cancelled, run_export


@lambda_entry(correlation_id_path="export_id")
def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    export_id = event.get("export_id")
    if not isinstance(export_id, str) or not export_id:
        raise ValueError(f"export job without an export_id: {event!r}")
    app = get_context()
    export = run_export(
        app.catalog,
        app.blobs,
        app.clock,
        export_id,
        include_cutouts=bool(event.get("include_cutouts", False)),
    )
    count(**{f"Exports{'Cancelled' if is_cancelled(export) else export.status.title()}": 1})
    if export.status == "SUCCEEDED":
        count(ExportItems=export.counts.items)
        metrics.add_metric(name="ExportBytes", unit=MetricUnit.Bytes, value=export.counts.bytes)
    logger.info("export job done", extra={"status": export.status, **export.counts.model_dump()})
    return {"export_id": export.id, "status": export.status, "error": export.error}
