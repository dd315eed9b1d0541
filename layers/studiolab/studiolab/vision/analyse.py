"""One image, end to end: decode -> cut-out -> garment pixels -> palette, with per-stage
timings. The CLI and the pipeline handlers both call this; nothing here does I/O."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studiolab.vision.types import RGBA, DecodedImage, Mask, Palette

if TYPE_CHECKING:
    from studiolab.vision.pose import PersonResult

DEFAULT_MODEL = "u2netp"
DEFAULT_MAX_COLORS = 5


@dataclass
class Timings:
    ms: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = round((time.perf_counter() - start) * 1000, 3)


@dataclass(frozen=True)
class CutOut:
    image: DecodedImage
    rgba: RGBA
    model: str


@dataclass(frozen=True)
class Analysis:
    cutout: CutOut
    mask: Mask
    palette: Palette
    timings_ms: dict[str, float]
    person: PersonResult | None = None  # set when analyse_image(detect_people=True)

    @property
    def garment_fraction(self) -> float:
        return float(self.mask.mean())

    def to_result(self, path: str) -> dict[str, Any]:
        """The `studiolab palette` result object (keys fixed by the colour engine issue)."""
        width, height = self.cutout.image.source_size
        return {
            "path": path,
            "ok": True,
            "width": width,
            "height": height,
            "model": self.cutout.model,
            "garment_fraction": round(self.garment_fraction, 4),
            "colors": [
                {
                    "hex": color.hex,
                    "rgb": list(color.rgb),
                    "lab": [round(value, 2) for value in color.lab],
                    "fraction": round(color.fraction, 4),
                    "name": color.name,
                    "basic": color.basic,
                    "delta_e": round(color.delta_e, 2),
                }
                for color in self.palette.colors
            ],
            "timings_ms": {
                stage: self.timings_ms.get(stage, 0.0) for stage in ("decode", "segment", "palette")
            },
            "person": self.person.to_dict() if self.person is not None else None,
        }


def cut_out(
    data: bytes,
    *,
    model: str = DEFAULT_MODEL,
    models_dir: Path | None = None,
    timings: Timings | None = None,
) -> CutOut:
    from studiolab.vision.decode import decode_image
    from studiolab.vision.segment import get_segmenter

    timings = timings or Timings()
    segmenter = get_segmenter(model, models_dir=models_dir)  # ModelMissing before decoding
    with timings.stage("decode"):
        image = decode_image(data)
    with timings.stage("segment"):
        rgba = segmenter.cut_out(image)
    return CutOut(image=image, rgba=rgba, model=model)


def palette_of(
    rgba: RGBA,
    *,
    max_colors: int = DEFAULT_MAX_COLORS,
    exclude: Mask | None = None,
    timings: Timings | None = None,
) -> tuple[Mask, Palette]:
    from studiolab.vision.garment import garment_mask
    from studiolab.vision.palette import extract_palette

    timings = timings or Timings()
    with timings.stage("palette"):
        mask = garment_mask(rgba, exclude=exclude)
        palette = extract_palette(rgba[..., :3], mask, max_colors=max_colors)
    return mask, palette


def analyse_image(
    data: bytes,
    *,
    model: str = DEFAULT_MODEL,
    max_colors: int = DEFAULT_MAX_COLORS,
    models_dir: Path | None = None,
    exclude: Mask | None = None,
    detect_people: bool = False,
) -> Analysis:
    """`detect_people`: tag the human model (vision/pose.py) on the decoded photo and leave
    their skin, face and hair out of the palette (vision/skin.py), on top of `exclude`."""
    timings = Timings()
    cutout = cut_out(data, model=model, models_dir=models_dir, timings=timings)
    person = None
    if detect_people:
        from studiolab.vision.pose import detect_person
        from studiolab.vision.skin import person_exclusion_mask

        with timings.stage("person"):
            person = detect_person(cutout.image.rgba)
            skin = person_exclusion_mask(cutout.image.rgba, person)
        if skin.any():
            exclude = skin if exclude is None else (exclude | skin)
    mask, palette = palette_of(cutout.rgba, max_colors=max_colors, exclude=exclude, timings=timings)
    return Analysis(cutout=cutout, mask=mask, palette=palette, timings_ms=timings.ms, person=person)


def encode_png(rgba: RGBA) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def thumbnail_jpeg(rgba: RGBA, *, size: int = 320) -> bytes:
    """The cut-out on white, long side `size`, as the gallery shows it."""
    from PIL import Image

    image = Image.fromarray(rgba, "RGBA")
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    white = Image.new("RGB", image.size, (255, 255, 255))
    white.paste(image, mask=image.getchannel("A"))
    buffer = io.BytesIO()
    white.save(buffer, format="JPEG", quality=85, optimize=True)
    return buffer.getvalue()
