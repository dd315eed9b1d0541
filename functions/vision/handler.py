"""S3 ObjectCreated on raw/ -> decode, cut out, thumbnail; writes cutout/ (which triggers the
palette function). Runs as a container-image Lambda (containers/vision) and, unchanged, in
`studiolab up` through the local job table."""

from __future__ import annotations

from typing import Any

from studiolab.domain.s3events import parse_object_created
from studiolab.runtime.wiring import image_pipeline


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    pipeline = image_pipeline()
    outcomes = {obj.key: pipeline.on_raw(obj.key) for obj in parse_object_created(event)}
    return {"outcomes": outcomes}
