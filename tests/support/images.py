"""Small synthetic product photos for tests: a garment-like shape on a plain background."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw


def product_photo(
    colour: tuple[int, int, int] = (200, 30, 40),
    *,
    background: tuple[int, int, int] = (255, 255, 255),
    size: tuple[int, int] = (240, 320),
    fmt: str = "JPEG",
) -> bytes:
    """A T-shirt-ish polygon of one colour, centred, on `background`."""
    width, height = size
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    w, h = width, height
    draw.polygon(
        [
            (0.30 * w, 0.15 * h),
            (0.70 * w, 0.15 * h),
            (0.90 * w, 0.35 * h),
            (0.78 * w, 0.45 * h),
            (0.72 * w, 0.40 * h),
            (0.72 * w, 0.88 * h),
            (0.28 * w, 0.88 * h),
            (0.28 * w, 0.40 * h),
            (0.22 * w, 0.45 * h),
            (0.10 * w, 0.35 * h),
        ],
        fill=colour,
    )
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def cutout_png(colours: list[tuple[int, int, int]], *, size: int = 100) -> bytes:
    """An RGBA PNG: vertical stripes of `colours` in the middle half, transparent around."""
    rgba = np.zeros((size, size, 4), np.uint8)
    lo, hi = size // 4, 3 * size // 4
    stripe = (hi - lo) // len(colours)
    for index, colour in enumerate(colours):
        end = hi if index == len(colours) - 1 else lo + (index + 1) * stripe
        rgba[lo:hi, lo + index * stripe : end, :3] = colour
        rgba[lo:hi, lo + index * stripe : end, 3] = 255
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()
