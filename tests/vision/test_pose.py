"""Model and pose tags (vision/pose.py) and the garment-only exclusion mask (vision/skin.py).

Real people come from images that installed packages ship: scikit-image's `astronaut` (front,
waist-up) and `camera`, matplotlib's `grace_hopper.jpg` (front, head and shoulders). Products
are the synthetic photos of tests/support/images.py."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.support.images import product_photo

pytest.importorskip("mediapipe")

from studiolab.vision.pose import KEYPOINTS, NO_PERSON, PersonMask, detect_person, tag
from studiolab.vision.skin import person_exclusion_mask

PRODUCT_COLOURS = [(200, 30, 40), (20, 60, 180), (230, 190, 160), (25, 25, 25), (240, 240, 240)]


def astronaut() -> np.ndarray[Any, Any]:
    import skimage.data

    return np.asarray(skimage.data.astronaut())  # type: ignore[no-untyped-call]


def grace_hopper() -> np.ndarray[Any, Any]:
    from matplotlib import cbook

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return np.asarray(Image.open(str(path)).convert("RGB"))


def product(colour: tuple[int, int, int]) -> np.ndarray[Any, Any]:
    return np.asarray(Image.open(io.BytesIO(product_photo(colour))).convert("RGB"))


def points(**given: tuple[float, ...]) -> dict[str, list[float]]:
    """All 13 keypoints, invisible unless given as name=(x, y) (visible) or (x, y, visibility)."""
    summary = {name: [0.5, 0.5, 0.01] for name in KEYPOINTS}
    for name, point in given.items():
        summary[name] = [point[0], point[1], point[2] if len(point) > 2 else 0.99]
    return summary


PERSON_MASK = PersonMask(share=0.4, touches_bottom=True, confidence=0.9)


@pytest.mark.parametrize("load", [astronaut, grace_hopper], ids=["astronaut", "grace_hopper"])
def test_a_real_person_facing_the_camera_is_front_upper_body(load: Any) -> None:
    image = load()
    result = detect_person(image)
    assert result.tags.present and result.tags.confidence > 0.8
    assert (result.tags.view, result.tags.framing) == ("front", "upper_body")
    assert result.face_box is not None
    x0, y0, x1, y1 = result.face_box
    assert 0 <= x0 < x1 <= image.shape[1] and 0 <= y0 < y1 <= image.shape[0] * 0.6
    # the summary is compact and JSON-ready
    summary = result.to_dict()
    assert set(summary) == {"present", "confidence", "view", "framing", "keypoints", "face_box"}
    assert set(summary["keypoints"]) == set(KEYPOINTS)
    # the person's left shoulder is on the image's right
    assert summary["keypoints"]["left_shoulder"][0] > summary["keypoints"]["right_shoulder"][0]


@pytest.mark.parametrize("colour", PRODUCT_COLOURS)
def test_a_product_photo_has_no_person_and_is_not_masked(colour: tuple[int, int, int]) -> None:
    image = product(colour)
    result = detect_person(image)
    assert result.tags.present is False and result.tags.framing == "none"
    assert result.tags.confidence == 0.0
    assert not person_exclusion_mask(image, result).any()


def test_a_hidden_face_still_gives_a_person_but_never_a_front_view() -> None:
    image = astronaut().copy()
    image[40:200, 150:300] = (60, 45, 35)  # the head covered, as seen from behind
    result = detect_person(image)
    assert result.tags.present  # the person mask finds the body without a face
    assert result.tags.view != "front"
    assert result.tags.framing == "upper_body"
    assert result.person_share > 0.25


def test_a_small_catalogue_size_photo_of_a_person_is_found() -> None:
    small = np.asarray(Image.fromarray(astronaut()).resize((60, 60), Image.Resampling.BICUBIC))
    result = detect_person(small)  # upscaled before the graphs
    assert (result.tags.present, result.tags.view) == (True, "front")


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((1, 1, 3), np.uint8),
        np.full((8, 12, 3), 128, np.uint8),
        np.zeros((0, 5, 3), np.uint8),
        np.asarray(Image.fromarray(astronaut()).resize((40, 40))),
    ],
    ids=["1x1", "8x12", "empty", "40x40"],
)
def test_tiny_images_do_not_crash(image: np.ndarray[Any, Any]) -> None:
    result = detect_person(image)
    assert result.tags.present is False or result.tags.framing != "none"
    assert person_exclusion_mask(image, result).shape == image.shape[:2]


def test_grayscale_rgba_and_several_people_do_not_crash() -> None:
    photo = astronaut()
    grey = photo.mean(axis=2).astype(np.uint8)
    assert detect_person(grey).tags.present
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    assert detect_person(rgba).tags.view == "front"
    two = np.concatenate([photo, photo], axis=1)
    result = detect_person(two)  # one person is tagged: the most prominent
    assert result.tags.present
    assert person_exclusion_mask(two, result).shape == two.shape[:2]


def test_concurrent_calls_share_one_detector_and_agree() -> None:
    photo = astronaut()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: detect_person(photo), range(8)))
    assert len({(r.tags.model_dump_json(), r.face_box) for r in results}) == 1


# -- the rules, on keypoints -------------------------------------------------------------------
FACE = (40, 10, 60, 30)


def test_rules_face_and_left_shoulder_on_the_right_is_front_full_body() -> None:
    keypoints = points(
        nose=(0.5, 0.1),
        left_shoulder=(0.65, 0.25),
        right_shoulder=(0.35, 0.25),
        left_hip=(0.6, 0.55),
        right_hip=(0.4, 0.55),
        left_ankle=(0.6, 0.95),
    )
    tags = tag(keypoints, FACE, 0.9, 100, 100).tags
    assert (tags.present, tags.view, tags.framing) == (True, "front", "full_body")


def test_rules_shoulders_without_a_face_is_back() -> None:
    keypoints = points(
        nose=(0.5, 0.12, 0.3),  # extrapolated above the shoulders, not seen
        left_shoulder=(0.35, 0.25),
        right_shoulder=(0.65, 0.25),
        left_hip=(0.4, 0.55),
        right_hip=(0.6, 0.55),
    )
    tags = tag(keypoints, None, 0.0, 100, 100, mask=PERSON_MASK).tags
    assert (tags.present, tags.view, tags.framing) == (True, "back", "upper_body")


def test_rules_a_made_up_skeleton_without_face_or_person_mask_is_no_person() -> None:
    """What BlazePose returns on shoes and headless crops: a nose below the shoulders, a
    torso a few pixels tall, or a body where the person mask sees nothing."""
    upside_down = points(
        nose=(0.5, 0.5),
        left_shoulder=(0.6, 0.3),
        right_shoulder=(0.4, 0.3),
        left_hip=(0.6, 0.1),
        right_hip=(0.4, 0.1),
    )
    nose_below = points(
        nose=(0.5, 0.4),
        left_shoulder=(0.6, 0.3),
        right_shoulder=(0.4, 0.3),
        left_hip=(0.6, 0.7),
        right_hip=(0.4, 0.7),
    )
    tiny = points(
        nose=(0.5, 0.49),
        left_shoulder=(0.51, 0.5),
        right_shoulder=(0.49, 0.5),
        left_hip=(0.51, 0.53),
        right_hip=(0.49, 0.53),
    )
    for keypoints in (upside_down, nose_below, tiny):
        assert tag(keypoints, None, 0.0, 100, 100, mask=PersonMask()) == NO_PERSON
    upright = points(
        nose=(0.5, 0.1),
        left_shoulder=(0.6, 0.25),
        right_shoulder=(0.4, 0.25),
        left_hip=(0.6, 0.55),
        right_hip=(0.4, 0.55),
    )
    assert tag(upright, None, 0.0, 100, 100) == NO_PERSON  # no mask behind it
    assert tag(upright, None, 0.0, 100, 100, mask=PERSON_MASK).tags.present


def test_rules_the_person_mask_alone_finds_headless_shots() -> None:
    waist_down = PersonMask(share=0.3, touches_top=True, touches_bottom=False, confidence=0.8)
    tags = tag({}, None, 0.0, 60, 80, mask=waist_down).tags
    assert (tags.present, tags.view, tags.framing) == (True, "unknown", "lower_body")
    assert tags.confidence == 0.8
    # cut by the top edge, a smaller mask is enough; away from the edges it is not
    assert tag({}, None, 0.0, 60, 80, mask=PersonMask(share=0.15, touches_top=True)).tags.present
    assert tag({}, None, 0.0, 60, 80, mask=PersonMask(share=0.15)) == NO_PERSON
    head_in_frame = tag({}, None, 0.0, 60, 80, mask=PERSON_MASK).tags
    assert (head_in_frame.view, head_in_frame.framing) == ("unknown", "upper_body")


def test_rules_narrow_shoulders_against_the_torso_is_side() -> None:
    keypoints = points(
        nose=(0.45, 0.1),
        left_shoulder=(0.52, 0.25),
        right_shoulder=(0.48, 0.25),
        left_hip=(0.5, 0.6),
        right_hip=(0.49, 0.6),
    )
    assert tag(keypoints, FACE, 0.8, 100, 100).tags.view == "side"


def test_rules_lower_body_detail_and_none() -> None:
    legs = points(
        nose=(0.5, -0.6, 0.1),
        left_shoulder=(0.6, -0.4, 0.1),
        right_shoulder=(0.4, -0.4, 0.1),
        left_hip=(0.4, 0.1),
        right_hip=(0.6, 0.1),
        left_knee=(0.4, 0.5),
    )
    assert tag(legs, None, 0.0, 100, 100, mask=PERSON_MASK).tags.framing == "lower_body"
    face_only = tag(points(), FACE, 0.9, 100, 100).tags
    assert (face_only.present, face_only.view, face_only.framing) == (True, "front", "detail")
    # one stray landmark, out-of-frame ones and a weak face are not a person
    stray = points(nose=(0.5, 0.5), left_shoulder=(1.4, 0.5), right_shoulder=(-0.3, 0.5))
    assert tag(stray, FACE, 0.3, 100, 100) == NO_PERSON
    assert tag({}, None, 0.0, 100, 100) == NO_PERSON


# -- the exclusion mask --------------------------------------------------------------------------
def test_the_mask_takes_face_and_skin_but_not_the_garment() -> None:
    photo = astronaut()
    result = detect_person(photo)
    mask = person_exclusion_mask(photo, result)
    assert result.face_box is not None
    x0, y0, x1, y1 = result.face_box
    assert mask[y0:y1, x0:x1].mean() > 0.95
    # the orange suit (strongly saturated orange pixels below the face) stays
    r, g, b = (photo[..., i].astype(int) for i in range(3))
    suit = (r > 150) & (g > 50) & (g < 130) & (b < 80)
    suit[:y1] = False
    assert suit.sum() > 10_000
    assert mask[suit].mean() < 0.02


@pytest.mark.parametrize("colour", [(200, 30, 40), (20, 60, 180), (30, 140, 60), (25, 25, 25)])
def test_a_garment_coloured_patch_next_to_a_model_is_kept(colour: tuple[int, int, int]) -> None:
    photo = astronaut().copy()
    photo[380:500, 20:140] = colour
    mask = person_exclusion_mask(photo, detect_person(photo))
    assert not mask[380:500, 20:140].any()


def test_analyse_image_reports_the_person_and_excludes_the_face() -> None:
    from studiolab.vision.analyse import analyse_image

    buffer = io.BytesIO()
    Image.fromarray(astronaut()).save(buffer, format="PNG")
    plain = analyse_image(buffer.getvalue(), model="none")
    tagged = analyse_image(buffer.getvalue(), model="none", detect_people=True)
    assert plain.to_result("a.png")["person"] is None
    person = tagged.to_result("a.png")["person"]
    assert person["present"] is True and person["view"] == "front"
    assert tagged.mask.sum() < plain.mask.sum()


def test_the_pipeline_tags_model_photos_and_products(tmp_path: Any) -> None:
    from datetime import UTC, datetime

    from studiolab.adapters.local.fs_blobstore import FilesystemBlobStore
    from studiolab.adapters.local.sqlite_catalog import SqliteCatalog
    from studiolab.adapters.local.sqlite_db import SqliteDatabase
    from studiolab.adapters.local.url_signer import UrlSigner
    from studiolab.adapters.system import SystemClock
    from studiolab.domain.blobkeys import item_key
    from studiolab.domain.models import Item, Project
    from studiolab.services.images import ImagePipeline

    now = datetime(2026, 11, 28, tzinfo=UTC)
    database = SqliteDatabase(tmp_path / "catalog.sqlite")
    catalog = SqliteCatalog(database)
    blobs = FilesystemBlobStore(
        tmp_path / "blobs", UrlSigner(b"k" * 32, "http://127.0.0.1:1", SystemClock())
    )
    catalog.create_project(
        Project(id="pr_1", name="p", shop="s", attribute="top.tee", created_at=now, updated_at=now)
    )
    steps = ImagePipeline(catalog=catalog, blobs=blobs, clock=SystemClock(), model="none")
    for item_id, image in (("it_model", astronaut()), ("it_product", product((20, 60, 180)))):
        catalog.create_item(Item(id=item_id, project_id="pr_1", created_at=now, updated_at=now))
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        raw = item_key("raw", "pr_1", item_id, "image.png")
        blobs.put(raw, buffer.getvalue())
        assert steps.on_raw(raw) == "segmented"
        assert steps.on_cutout(catalog.get_item(item_id).blobs.cutout or "") == "analysed"
    model, plain = catalog.get_item("it_model"), catalog.get_item("it_product")
    assert model.person is not None and (model.person.view, model.person.framing) == (
        "front",
        "upper_body",
    )
    assert plain.person is not None and plain.person.present is False
    assert model.state == plain.state == "done"
    database.close()
