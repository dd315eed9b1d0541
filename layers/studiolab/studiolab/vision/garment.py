"""Which pixels of a cut-out are garment: near-opaque ones only, minus what the caller excludes.

Background removers leave soft edges whose colour is part background (rembg even blends them
onto transparent black); counting them would add a dark "shadow" colour to every palette. So a
pixel is garment only when its alpha is at least `alpha_min` (250 by default), optionally after
eroding that mask by `erode_px`, and when it is not in `exclude` (skin, hair: the pose step).
"""

from __future__ import annotations

import numpy as np

from studiolab.domain.errors import InvalidInput, NoGarmentPixels
from studiolab.vision.types import RGBA, Mask

DEFAULT_ALPHA_MIN = 250


def garment_mask(
    rgba: RGBA,
    *,
    alpha_min: int = DEFAULT_ALPHA_MIN,
    erode_px: int = 0,
    exclude: Mask | None = None,
) -> Mask:
    """(H, W) bool mask of garment pixels. Raises `NoGarmentPixels` when none is left."""
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise InvalidInput(
            f"expected an (H, W, 4) uint8 RGBA array, got {rgba.shape} {rgba.dtype}",
            fields={"rgba": "not an (H, W, 4) uint8 array"},
        )
    if not 1 <= alpha_min <= 255:
        raise InvalidInput("alpha_min must be in 1..255", fields={"alpha_min": str(alpha_min)})
    if erode_px < 0:
        raise InvalidInput("erode_px must be >= 0", fields={"erode_px": str(erode_px)})
    mask: Mask = rgba[:, :, 3] >= alpha_min
    if erode_px and mask.any():
        mask = _erode(mask, erode_px)
    if exclude is not None:
        if exclude.shape != mask.shape:
            raise InvalidInput(
                f"exclusion mask is {exclude.shape}, the image is {mask.shape}",
                fields={"exclude": "shape differs from the image"},
            )
        mask &= ~exclude.astype(bool, copy=False)
    if not mask.any():
        raise NoGarmentPixels(
            "no garment pixels: nothing is opaque after background removal"
            + (" and exclusions" if exclude is not None else "")
        )
    return mask


def garment_fraction(mask: Mask) -> float:
    """Share of the image's pixels that are garment, in [0, 1]."""
    return float(np.count_nonzero(mask)) / mask.size if mask.size else 0.0


def _erode(mask: Mask, radius: int) -> Mask:
    """Erode with a disc of `radius` pixels. The image border does not erode: a garment cut
    by the frame keeps its pixels along the frame."""
    import cv2

    size = 2 * radius + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    eroded = cv2.erode(mask.view(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE)
    return eroded.astype(bool)
