"""Value types shared by the vision modules (decode -> segment -> garment mask -> palette)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from studiolab.domain.models import PaletteColor

RGBA = npt.NDArray[np.uint8]  # (H, W, 4)
RGB = npt.NDArray[np.uint8]  # (H, W, 3)
Mask = npt.NDArray[np.bool_]  # (H, W)


@dataclass(frozen=True)
class DecodedImage:
    rgba: RGBA  # EXIF-oriented, 8-bit sRGB, downscaled so the long side <= max_side
    has_alpha: bool  # the source carried real transparency (some alpha < 255)
    source_size: tuple[int, int]  # (width, height) before downscaling
    format: str  # Pillow's format name: "JPEG", "PNG", "WEBP", ...


@dataclass(frozen=True)
class Palette:
    colors: list[PaletteColor]  # sorted by fraction, descending; fractions sum to 1
    centroids_lab: npt.NDArray[np.float64]  # (k, 3), same order as colors
    garment_pixels: int  # pixels the fractions are of
