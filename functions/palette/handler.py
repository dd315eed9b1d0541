"""S3 ObjectCreated on cutout/ -> garment pixels, palette with names, per-colour masks and the
overview sheet; updates the item. Container-image Lambda (containers/palette) or local job.
Metrics: PalettesWritten / PalettesSkipped / PalettesFailed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from studiolab.domain.s3events import parse_object_created
from studiolab.runtime.observability import count, lambda_entry, logger
from studiolab.runtime.wiring import image_pipeline


@lambda_entry(correlation_id_path="Records[0].s3.object.key")
def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    pipeline = image_pipeline()
    outcomes = {obj.key: pipeline.on_cutout(obj.key) for obj in parse_object_created(event)}
    tally = Counter(outcomes.values())
    count(
        PalettesWritten=tally["analysed"],
        PalettesSkipped=tally["skipped"],
        PalettesFailed=tally["failed"],
    )
    logger.info("cut-outs analysed", extra={"outcomes": outcomes})
    return {"outcomes": outcomes}
