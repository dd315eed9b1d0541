"""Palette extraction: exact colours, fractions, automatic k, shading, determinism, Lab maths."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image
from skimage.color import lab2rgb, rgb2lab

from studiolab.domain.errors import InvalidInput, NoGarmentPixels
from studiolab.vision.naming import delta_e00
from studiolab.vision.palette import (
    assign_labels,
    extract_palette,
    lab_to_srgb,
    srgb_to_lab,
)
from studiolab.vision.types import Palette

U8 = npt.NDArray[np.uint8]


def _ellipse(size: int = 400) -> npt.NDArray[np.bool_]:
    yy, xx = np.mgrid[0:size, 0:size] / size
    inside: npt.NDArray[np.bool_] = ((xx - 0.5) / 0.35) ** 2 + ((yy - 0.5) / 0.45) ** 2 < 1
    return inside


def _linear(rgb: npt.ArrayLike) -> npt.NDArray[np.float64]:
    v = np.asarray(rgb, dtype=np.float64) / 255.0
    return np.where(v > 0.04045, ((v + 0.055) / 1.055) ** 2.4, v / 12.92)


def _encode(lin: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    x = np.clip(lin, 0.0, 1.0)
    return np.where(x > 0.0031308, 1.055 * x ** (1 / 2.4) - 0.055, 12.92 * x) * 255.0


def _garment(
    colors: list[tuple[int, int, int]],
    fractions: list[float] | None = None,
    *,
    size: int = 400,
    period: int = 40,
    shading: float = 0.0,
    noise: float = 0.0,
    jpeg: int | None = None,
    background: tuple[int, int, int] = (255, 255, 255),
    seed: int = 0,
) -> tuple[U8, npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """Vertical stripes of ``colors`` in ``fractions`` of each period, optional Lambertian
    shading (linear-light scaling), noise and JPEG; returns (rgb, mask, true fractions)."""
    rng = np.random.default_rng(seed)
    mask = _ellipse(size)
    fractions = fractions or [1.0 / len(colors)] * len(colors)
    phase = (np.arange(size) % period) / period
    index = np.searchsorted(np.cumsum(fractions), phase, side="right").clip(0, len(colors) - 1)
    index = np.broadcast_to(index, (size, size))
    lin = _linear(colors)[index]
    if shading:
        yy, xx = np.mgrid[0:size, 0:size] / size
        lin = (
            lin
            * (1 + shading * (0.6 * np.sin(xx * 9 + 1) * np.cos(yy * 5) + 0.4 * np.sin(yy * 13)))[
                ..., None
            ]
        )
    img = _encode(lin)
    if noise:
        img = img + rng.normal(0.0, noise, img.shape)
    out = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    out[~mask] = background
    if jpeg:
        buf = io.BytesIO()
        Image.fromarray(out).save(buf, "JPEG", quality=jpeg)
        out = np.asarray(Image.open(buf).convert("RGB")).copy()
    truth = np.bincount(index[mask], minlength=len(colors)) / mask.sum()
    return out, mask, truth


def _fractions(palette: Palette) -> list[float]:
    return [c.fraction for c in palette.colors]


def _same(a: Palette, b: Palette) -> bool:
    return (
        a.colors == b.colors
        and np.array_equal(a.centroids_lab, b.centroids_lab)
        and a.garment_pixels == b.garment_pixels
    )


def test_solid_colour_gives_its_exact_hex() -> None:
    rgb, mask, _ = _garment([(0x1F, 0x77, 0xB4)])
    palette = extract_palette(rgb, mask)
    assert len(palette.colors) == 1
    color = palette.colors[0]
    assert color.hex == "#1f77b4"
    assert color.rgb == (0x1F, 0x77, 0xB4)
    assert color.fraction == 1.0
    assert palette.garment_pixels == int(mask.sum())
    expected = rgb2lab(np.array([[[0x1F, 0x77, 0xB4]]]) / 255.0)[0, 0]
    assert np.allclose(color.lab, expected, atol=0.01)
    assert color.basic == "Blue"
    assert color.delta_e >= 0


@pytest.mark.parametrize("jpeg", [None, 90])
def test_two_colours_known_split(jpeg: int | None) -> None:
    rgb, mask, truth = _garment([(200, 30, 30), (31, 119, 180)], [0.3, 0.7], noise=3, jpeg=jpeg)
    palette = extract_palette(rgb, mask)
    assert [c.basic for c in palette.colors] == ["Blue", "Red"]
    assert _fractions(palette) == pytest.approx([truth[1], truth[0]], abs=0.02)
    assert palette.colors[0].fraction >= palette.colors[1].fraction


def test_three_colour_print_fractions() -> None:
    colors = [(240, 200, 40), (30, 120, 60), (232, 232, 226)]
    rgb, mask, truth = _garment(colors, [0.5, 0.3, 0.2], noise=4, shading=0.2, jpeg=85, period=60)
    palette = extract_palette(rgb, mask)
    assert len(palette.colors) == 3
    lab_truth = rgb2lab(np.array([colors]) / 255.0)[0]
    for true_lab, fraction in zip(lab_truth, truth, strict=True):
        de = delta_e00(palette.centroids_lab, true_lab)
        i = int(np.argmin(de))
        assert de[i] < 3.0
        assert palette.colors[i].fraction == pytest.approx(fraction, abs=0.03)


@pytest.mark.parametrize(
    "color", [(31, 119, 180), (25, 35, 70), (200, 30, 40), (235, 235, 232), (25, 25, 28)]
)
def test_shaded_single_colour_is_one_colour(color: tuple[int, int, int]) -> None:
    rgb, mask, _ = _garment([color], shading=0.5, noise=6, jpeg=85)
    palette = extract_palette(rgb, mask)
    assert len(palette.colors) == 1
    assert palette.colors[0].fraction == 1.0
    true_lab = rgb2lab(np.array([[color]]) / 255.0)[0, 0]
    assert float(delta_e00(palette.centroids_lab[0], true_lab)) < 2.0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((20, 20, 20), (240, 240, 240)),
        ((30, 40, 80), (120, 160, 210)),
        ((40, 40, 40), (130, 130, 130)),
    ],
)
def test_same_hue_colours_stay_apart(a: tuple[int, int, int], b: tuple[int, int, int]) -> None:
    """Black/white stripes, navy/sky blue, charcoal/grey differ only in lightness - shading
    links must not merge them (there is a density valley between them)."""
    rgb, mask, truth = _garment([a, b], [0.6, 0.4], noise=4, shading=0.3, jpeg=85, period=30)
    palette = extract_palette(rgb, mask)
    assert len(palette.colors) == 2
    assert _fractions(palette) == pytest.approx(sorted(truth, reverse=True), abs=0.03)


def test_black_to_white_gradient_is_not_one_shaded_colour() -> None:
    ramp = np.linspace(0, 255, 400).astype(np.uint8)
    rgb = np.repeat(np.tile(ramp[None, :], (400, 1))[..., None], 3, axis=2)
    palette = extract_palette(rgb, np.ones((400, 400), dtype=bool))
    assert len(palette.colors) >= 2
    assert {c.basic for c in palette.colors} >= {"Black"}


def test_background_outside_the_mask_is_ignored() -> None:
    rgb, mask, _ = _garment([(31, 119, 180)], background=(250, 10, 10))
    palette = extract_palette(rgb, mask)
    assert [c.hex for c in palette.colors] == ["#1f77b4"]
    assert palette.garment_pixels == int(mask.sum())


def test_rgba_view_is_accepted_without_copy_semantics_changing() -> None:
    rgb, mask, _ = _garment([(200, 30, 30), (31, 119, 180)], [0.3, 0.7])
    rgba = np.dstack([rgb, np.where(mask, 255, 0).astype(np.uint8)])
    a = extract_palette(rgba[..., :3], rgba[..., 3] >= 250)
    b = extract_palette(np.ascontiguousarray(rgb), mask)
    assert _same(a, b)


def test_all_masked_raises_no_garment_pixels() -> None:
    rgb = np.zeros((20, 30, 3), dtype=np.uint8)
    with pytest.raises(NoGarmentPixels) as info:
        extract_palette(rgb, np.zeros((20, 30), dtype=bool))
    assert info.value.code == "no_garment_pixels"


def test_bad_arguments_are_invalid_input() -> None:
    rgb = np.zeros((20, 30, 3), dtype=np.uint8)
    with pytest.raises(InvalidInput):
        extract_palette(rgb, np.ones((20, 31), dtype=bool))
    with pytest.raises(InvalidInput):
        extract_palette(rgb, np.ones((20, 30), dtype=bool), max_colors=0)


def test_max_colors_is_respected() -> None:
    colors = [
        (230, 30, 30),
        (30, 160, 60),
        (30, 60, 200),
        (240, 220, 40),
        (20, 20, 20),
        (245, 245, 245),
    ]
    rgb, mask, _ = _garment(colors, period=60)
    assert len(extract_palette(rgb, mask).colors) == 5
    three = extract_palette(rgb, mask, max_colors=3)
    assert len(three.colors) == 3
    assert sum(_fractions(three)) == pytest.approx(1.0, abs=1e-12)
    one = extract_palette(rgb, mask, max_colors=1)
    assert len(one.colors) == 1
    assert one.colors[0].fraction == 1.0


def test_fractions_sum_to_one_and_are_sorted() -> None:
    colors = [(230, 30, 30), (30, 160, 60), (30, 60, 200), (240, 220, 40)]
    rgb, mask, _ = _garment(colors, [0.4, 0.3, 0.2, 0.1], noise=5, jpeg=90, period=80)
    fractions = _fractions(extract_palette(rgb, mask))
    assert sum(round(f * 10_000) for f in fractions) == 10_000  # exact in 1e-4 units
    assert sum(fractions) == pytest.approx(1.0, abs=1e-12)
    assert fractions == sorted(fractions, reverse=True)


def test_deterministic() -> None:
    rgb, mask, _ = _garment(
        [(200, 30, 30), (31, 119, 180)], [0.3, 0.7], noise=6, shading=0.3, jpeg=80
    )
    first = extract_palette(rgb, mask, seed=7)
    second = extract_palette(rgb.copy(), mask.copy(), seed=7)
    assert _same(first, second)
    other_seed = extract_palette(rgb, mask, seed=8)
    assert [c.hex[:3] for c in other_seed.colors] == [c.hex[:3] for c in first.colors]
    assert _fractions(other_seed) == pytest.approx(_fractions(first), abs=0.01)


def test_small_masks_use_every_pixel() -> None:
    rgb = np.zeros((3, 3, 3), dtype=np.uint8)
    rgb[1, 1] = (10, 200, 30)
    mask = np.zeros((3, 3), dtype=bool)
    mask[1, 1] = True
    palette = extract_palette(rgb, mask)
    assert [(c.hex, c.fraction) for c in palette.colors] == [("#0ac81e", 1.0)]
    assert palette.garment_pixels == 1


def test_assign_labels_matches_nearest_palette_colour() -> None:
    rgb, mask, _ = _garment([(200, 30, 30), (31, 119, 180)], [0.3, 0.7])
    palette = extract_palette(rgb, mask)
    labels = assign_labels(
        np.array([[200, 30, 30], [31, 119, 180], [190, 40, 40]], np.uint8), palette
    )
    assert labels.tolist() == [1, 0, 1]
    assert assign_labels(np.zeros((0, 3), np.uint8), palette).shape == (0,)


def test_lab_conversion_agrees_with_skimage() -> None:
    levels = np.arange(0, 256, 3, dtype=np.uint8)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    ours = srgb_to_lab(grid)
    theirs = rgb2lab(grid[None].astype(np.float64) / 255.0)[0]
    assert np.abs(ours - theirs).max() < 0.01
    assert np.abs(ours - theirs).max() < 1e-9  # in fact the same formulas


def test_lab_to_srgb_round_trips_every_grey_and_random_colours() -> None:
    rng = np.random.default_rng(0)
    colors = np.concatenate(
        [
            np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, 1),
            rng.integers(0, 256, (5000, 3), dtype=np.uint8),
        ]
    )
    assert np.array_equal(lab_to_srgb(srgb_to_lab(colors)), colors)
    lab = srgb_to_lab(colors[:50])
    assert np.allclose(lab_to_srgb(lab) / 255.0, lab2rgb(lab[None])[0], atol=1 / 255)
