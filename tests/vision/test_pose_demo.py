"""Person tags on the demo shop's own renders (studiolab/demo/images.py), whose truth is known:
a drawn figure facing the camera wears the garment, or the garment lies alone (packshot, back).

The figure has no eyes or mouth, so the face detector may miss it: these are the no-face
paths of vision/pose_rules.py. Nothing here reads UAB photos."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

pytest.importorskip("mediapipe")

from studiolab.demo import shapes
from studiolab.demo.catalog import ColourShare, Product, product_at
from studiolab.demo.colours import BY_NAME, HAIR_COLOURS
from studiolab.demo.images import SKIN, draw, garment_mask, label_map, output_size
from studiolab.vision.pose import KEYPOINTS, NO_PERSON, PersonMask, detect_person, tag
from studiolab.vision.skin import person_exclusion_mask

FREJA = 9  # freja-wool-coat-navy-0009: image 1 a figure, image 2 the flat coat
ZOE = 82  # zoe-tunic-burgundy-0082: image 1 the flat tunic
SIZE = output_size(400)


def pixels(product: Product, n: int, size: tuple[int, int] = SIZE) -> np.ndarray[Any, Any]:
    return np.asarray(draw(product, n, size).convert("RGB"))


def recoloured(product: Product, colour: str) -> Product:
    named = BY_NAME[colour]
    return dataclasses.replace(
        product, colours=(ColourShare(named.name, named.rgb, 1.0),), pattern="solid"
    )


def spec_n(product: Product, view: str) -> int:
    return next(spec.n for spec in product.images if spec.view == view)


@pytest.mark.parametrize(
    ("index", "view"), [(FREJA, "packshot"), (ZOE, "packshot")], ids=["freja-coat", "zoe-tunic"]
)
@pytest.mark.parametrize("width", [200, 400, 800])
def test_flat_packshots_the_person_mask_took_for_people_are_no_person(
    index: int, view: str, width: int
) -> None:
    """Seen in the UI: the flat Freja Wool Coat was tagged present with confidence 0.92 (the
    person mask covered it; it touches no edge of the frame)."""
    product = product_at(index)
    result = detect_person(pixels(product, spec_n(product, view), output_size(width)))
    assert result.tags.present is False and result.tags.framing == "none"


@pytest.mark.parametrize(
    "colour", ["beige", "camel", "cream", "rust", "pink", "mustard", "black", "navy"]
)
def test_a_product_only_render_in_skin_and_hair_colours_is_never_masked(colour: str) -> None:
    """Garments in the colours of skin (beige, camel, cream, pink) and hair (black, rust,
    mustard) laid flat: no person, and not one garment pixel in the exclusion mask."""
    product = recoloured(product_at(FREJA), colour)
    n = spec_n(product, "packshot")
    image = pixels(product, n)
    result = detect_person(image)
    assert result.tags.present is False
    mask = person_exclusion_mask(image, result)
    assert mask.shape == image.shape[:2]
    assert not mask[garment_mask(product, n, SIZE)].any()


def test_a_drawn_front_figure_is_a_full_body_person_and_never_a_back_view() -> None:
    """Seen in the UI: this front-facing figure came out as view "back" (no face found, both
    shoulders seen). Pose sees its nose, so it is not a back view."""
    product = product_at(FREJA)
    result = detect_person(pixels(product, spec_n(product, "model")))
    assert result.tags.present and result.tags.confidence > 0.8
    assert result.tags.framing == "full_body"
    assert result.tags.view != "back"


def test_a_drawn_figure_with_its_face_covered_by_hair_is_a_person_but_never_front() -> None:
    """The same figure turned away, as far as a drawing can say: the head is all hair."""
    product = product_at(FREJA)
    n = spec_n(product, "model")
    image = pixels(product, n).copy()
    frame = shapes.figure_frame(*SIZE)
    neck_top = frame.point(0.0, -0.07)[1]
    rows = np.arange(SIZE[1])[:, None]
    head = (label_map(product, n, SIZE) == SKIN) & (rows < neck_top)
    assert head.sum() > 100
    image[head] = HAIR_COLOURS[product.images[n - 1].hair]
    result = detect_person(image)
    assert result.tags.present
    assert result.tags.view != "front"


def test_several_drawn_figures_and_a_grey_one_do_not_crash() -> None:
    product = product_at(FREJA)
    figure = pixels(product, spec_n(product, "model"))
    crowd = np.concatenate([figure, figure, figure], axis=1)
    result = detect_person(crowd)
    assert person_exclusion_mask(crowd, result).shape == crowd.shape[:2]
    grey = figure.mean(axis=2).astype(np.uint8)
    assert detect_person(grey).tags.framing in ("full_body", "upper_body", "detail", "none")
    tiny = figure[::12, ::12]  # 34 x 42
    assert person_exclusion_mask(tiny, detect_person(tiny)).shape == tiny.shape[:2]


def test_the_mask_on_a_drawn_model_keeps_the_garment() -> None:
    """On a model image the exclusion mask may take skin and hair, not the garment."""
    product = product_at(FREJA)
    n = spec_n(product, "model")
    image = pixels(product, n)
    mask = person_exclusion_mask(image, detect_person(image))
    garment = garment_mask(product, n, SIZE)
    assert mask[garment].mean() < 0.02


# -- the rules these renders motivated, on keypoints ---------------------------------------------
def _upright(nose_visibility: float) -> dict[str, list[float]]:
    summary = {name: [0.5, 0.5, 0.01] for name in KEYPOINTS}
    summary.update(
        nose=[0.5, 0.12, nose_visibility],
        left_shoulder=[0.6, 0.25, 0.99],
        right_shoulder=[0.4, 0.25, 0.99],
        left_hip=[0.58, 0.55, 0.99],
        right_hip=[0.42, 0.55, 0.99],
    )
    return summary


def test_rules_no_face_is_back_only_when_pose_calls_the_nose_hidden() -> None:
    mask = PersonMask(share=0.2, confidence=0.9)
    assert tag(_upright(0.2), None, 0.0, 100, 100, mask=mask).tags.view == "back"
    assert tag(_upright(0.99), None, 0.0, 100, 100, mask=mask).tags.view == "unknown"


def test_rules_a_person_mask_inside_the_frame_alone_is_no_person() -> None:
    """A flat garment sits inside the frame; a body found by the mask alone is cut by it."""
    inside = PersonMask(share=0.3, confidence=0.95)
    assert tag({}, None, 0.0, 100, 100, mask=inside) == NO_PERSON
    cut = dataclasses.replace(inside, touches_bottom=True)
    assert tag({}, None, 0.0, 100, 100, mask=cut).tags.present
