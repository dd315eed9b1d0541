"""Background removal: u2netp (offline weights), grabcut, none; sessions made once, reused."""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studiolab.domain.errors import InvalidInput, ModelMissing
from studiolab.vision import segment
from studiolab.vision.decode import decode_image
from studiolab.vision.segment import (
    SEGMENTER_NAMES,
    Segmenter,
    default_models_dir,
    get_segmenter,
)
from tests.vision.images import (
    GARMENT_BLUE,
    Photo,
    decoded,
    decoded_from,
    encode,
    iou,
    product_photo,
)


@pytest.fixture(scope="module")
def models_dir() -> Path:
    directory = default_models_dir()
    if not (directory / "u2netp.onnx").is_file():
        pytest.skip(f"u2netp weights not in {directory}: run `make models` (make test does it)")
    return directory


@pytest.fixture(scope="module")
def u2netp(models_dir: Path) -> Segmenter:
    return get_segmenter("u2netp", models_dir=models_dir)


@pytest.fixture(scope="module")
def photo() -> Photo:
    return product_photo(400, 600)


def test_default_models_dir_is_the_repo_models_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("U2NET_HOME", raising=False)
    repo = Path(__file__).resolve().parents[2]

    assert default_models_dir() == repo / "models"
    assert (repo / "Makefile").is_file()


def test_u2net_home_overrides_the_models_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("U2NET_HOME", str(tmp_path))

    assert default_models_dir() == tmp_path


def test_names_and_unknown_name() -> None:
    assert SEGMENTER_NAMES == ("u2netp", "u2net", "grabcut", "none")
    with pytest.raises(InvalidInput) as info:
        get_segmenter("u2net_human_seg")
    assert "model" in info.value.fields


# --- u2netp -------------------------------------------------------------------------------


def test_u2netp_finds_the_garment_on_white(u2netp: Segmenter, photo: Photo) -> None:
    im, truth = photo
    image = decode_image(encode(im, "JPEG", quality=92))

    rgba = u2netp.cut_out(image)

    assert u2netp.name == "u2netp"
    assert rgba.shape == (600, 400, 4) and rgba.dtype == np.uint8
    found = rgba[:, :, 3] >= 250
    assert iou(found, truth) > 0.85
    assert found[~truth].mean() < 0.05  # little of the background
    assert found[truth].mean() > 0.85  # most of the shape


def test_cut_out_keeps_source_colours_not_blended_to_black(u2netp: Segmenter, photo: Photo) -> None:
    im, _ = photo
    image = decoded_from(im)

    rgba = u2netp.cut_out(image)

    assert np.array_equal(rgba[:, :, :3], image.rgba[:, :, :3])
    soft = (rgba[:, :, 3] > 0) & (rgba[:, :, 3] < 250)
    assert soft.any()  # the mask has soft edges ...
    assert not (rgba[soft][:, :3] < 30).all(axis=1).any()  # ... but no edge turned black


def test_source_alpha_caps_the_mask(u2netp: Segmenter, photo: Photo) -> None:
    im, _ = photo
    rgba = np.array(im.convert("RGBA"))
    rgba[:, :200, 3] = 0  # the left half is transparent in the source
    image = decoded(rgba)

    out = u2netp.cut_out(image)

    assert (out[:, :200, 3] == 0).all()
    assert (out[:, 200:, 3] >= 250).any()


@pytest.mark.parametrize("size", [(1, 1), (20000, 10)])
def test_degenerate_sizes_do_not_crash(size: tuple[int, int]) -> None:
    image = decode_image(encode(Image.new("RGB", size, GARMENT_BLUE), "PNG"))

    for name in ("grabcut", "none"):
        assert get_segmenter(name).cut_out(image).shape == image.rgba.shape


@pytest.mark.parametrize("size", [(1, 1), (20000, 10)])
def test_degenerate_sizes_with_u2netp(u2netp: Segmenter, size: tuple[int, int]) -> None:
    image = decode_image(encode(Image.new("RGB", size, GARMENT_BLUE), "PNG"))

    assert u2netp.cut_out(image).shape == image.rgba.shape


def test_u2netp_never_downloads(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pooch

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pooch.retrieve called: a download was attempted")

    monkeypatch.setattr(pooch, "retrieve", refuse)
    fresh = tmp_path / "models"
    fresh.mkdir()
    shutil.copy(models_dir / "u2netp.onnx", fresh / "u2netp.onnx")

    seg = get_segmenter("u2netp", models_dir=fresh)

    assert seg.cut_out(decoded_from(Image.new("RGB", (32, 32), "white"))).shape == (32, 32, 4)


# --- missing weights ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "command"), [("u2netp", "make models"), ("u2net", "fetch_models u2net")]
)
def test_missing_weights_raise_model_missing_naming_the_command(
    tmp_path: Path, name: str, command: str
) -> None:
    with pytest.raises(ModelMissing) as info:
        get_segmenter(name, models_dir=tmp_path)

    assert command in info.value.message
    assert str(tmp_path / f"{name}.onnx") in info.value.message
    assert info.value.code == "model_missing"
    assert list(tmp_path.iterdir()) == []  # nothing was fetched


def test_a_damaged_weights_file_is_model_missing_and_not_cached(tmp_path: Path) -> None:
    (tmp_path / "u2netp.onnx").write_bytes(b"not onnx")

    with pytest.raises(ModelMissing, match="could not be loaded"):
        get_segmenter("u2netp", models_dir=tmp_path)
    assert ("u2netp", tmp_path) not in segment._CACHE


# --- sessions: once per process, shared across threads -------------------------------------


def test_same_segmenter_and_session_on_every_call(u2netp: Segmenter, models_dir: Path) -> None:
    again = get_segmenter("u2netp", models_dir=models_dir)

    assert again is u2netp
    assert again.session is u2netp.session  # type: ignore[attr-defined]


def test_concurrent_first_use_creates_one_session(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a models dir no test has used yet, and a counter on session creation
    fresh = tmp_path / "m"
    fresh.mkdir()
    shutil.copy(models_dir / "u2netp.onnx", fresh / "u2netp.onnx")
    created: list[int] = []
    real = segment._rembg_session

    def counting(*args: object) -> object:
        created.append(threading.get_ident())
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(segment, "_rembg_session", counting)
    barrier = threading.Barrier(8)

    def first_use(_: int) -> Segmenter:
        barrier.wait()
        return get_segmenter("u2netp", models_dir=fresh)

    # When eight threads ask for it at the same moment
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(first_use, range(8)))

    # Then one session was made and everyone got it
    assert len(created) == 1
    assert all(r is results[0] for r in results)


def test_one_session_serves_many_threads_with_identical_results(
    u2netp: Segmenter, photo: Photo
) -> None:
    im, _ = photo
    image = decoded_from(im)
    expected = u2netp.cut_out(image)

    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda _: u2netp.cut_out(image), range(8)))

    assert all(np.array_equal(o, expected) for o in outs)


# --- grabcut ------------------------------------------------------------------------------


def test_grabcut_finds_the_garment_on_white(photo: Photo) -> None:
    im, truth = photo
    image = decode_image(encode(im, "JPEG", quality=92))

    rgba = get_segmenter("grabcut").cut_out(image)

    found = rgba[:, :, 3] >= 250
    assert iou(found, truth) > 0.85
    assert found[~truth].mean() < 0.05


def test_grabcut_is_deterministic(photo: Photo) -> None:
    image = decoded_from(photo[0])
    seg = get_segmenter("grabcut")

    assert np.array_equal(seg.cut_out(image), seg.cut_out(image))


def test_grabcut_on_a_blank_image_keeps_everything() -> None:
    image = decoded_from(Image.new("RGB", (300, 200), GARMENT_BLUE))

    rgba = get_segmenter("grabcut").cut_out(image)

    assert (rgba[:, :, 3] == 255).all()


def test_grabcut_with_a_garment_cut_by_the_frame() -> None:
    # trousers cropped at the bottom of the photo: the garment runs into the frame's edge
    im = Image.new("RGB", (300, 400), "white")
    im.paste(GARMENT_BLUE, (80, 60, 220, 400))

    rgba = get_segmenter("grabcut").cut_out(decoded_from(im))

    found = rgba[:, :, 3] >= 250
    truth = np.zeros((400, 300), dtype=bool)
    truth[60:, 80:220] = True
    assert iou(found, truth) > 0.9
    assert found[395:, 90:210].all()  # the bottom rows stay garment


def test_grabcut_when_the_object_fills_the_frame() -> None:
    rng = np.random.default_rng(3)
    texture = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)  # edges everywhere

    rgba = get_segmenter("grabcut").cut_out(
        decoded(np.dstack([texture, np.full((120, 160), 255, np.uint8)]))
    )

    assert (rgba[:, :, 3] == 255).all()


# --- none ---------------------------------------------------------------------------------


def test_none_uses_the_images_own_alpha() -> None:
    rgba = np.zeros((10, 10, 4), dtype=np.uint8)
    rgba[:, :, :3] = GARMENT_BLUE
    rgba[2:8, 2:8, 3] = 255
    rgba[0, 0, 3] = 100
    image = decoded(rgba)

    out = get_segmenter("none").cut_out(image)

    assert np.array_equal(out, rgba)
    assert out is not image.rgba


def test_none_without_alpha_keeps_the_whole_image() -> None:
    out = get_segmenter("none").cut_out(decoded_from(Image.new("RGB", (6, 4), "red")))

    assert (out[:, :, 3] == 255).all()
