"""The image pipeline's two steps, triggered by object-created events:

raw/<project>/<item>/<name>     -> on_raw:    decode, cut out, thumbnail -> cutout/...png
cutout/<project>/<item>/cutout.png -> on_cutout: garment pixels, palette, names, masks

Both are idempotent: outputs go to keys derived from the item, so a repeated event rewrites
the same objects and the item ends in the same state. A bad image marks the item `failed`
with the error's code (no retry can fix it); anything else raises so the event is retried."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from studiolab.domain.blobkeys import item_key, item_prefix, parse_item_key
from studiolab.domain.errors import ConcurrentUpdate, ImageError, InvalidInput, NotFound
from studiolab.domain.models import Item, ItemError
from studiolab.domain.ports import BlobStore, Catalog, Clock

if TYPE_CHECKING:
    from PIL.Image import Image

    from studiolab.domain.models import PersonTags
    from studiolab.vision.types import RGBA, Mask

log = logging.getLogger(__name__)

Outcome = Literal["segmented", "analysed", "failed", "skipped"]
UPDATE_ATTEMPTS = 8


@dataclass(frozen=True)
class ImagePipeline:
    catalog: Catalog
    blobs: BlobStore
    clock: Clock
    model: str = "u2netp"
    max_colors: int = 5
    models_dir: Path | None = None

    def on_raw(self, key: str) -> Outcome:
        from studiolab.vision.analyse import cut_out, encode_png, thumbnail_jpeg

        loaded = self._load(key)
        if loaded is None:
            return "skipped"
        project_id, item_id, data = loaded
        try:
            cut = cut_out(data, model=self.model, models_dir=self.models_dir)
        except ImageError as error:
            return self._fail(item_id, error)
        person = self._person(cut.image.rgba)
        cutout_key = item_key("cutout", project_id, item_id, "cutout.png")
        thumb_key = item_key("thumb", project_id, item_id, "thumb.jpg")
        self.blobs.put(thumb_key, thumbnail_jpeg(cut.rgba), content_type="image/jpeg")

        def record(item: Item) -> Item:
            blobs = item.blobs.model_copy(
                update={"raw": key, "cutout": cutout_key, "thumbnail": thumb_key}
            )
            update = {"blobs": blobs, "state": "processing", "error": None, "person": person}
            return item.model_copy(update=update)

        if not self._update(item_id, record):
            return "skipped"
        # Last: this write triggers the palette step, which expects the item to point at it.
        self.blobs.put(cutout_key, encode_png(cut.rgba), content_type="image/png")
        return "segmented"

    def on_cutout(self, key: str) -> Outcome:
        from studiolab.vision.analyse import palette_of
        from studiolab.vision.decode import decode_image
        from studiolab.vision.explain import colour_masks, mask_png, overview_sheet

        loaded = self._load(key)
        if loaded is None:
            return "skipped"
        project_id, item_id, data = loaded
        try:
            rgba = decode_image(data, max_side=None).rgba
            exclude = self._person_exclusion(item_id, rgba)
            mask, palette = palette_of(rgba, max_colors=self.max_colors, exclude=exclude)
        except ImageError as error:
            return self._fail(item_id, error)
        masks = colour_masks(rgba[..., :3], mask, palette)
        mask_keys = [
            item_key("masks", project_id, item_id, f"{index}.png") for index in range(len(masks))
        ]
        for mask_key, colour_mask in zip(mask_keys, masks, strict=True):
            self.blobs.put(mask_key, mask_png(colour_mask), content_type="image/png")
        overview_key = item_key("masks", project_id, item_id, "overview.png")
        sheet = overview_sheet(rgba, palette, masks)
        self.blobs.put(overview_key, _png(sheet), content_type="image/png")
        # a previous run of this step may have found more colours
        for stale in self.blobs.list(item_prefix("masks", project_id, item_id)):
            if stale.key not in mask_keys and stale.key != overview_key:
                self.blobs.delete(stale.key)

        def record(item: Item) -> Item:
            blobs = item.blobs.model_copy(update={"masks": mask_keys, "overview": overview_key})
            return item.model_copy(
                update={"palette": palette.colors, "blobs": blobs, "state": "done", "error": None}
            )

        return "analysed" if self._update(item_id, record) else "skipped"

    # -- helpers ---------------------------------------------------------------------------
    def _person(self, rgba: RGBA) -> PersonTags | None:
        """Model/pose tags of the decoded photo; None when the pose step is not installed."""
        try:
            from studiolab.vision.pose import detect_person
        except ImportError:  # mediapipe missing: tag nothing rather than fail the item
            log.warning("mediapipe is not installed: items get no person tags")
            return None
        return detect_person(rgba).tags

    def _person_exclusion(self, item_id: str, rgba: RGBA) -> Mask | None:
        """Skin, face and hair of the model on the cut-out, recomputed here (pose runs again
        on the cut-out composited on white, ~40 ms) only for items tagged with a person, so
        the cut-out blob stays the single input of this step and products pay nothing."""
        try:
            tags = self.catalog.get_item(item_id).person
        except NotFound:
            return None
        if tags is None or not tags.present:
            return None
        from studiolab.vision.pose import detect_person
        from studiolab.vision.skin import person_exclusion_mask

        exclude = person_exclusion_mask(rgba, detect_person(rgba))
        return exclude if exclude.any() else None

    def _load(self, key: str) -> tuple[str, str, bytes] | None:
        """(project_id, item_id, blob bytes) of an item blob event; None (logged) when the key
        is not an item key or the item or blob was deleted meanwhile."""
        parsed = _parse(key)
        if parsed is None:
            return None
        project_id, item_id = parsed
        try:
            self.catalog.get_item(item_id)
            return project_id, item_id, self.blobs.get(key)
        except NotFound as gone:
            log.info("skipping %s: %s (deleted meanwhile)", key, gone.message)
            return None

    def _fail(self, item_id: str, error: ImageError) -> Outcome:
        log.info("item %s failed: %s: %s", item_id, error.code, error.message)
        failure = ItemError(code=error.code, message=error.message)
        self._update(
            item_id, lambda item: item.model_copy(update={"state": "failed", "error": failure})
        )
        return "failed"

    def _update(self, item_id: str, change: Callable[[Item], Item]) -> bool:
        """Read-modify-write with the catalog's optimistic version check; False if the item
        was deleted meanwhile."""
        for _ in range(UPDATE_ATTEMPTS):
            try:
                item = self.catalog.get_item(item_id)
            except NotFound:
                return False
            changed = change(item).model_copy(update={"updated_at": self.clock.now()})
            try:
                self.catalog.update_item(changed)
                return True
            except ConcurrentUpdate:
                continue
            except NotFound:
                return False
        raise ConcurrentUpdate(f"item {item_id} kept changing; giving up after {UPDATE_ATTEMPTS}")


def _parse(key: str) -> tuple[str, str] | None:
    """(project_id, item_id) of an item blob key; None (logged) for any other key, which no
    retry could make valid."""
    try:
        _, project_id, item_id, _ = parse_item_key(key)
    except InvalidInput as error:
        log.warning("ignoring %s: %s", key, error.message)
        return None
    return project_id, item_id


def _png(image: Image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
