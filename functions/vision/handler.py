"""S3 ObjectCreated on raw/ -> decode, cut out, thumbnail; writes cutout/ (which triggers the
palette function). Runs as a container-image Lambda (containers/vision) and, unchanged, in
`studiolab up` through the local job table. Metrics: ImagesSegmented / Skipped / Failed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from studiolab.domain.s3events import parse_object_created
from studiolab.runtime.observability import count, lambda_entry, logger
from studiolab.runtime.wiring import image_pipeline


@lambda_entry(correlation_id_path="Records[0].s3.object.key")
def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    pipeline = image_pipeline()
    outcomes = {obj.key: pipeline.on_raw(obj.key) for obj in parse_object_created(event)}
    tally = Counter(outcomes.values())
    count(
        ImagesSegmented=tally["segmented"],
        ImagesSkipped=tally["skipped"],
        ImagesFailed=tally["failed"],
    )
    logger.info("raw images processed", extra={"outcomes": outcomes})
    return {"outcomes": outcomes}
