"""studiolab's colour engine as the benchmark calls it: the public vision functions only."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

RGBA = npt.NDArray[np.uint8]
UPSCALE_FACTOR = 4


@dataclass(frozen=True)
class OurColours:
    lab: npt.NDArray[np.float64]  # (k, 3)
    fractions: list[float]
    basics: list[str]
    palette: Any  # studiolab.vision.types.Palette


class Ours:
    """decode -> segment -> garment pixels -> palette, through studiolab.vision."""

    def __init__(self, model: str = "u2netp", models_dir: Path | None = None) -> None:
        from studiolab.vision.decode import decode_image
        from studiolab.vision.garment import garment_mask
        from studiolab.vision.palette import extract_palette
        from studiolab.vision.segment import get_segmenter

        self._decode = decode_image
        self._garment_mask = garment_mask
        self._extract_palette = extract_palette
        self.segmenter = get_segmenter(model, models_dir=models_dir)
        self.model = model

    def decode(self, data: bytes) -> Any:
        return self._decode(data)

    def segment(self, image: Any) -> RGBA:
        return np.asarray(self.segmenter.cut_out(image))

    def mask(self, rgba: RGBA) -> npt.NDArray[np.bool_]:
        return np.asarray(self._garment_mask(rgba))

    def extract(self, rgba: RGBA, mask: npt.NDArray[np.bool_]) -> Any:
        return self._extract_palette(rgba[..., :3], mask)

    def palette(self, rgba: RGBA) -> OurColours:
        """The palette step as the CLI runs it: garment_mask + extract_palette."""
        pal = self.extract(rgba, self.mask(rgba))
        return OurColours(
            lab=np.asarray(pal.centroids_lab, dtype=np.float64).reshape(-1, 3),
            fractions=[float(c.fraction) for c in pal.colors],
            basics=[str(c.basic) for c in pal.colors],
            palette=pal,
        )

    def decode_upscaled(self, data: bytes, factor: int = UPSCALE_FACTOR) -> Any:
        """Upscale a tiny photo (bicubic) before segmentation, as a user might: re-encoded
        losslessly and decoded through the same safe decoder."""
        image = Image.open(io.BytesIO(data)).convert("RGB")
        big = image.resize((image.width * factor, image.height * factor), Image.Resampling.BICUBIC)
        buf = io.BytesIO()
        big.save(buf, format="PNG", compress_level=1)
        return self._decode(buf.getvalue())


def with_mask(rgba: RGBA, mask: npt.NDArray[np.bool_]) -> RGBA:
    """The image's colours with a hard alpha from a (ground-truth) mask."""
    out = np.array(rgba, dtype=np.uint8, copy=True)
    out[..., 3] = np.where(mask, 255, 0).astype(np.uint8)
    return out


class Namer:
    """OUR namer (nearest ISCC-NBS centroid by CIEDE2000 -> basic term) for any Lab colours."""

    def __init__(self) -> None:
        from studiolab.vision.naming import default_namer

        self._namer = default_namer()

    def basics(self, lab: npt.ArrayLike) -> list[str]:
        arr = np.atleast_2d(np.asarray(lab, dtype=np.float64))
        if arr.size == 0:
            return []
        result = self._namer.name(arr)
        basic = result[1]
        if isinstance(basic, str):  # a scalar API: name one colour per call
            return [str(self._namer.name(row)[1]) for row in arr]
        return [str(b) for b in basic]
