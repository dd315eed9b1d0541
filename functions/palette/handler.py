"""S3 ObjectCreated on cutout/ -> garment pixels, palette with names, per-colour masks and the
overview sheet; updates the item. Container-image Lambda (containers/palette) or local job."""

from __future__ import annotations

from typing import Any

from studiolab.domain.s3events import parse_object_created
from studiolab.runtime.wiring import image_pipeline


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    pipeline = image_pipeline()
    outcomes = {obj.key: pipeline.on_cutout(obj.key) for obj in parse_object_created(event)}
    return {"outcomes": outcomes}
