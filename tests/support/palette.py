"""Palette colours for test items: one sRGB colour with its Lab values, covering the item."""

from __future__ import annotations

import numpy as np

from studiolab.domain.models import PaletteColor
from studiolab.vision.naming import srgb_to_lab


def single_colour(rgb: tuple[int, int, int], basic: str) -> PaletteColor:
    lab = srgb_to_lab(np.array([rgb], dtype=np.uint8))[0]
    return PaletteColor.model_validate(
        {
            "hex": "#" + "".join(f"{v:02x}" for v in rgb),
            "rgb": rgb,
            "lab": tuple(float(v) for v in lab),
            "fraction": 1.0,
            "name": basic.lower(),
            "basic": basic,
            "delta_e": 0.0,
        }
    )
