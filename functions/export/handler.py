"""Export job: {"export_id": ..., "include_cutouts"?: bool} from an asynchronous Lambda invoke
(AWS) or a local durable job -> build the zip (studiolab.services.exports.run_export)."""

from __future__ import annotations

from typing import Any

from studiolab.runtime.wiring import get_context
from studiolab.services.exports import run_export


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
    return {"export_id": export.id, "status": export.status, "error": export.error}
