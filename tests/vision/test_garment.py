"""Garment pixels: near-opaque only, optional erosion, minus an exclusion mask."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from studiolab.domain.errors import InvalidInput, NoGarmentPixels
from studiolab.vision.garment import garment_fraction, garment_mask


def rgba_with_alpha(alpha: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    rgba = np.zeros((*alpha.shape, 4), dtype=np.uint8)
    rgba[:, :, :3] = (40, 70, 180)
    rgba[:, :, 3] = alpha
    return rgba


def square(size: int = 40, lo: int = 10, hi: int = 30) -> npt.NDArray[np.uint8]:
    alpha = np.zeros((size, size), dtype=np.uint8)
    alpha[lo:hi, lo:hi] = 255
    return rgba_with_alpha(alpha)


def test_only_near_opaque_pixels_count() -> None:
    # rembg's soft edges (alpha < 250, colour blended towards black) must never count
    rgba = rgba_with_alpha(np.array([[0, 1, 128, 249, 250, 255]], dtype=np.uint8))

    mask = garment_mask(rgba)

    assert mask.dtype == np.bool_
    assert mask.tolist() == [[False, False, False, False, True, True]]


def test_custom_alpha_threshold() -> None:
    rgba = rgba_with_alpha(np.array([[0, 128, 200, 255]], dtype=np.uint8))

    assert garment_mask(rgba, alpha_min=128).tolist() == [[False, True, True, True]]
    assert garment_mask(rgba, alpha_min=255).tolist() == [[False, False, False, True]]


def test_erosion_shrinks_the_mask_by_the_radius() -> None:
    mask = garment_mask(square(), erode_px=2)

    assert mask.sum() == 16 * 16
    assert mask[12:28, 12:28].all()


def test_erosion_does_not_eat_the_frame_edge() -> None:
    alpha = np.zeros((20, 20), dtype=np.uint8)
    alpha[:, :10] = 255  # a garment cut by the left edge of the photo

    mask = garment_mask(rgba_with_alpha(alpha), erode_px=3)

    assert mask[:, 0].all()  # the frame side is kept
    assert not mask[:, 7:].any()  # the inner side is eroded


def test_exclusion_mask_is_removed() -> None:
    exclude = np.zeros((40, 40), dtype=bool)
    exclude[10:20, 10:30] = True  # e.g. skin from the pose step

    mask = garment_mask(square(), exclude=exclude)

    assert mask.sum() == 10 * 20
    assert not mask[10:20].any()


def test_exclusion_mask_with_another_shape_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as info:
        garment_mask(square(), exclude=np.zeros((40, 41), dtype=bool))
    assert "exclude" in info.value.fields


def test_nothing_opaque_is_no_garment_pixels() -> None:
    with pytest.raises(NoGarmentPixels) as info:
        garment_mask(rgba_with_alpha(np.full((8, 8), 249, dtype=np.uint8)))
    assert info.value.code == "no_garment_pixels"


def test_everything_excluded_is_no_garment_pixels() -> None:
    with pytest.raises(NoGarmentPixels):
        garment_mask(square(), exclude=np.ones((40, 40), dtype=bool))


def test_erosion_that_removes_everything_is_no_garment_pixels() -> None:
    with pytest.raises(NoGarmentPixels):
        garment_mask(square(lo=10, hi=13), erode_px=2)


def test_bad_parameters() -> None:
    with pytest.raises(InvalidInput) as info:
        garment_mask(square(), alpha_min=0)
    assert "alpha_min" in info.value.fields
    with pytest.raises(InvalidInput) as info:
        garment_mask(square(), erode_px=-1)
    assert "erode_px" in info.value.fields


def test_not_an_rgba_array() -> None:
    with pytest.raises(InvalidInput):
        garment_mask(np.zeros((4, 4, 3), dtype=np.uint8))


def test_input_is_not_modified() -> None:
    rgba = square()
    before = rgba.copy()

    garment_mask(rgba, erode_px=1, exclude=np.zeros((40, 40), dtype=bool))

    assert np.array_equal(rgba, before)


def test_garment_fraction() -> None:
    mask = garment_mask(square())

    assert garment_fraction(mask) == pytest.approx(400 / 1600)
    assert garment_fraction(np.zeros((0, 0), dtype=bool)) == 0.0
