"""Explanations: per-colour masks partition the garment, compact mask PNGs, overview sheet."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from studiolab.domain.errors import InvalidInput
from studiolab.vision.explain import colour_masks, mask_png, overview_sheet
from studiolab.vision.palette import extract_palette
from studiolab.vision.types import Palette

COLORS = [(200, 30, 30), (31, 119, 180), (235, 235, 225)]
Case = tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_], Palette]


def _print(size: int = 300) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """Three-colour stripes (40 / 40 / 20 %) inside an ellipse, noise, grey background."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    mask = ((xx - 0.5) / 0.4) ** 2 + ((yy - 0.5) / 0.45) ** 2 < 1
    phase = (np.arange(size) % 50) / 50
    index = np.broadcast_to(
        np.searchsorted([0.4, 0.8, 1.0], phase, side="right").clip(0, 2), mask.shape
    )
    rgb = np.array(COLORS, dtype=np.float64)[index] + rng.normal(0, 3, (size, size, 3))
    out = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    out[~mask] = (128, 128, 128)
    return out, mask


@pytest.fixture(scope="module")
def case() -> Case:
    rgb, mask = _print()
    return rgb, mask, extract_palette(rgb, mask)


def test_masks_partition_the_garment(case: Case) -> None:
    rgb, mask, palette = case
    masks = colour_masks(rgb, mask, palette)
    assert len(masks) == len(palette.colors) == 3
    stacked = np.stack(masks).astype(np.int64)
    assert all(m.shape == mask.shape and m.dtype == np.bool_ for m in masks)
    assert (stacked.sum(0)[mask] == 1).all()  # every garment pixel in exactly one mask
    assert (stacked.sum(0)[~mask] == 0).all()  # and nothing else


def test_mask_shares_match_palette_fractions(case: Case) -> None:
    rgb, mask, palette = case
    shares = [m.sum() / mask.sum() for m in colour_masks(rgb, mask, palette)]
    assert shares == pytest.approx([c.fraction for c in palette.colors], abs=0.02)
    for m, color in zip(colour_masks(rgb, mask, palette), palette.colors, strict=True):
        mean = rgb[m].mean(axis=0)
        assert np.abs(mean - np.array(color.rgb)).max() < 8  # the mask holds that colour


def test_masks_accept_rgba_views(case: Case) -> None:
    rgb, mask, palette = case
    rgba = np.dstack([rgb, np.where(mask, 255, 0).astype(np.uint8)])
    a = colour_masks(rgba[..., :3], mask, palette)
    b = colour_masks(rgb, mask, palette)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    with pytest.raises(InvalidInput):
        colour_masks(rgb, mask[:-1], palette)


def test_mask_png_is_compact_1_bit_and_lossless(case: Case) -> None:
    rgb, mask, palette = case
    m = colour_masks(rgb, mask, palette)[0]
    data = mask_png(m)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) < 4_000  # 90k pixels of stripes in a few KB
    image = Image.open(io.BytesIO(data))
    assert image.mode == "1"
    assert image.size == (m.shape[1], m.shape[0])
    assert np.array_equal(np.asarray(image.convert("L")) > 127, m)


def test_overview_sheet(case: Case) -> None:
    rgb, mask, palette = case
    rgba = np.dstack([rgb, np.where(mask, 255, 0).astype(np.uint8)])
    masks = colour_masks(rgb, mask, palette)
    sheet = overview_sheet(rgba, palette, masks)
    assert isinstance(sheet, Image.Image)
    assert sheet.mode == "RGB"
    assert sheet.width >= 512
    assert sheet.height > 512
    pixels = np.asarray(sheet)
    corner = pixels[:8, :8].reshape(-1, 3)  # transparent corner: checkerboard greys
    assert set(map(tuple, corner.tolist())) <= {(236, 236, 236), (204, 204, 204)}
    for color in palette.colors:  # every swatch colour is painted on the sheet
        assert (pixels.reshape(-1, 3) == np.array(color.rgb)).all(axis=1).sum() > 500


def test_overview_sheet_single_colour_and_bad_input() -> None:
    rgb = np.zeros((40, 60, 3), dtype=np.uint8)
    rgb[:] = (0x1F, 0x77, 0xB4)
    mask = np.ones((40, 60), dtype=bool)
    palette = extract_palette(rgb, mask)
    rgba = np.dstack([rgb, np.full((40, 60), 255, np.uint8)])
    sheet = overview_sheet(rgba, palette, colour_masks(rgb, mask, palette))
    assert sheet.size[0] >= 512
    with pytest.raises(InvalidInput):
        overview_sheet(rgb, palette, [])
