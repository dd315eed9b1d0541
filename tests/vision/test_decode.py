"""Safe decode: every mode and format we accept comes out as oriented 8-bit sRGB RGBA; every
bad input is a typed ImageError, never a crash, a MemoryError or a Pillow exception."""

from __future__ import annotations

import io
import random
import sys
import time
import warnings

import numpy as np
import pytest
from PIL import Image, ImageCms

from studiolab.domain.errors import (
    EmptyImage,
    ImageError,
    ImageTooLarge,
    NotAnImage,
    TruncatedImage,
    UnsupportedImage,
)
from studiolab.vision.decode import DEFAULT_MAX_SIDE, decode_image
from tests.vision.images import encode, png16_rgb, png_bytes, swapped_primaries_icc

RED, BLUE = (220, 20, 30), (20, 40, 200)


def assert_close(pixel: object, expected: tuple[int, ...], tol: int = 3) -> None:
    values = np.asarray(pixel, dtype=int)
    assert np.abs(values - np.asarray(expected)).max() <= tol, (values.tolist(), expected)


def two_tone(size: tuple[int, int] = (60, 40), mode: str = "RGB") -> Image.Image:
    """Left half RED, right half BLUE."""
    im = Image.new(mode, size, RED)
    im.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return im


# --- formats and modes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        ("JPEG", {"quality": 95}),
        ("PNG", {}),
        ("WEBP", {"lossless": True}),
        ("GIF", {}),
        ("BMP", {}),
        ("TIFF", {}),
        ("TIFF", {"compression": "tiff_lzw"}),
    ],
)
def test_every_accepted_format_decodes_to_rgba(fmt: str, params: dict[str, object]) -> None:
    data = encode(two_tone(), fmt, **params)

    image = decode_image(data)

    assert image.format == fmt
    assert image.rgba.dtype == np.uint8
    assert image.rgba.shape == (40, 60, 4)
    assert image.source_size == (60, 40)
    assert not image.has_alpha
    assert_close(image.rgba[20, 5], (*RED, 255), tol=6)
    assert_close(image.rgba[20, 55], (*BLUE, 255), tol=6)


def test_cmyk_jpeg() -> None:
    im = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # pure red in naive CMYK

    image = decode_image(encode(im, "JPEG", quality=95))

    assert_close(image.rgba[16, 16], (255, 0, 0, 255), tol=4)


def test_palette_png_with_transparency() -> None:
    im = Image.new("P", (20, 10), 0)
    im.putpalette([0, 0, 0, *RED] + [0] * (256 - 2) * 3)
    im.paste(1, (10, 0, 20, 10))

    image = decode_image(encode(im, "PNG", transparency=0))

    assert image.has_alpha
    assert image.rgba[5, 2, 3] == 0
    assert tuple(image.rgba[5, 15]) == (*RED, 255)


def test_la_png_keeps_grey_and_alpha() -> None:
    im = Image.new("LA", (8, 8), (100, 255))
    im.putpixel((0, 0), (30, 0))

    image = decode_image(encode(im, "PNG"))

    assert image.has_alpha
    assert tuple(image.rgba[0, 0])[3] == 0
    assert tuple(image.rgba[4, 4]) == (100, 100, 100, 255)


def test_rgba_png_partial_alpha() -> None:
    im = Image.new("RGBA", (8, 8), (*BLUE, 255))
    im.putpixel((1, 1), (*RED, 128))

    image = decode_image(encode(im, "PNG"))

    assert image.has_alpha
    assert tuple(image.rgba[1, 1]) == (*RED, 128)
    assert tuple(image.rgba[5, 5]) == (*BLUE, 255)


def test_opaque_rgba_png_has_no_alpha() -> None:
    image = decode_image(encode(Image.new("RGBA", (8, 8), (*BLUE, 255)), "PNG"))

    assert not image.has_alpha


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_grey_is_scaled_not_clipped(fmt: str) -> None:
    values = np.array([[0, 128 * 257, 65535, 1000]], dtype=np.uint16)
    im = Image.fromarray(values)  # mode I;16

    image = decode_image(encode(im, fmt))

    assert image.rgba[0, :, 0].tolist() == [0, 128, 255, 4]
    assert (image.rgba[0, :, 0] == image.rgba[0, :, 2]).all()


def test_16_bit_rgb_png() -> None:
    pixels = np.zeros((4, 4, 3), dtype=np.uint16)
    pixels[...] = (65535, 128 * 257, 0)

    image = decode_image(png16_rgb(pixels))

    assert_close(image.rgba[2, 2], (255, 128, 0, 255), tol=1)


def test_32_bit_int_and_float_tiff() -> None:
    as_int = Image.fromarray(np.array([[0, 65535]], dtype=np.int32), mode="I")
    as_float = Image.fromarray(np.array([[0.0, 0.5, 1.0, np.nan]], dtype=np.float32), mode="F")

    assert decode_image(encode(as_int, "TIFF")).rgba[0, :, 0].tolist() == [0, 255]
    assert decode_image(encode(as_float, "TIFF")).rgba[0, :, 0].tolist() == [0, 128, 255, 0]


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_grayscale(fmt: str) -> None:
    image = decode_image(encode(Image.new("L", (8, 8), 77), fmt))

    assert_close(image.rgba[3, 3], (77, 77, 77, 255), tol=1)


def test_one_bit_bmp() -> None:
    im = Image.new("1", (16, 8), 0)
    im.paste(1, (8, 0, 16, 8))

    image = decode_image(encode(im, "BMP"))

    assert tuple(image.rgba[4, 2]) == (0, 0, 0, 255)
    assert tuple(image.rgba[4, 12]) == (255, 255, 255, 255)


def test_exif_orientation_6_rotates_and_swaps_width_and_height() -> None:
    # Given a 60x40 photo stored sideways (left half red): orientation 6 = rotate 90° clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(two_tone((60, 40)), "JPEG", quality=95, exif=exif.tobytes())

    image = decode_image(data)

    # Then it comes out 40 wide, 60 high, and the stored left edge is now the top
    assert image.rgba.shape == (60, 40, 4)
    assert image.source_size == (40, 60)
    assert_close(image.rgba[5, 20, :3], RED, tol=8)
    assert_close(image.rgba[55, 20, :3], BLUE, tol=8)


def test_exif_orientation_survives_downscaling() -> None:
    exif = Image.Exif()
    exif[0x0112] = 8  # rotate 90° counter-clockwise: the stored left edge goes to the bottom
    data = encode(two_tone((400, 200)), "JPEG", quality=95, exif=exif.tobytes())

    image = decode_image(data, max_side=100)

    assert image.rgba.shape == (100, 50, 4)
    assert image.source_size == (200, 400)
    assert_close(image.rgba[5, 25, :3], BLUE, tol=8)
    assert_close(image.rgba[95, 25, :3], RED, tol=8)


@pytest.mark.parametrize(("fmt", "params"), [("GIF", {}), ("WEBP", {"lossless": True})])
def test_animated_first_frame(fmt: str, params: dict[str, object]) -> None:
    frames = [Image.new("RGB", (16, 16), colour) for colour in (RED, BLUE, (0, 200, 0))]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, **params)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3

    image = decode_image(data)

    assert_close(image.rgba[8, 8], (*RED, 255), tol=6)


def test_webp_with_alpha() -> None:
    im = Image.new("RGBA", (16, 16), (*BLUE, 0))
    im.paste((*RED, 255), (4, 4, 12, 12))

    image = decode_image(encode(im, "WEBP", lossless=True))

    assert image.has_alpha
    assert image.rgba[0, 0, 3] == 0
    assert tuple(image.rgba[8, 8]) == (*RED, 255)


# --- colour management ------------------------------------------------------------------


def test_embedded_icc_profile_is_converted_to_srgb() -> None:
    # pure red in a profile whose red primary is sRGB's green must read as green
    im = Image.new("RGB", (4, 4), (255, 0, 0))

    image = decode_image(encode(im, "PNG", icc_profile=swapped_primaries_icc()))

    assert_close(image.rgba[0, 0], (0, 255, 0, 255), tol=3)


def test_icc_conversion_keeps_alpha() -> None:
    im = Image.new("RGBA", (4, 4), (255, 0, 0, 100))

    image = decode_image(encode(im, "PNG", icc_profile=swapped_primaries_icc()))

    assert_close(image.rgba[0, 0], (0, 255, 0, 100), tol=3)


def test_srgb_profile_and_broken_profile_leave_pixels_alone() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    im = Image.new("RGB", (4, 4), RED)

    for icc in (srgb, b"definitely not an ICC profile"):
        assert tuple(decode_image(encode(im, "PNG", icc_profile=icc)).rgba[0, 0]) == (*RED, 255)


# --- downscaling --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_long_side_is_downscaled(fmt: str) -> None:
    data = encode(two_tone((3300, 1650)), fmt)

    image = decode_image(data)

    assert image.rgba.shape == (DEFAULT_MAX_SIDE // 2, DEFAULT_MAX_SIDE, 4)
    assert image.source_size == (3300, 1650)
    assert_close(image.rgba[400, 100, :3], RED, tol=6)
    assert_close(image.rgba[400, 1500, :3], BLUE, tol=6)


def test_max_side_none_keeps_full_size_and_custom_bound_applies() -> None:
    data = encode(two_tone((300, 100)), "PNG")

    assert decode_image(data, max_side=None).rgba.shape == (100, 300, 4)
    assert decode_image(data, max_side=150).rgba.shape == (50, 150, 4)


def test_downscaled_alpha_stays_exactly_opaque_inside() -> None:
    im = Image.new("RGBA", (2000, 1000), (0, 0, 0, 0))
    im.paste((*RED, 255), (500, 250, 1500, 750))

    image = decode_image(encode(im, "PNG"), max_side=500)

    assert tuple(image.rgba[125, 250]) == (*RED, 255)
    assert image.rgba[5, 5, 3] == 0


# --- degenerate sizes ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_one_by_one(fmt: str) -> None:
    image = decode_image(encode(Image.new("RGB", (1, 1), RED), fmt))

    assert image.rgba.shape == (1, 1, 4)


def test_20000_by_10() -> None:
    data = encode(Image.new("RGB", (20000, 10), BLUE), "PNG")

    assert decode_image(data).rgba.shape == (1, DEFAULT_MAX_SIDE, 4)
    assert decode_image(data, max_side=None).rgba.shape == (10, 20000, 4)


# --- bad input ----------------------------------------------------------------------------


def test_zero_bytes() -> None:
    with pytest.raises(EmptyImage) as info:
        decode_image(b"")
    assert info.value.code == "empty_file"


def test_text_named_jpg() -> None:
    with pytest.raises(NotAnImage):
        decode_image(b"Hello, I am a text file called shirt.jpg\n" * 10)


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b'<rect width="10" height="10" fill="red"/></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>',
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 40,
        b"8BPS\x00\x01" + b"\x00" * 40,
    ],
    ids=["svg-xml", "svg", "pdf", "heic", "psd"],
)
def test_known_but_unsupported_formats(data: bytes) -> None:
    with pytest.raises(UnsupportedImage) as info:
        decode_image(data)
    assert info.value.code == "unsupported_image"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF", "GIF"])
def test_truncated_file(fmt: str) -> None:
    rng = np.random.default_rng(1)
    noisy = Image.fromarray(rng.integers(0, 255, (200, 300, 3), dtype=np.uint8))
    data = encode(noisy, fmt)

    with pytest.raises(TruncatedImage) as info:
        decode_image(data[: len(data) // 2])
    assert info.value.code == "truncated_image"


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "TIFF"])
def test_header_cut_short(fmt: str) -> None:
    data = encode(Image.new("RGB", (30, 30), RED), fmt)

    with pytest.raises(TruncatedImage):
        decode_image(data[:12])


def test_decompression_bomb_is_refused_from_the_header() -> None:
    # Given a 100 000 x 100 000 PNG header (10^10 pixels: 40 GB as RGBA) with one tiny row
    bomb = png_bytes(100_000, 100_000, bit_depth=8, color_type=2, raw=b"\x00" * 16)
    assert len(bomb) < 200

    started = time.perf_counter()
    with pytest.raises(ImageTooLarge) as info:
        decode_image(bomb)

    assert time.perf_counter() - started < 5.0  # refused from the header, not after decoding
    assert info.value.code == "image_too_large"


def test_over_our_limit_but_under_pillows_is_refused_before_decoding() -> None:
    # 8000 x 8000 = 64 M pixels: over our 50 M default, under Pillow's own bomb guard
    header_only = png_bytes(8000, 8000, bit_depth=8, color_type=2, raw=b"\x00" * 16)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no Pillow DecompressionBombWarning either
        with pytest.raises(ImageTooLarge):
            decode_image(header_only)


def test_custom_pixel_limit() -> None:
    data = encode(Image.new("RGB", (20, 20), RED), "PNG")

    with pytest.raises(ImageTooLarge):
        decode_image(data, max_pixels=399)
    assert decode_image(data, max_pixels=400).rgba.shape == (20, 20, 4)


def test_pillow_globals_are_untouched() -> None:
    from PIL import ImageFile

    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    decode_image(encode(Image.new("RGB", (5, 5)), "PNG"))
    with pytest.raises(ImageError):
        decode_image(b"garbage")

    assert before == (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)


def test_decode_module_import_is_light() -> None:
    import subprocess

    code = (
        "import sys, studiolab.vision.decode; "
        "print(sorted({'cv2', 'onnxruntime', 'rembg', 'skimage'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"


def _samples() -> list[bytes]:
    rng = np.random.default_rng(7)
    im = Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    rgba = im.convert("RGBA")
    return [
        encode(im, "JPEG"),
        encode(im, "PNG"),
        encode(rgba, "PNG"),
        encode(im, "GIF"),
        encode(im, "BMP"),
        encode(im, "TIFF"),
        encode(rgba, "WEBP"),
        encode(im.convert("CMYK"), "JPEG"),
    ]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_fuzzed_files_give_an_image_or_an_image_error() -> None:
    # Given valid files with random bytes flipped or cut at random places (seeded)
    rng = random.Random(20261128)
    outcomes: dict[str, int] = {}
    for sample in _samples():
        for _ in range(40):
            data = bytearray(sample)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            if rng.random() < 0.3:
                data = data[: rng.randrange(1, len(data))]
            # When decoded, Then only a result or an ImageError comes out
            try:
                decode_image(bytes(data))
                outcomes["ok"] = outcomes.get("ok", 0) + 1
            except ImageError as exc:
                outcomes[exc.code] = outcomes.get(exc.code, 0) + 1
    assert sum(outcomes.values()) == 320
