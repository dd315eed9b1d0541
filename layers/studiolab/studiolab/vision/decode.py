"""Safe image decoding: untrusted bytes in, an oriented 8-bit sRGB RGBA array out.

Every failure on bad input is an `ImageError` subclass, never a Pillow or numpy exception:

- empty bytes -> `EmptyImage`; text, random bytes -> `NotAnImage`; a known format we do not
  read (SVG, PDF, HEIC, AVIF, PSD, ...) -> `UnsupportedImage`;
- a header over `max_pixels` -> `ImageTooLarge`, checked from the header before any pixel is
  decoded (Pillow's own, larger, global bomb limit may fire first: it maps to the same error;
  no Pillow global is changed here);
- data that ends early -> `TruncatedImage` (`ImageFile.LOAD_TRUNCATED_IMAGES` stays off).

What comes out: the first frame (animated GIF/WebP/APNG, multi-page TIFF), EXIF orientation
applied, any embedded ICC profile converted to sRGB (Display P3, Adobe RGB, CMYK profiles),
16-bit and float samples scaled (not clipped) to 8 bits, the long side reduced to `max_side`
with a Lanczos filter (JPEGs are first DCT-scaled by a power of two with `draft`, which is
exact-ish and several times faster). Importing this module pulls in Pillow and numpy only.
"""

from __future__ import annotations

import io
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageCms, UnidentifiedImageError

from studiolab.domain.errors import (
    EmptyImage,
    ImageError,
    ImageTooLarge,
    NotAnImage,
    TruncatedImage,
    UnsupportedImage,
)
from studiolab.vision.types import DecodedImage

DEFAULT_MAX_PIXELS: Final = 50_000_000
DEFAULT_MAX_SIDE: Final = 1600
# Pillow plugins we let parse untrusted bytes. Camera "MPO" files open through the JPEG one.
ACCEPTED_FORMATS: Final = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")

_ORIENTATION_TAG: Final = 0x0112
_TRANSPOSE: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Magic numbers of the accepted formats: a file that starts like one of these but cannot be
# opened is cut short (or its header is damaged), not "not an image".
_ACCEPTED_MAGIC: Final = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
_UNSUPPORTED_MAGIC: Final = (
    (b"%PDF", "PDF"),
    (b"%!PS", "PostScript"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"qoif", "QOI"),
)
_ISOBMFF_BRANDS: Final = {
    b"avif": "AVIF",
    b"avis": "AVIF",
    b"heic": "HEIC",
    b"heix": "HEIC",
    b"mif1": "HEIF",
    b"msf1": "HEIF",
}


def decode_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int | None = DEFAULT_MAX_SIDE,
) -> DecodedImage:
    """Decode untrusted image bytes. Raises only `ImageError` subclasses for bad input."""
    if max_pixels < 1 or (max_side is not None and max_side < 1):
        raise ValueError("max_pixels and max_side must be positive")
    if not data:
        raise EmptyImage("the file is empty (0 bytes)")
    try:
        return _decode(data, max_pixels=max_pixels, max_side=max_side)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"image too large: {exc}") from exc
    except MemoryError as exc:  # belt and braces: the pixel limit should prevent it
        raise ImageTooLarge("image too large to decode in memory") from exc
    except (EOFError, OSError, SyntaxError) as exc:
        if _looks_truncated(exc) or _cut_short(data):
            raise TruncatedImage(f"truncated image data: {exc}") from exc
        raise ImageError(f"corrupt image data: {exc}") from exc
    except Exception as exc:  # any other decoder failure on hostile input
        raise ImageError(f"corrupt image data: {type(exc).__name__}: {exc}") from exc


def _decode(data: bytes, *, max_pixels: int, max_side: int | None) -> DecodedImage:
    try:
        im = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError as exc:
        raise _unidentified(data) from exc
    with im:
        fmt = im.format or "unknown"
        width, height = im.size
        if width < 1 or height < 1:
            raise ImageError(f"image has no pixels ({width}x{height})")
        if width * height > max_pixels:
            raise ImageTooLarge(
                f"{width}x{height} = {width * height:,} pixels is over the limit of {max_pixels:,}",
                fields={"width": str(width), "height": str(height)},
            )
        orientation = _orientation(im)
        source_size = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
        target = _target_size((width, height), max_side)
        if target != (width, height) and fmt in ("JPEG", "MPO"):
            im.draft(None, target)  # DCT scaling by 1/2, 1/4, 1/8, never below `target`
        im.load()
        icc = im.info.get("icc_profile")
        frame = _to_8bit(im)
        if frame.size != target:
            frame = frame.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
        if orientation in _TRANSPOSE:
            frame = frame.transpose(_TRANSPOSE[orientation])
        frame = _to_srgb_rgba(frame, icc if isinstance(icc, bytes) else None)
    rgba: npt.NDArray[np.uint8] = np.array(frame, dtype=np.uint8)
    if rgba.ndim != 3 or rgba.shape[2] != 4:  # pragma: no cover - Pillow guarantees RGBA
        raise ImageError(f"unexpected decoded shape {rgba.shape}")
    has_alpha = bool(rgba[:, :, 3].min() < 255)
    return DecodedImage(rgba=rgba, has_alpha=has_alpha, source_size=source_size, format=fmt)


def _target_size(size: tuple[int, int], max_side: int | None) -> tuple[int, int]:
    width, height = size
    longest = max(width, height)
    if max_side is None or longest <= max_side:
        return size
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # damaged EXIF: keep the pixels as stored rather than fail
        return 1
    return value if isinstance(value, int) else 1


def _to_8bit(im: Image.Image) -> Image.Image:
    """Bring any Pillow mode to one of L, LA, RGB, RGBA, CMYK (8 bits per sample).

    Pillow's own `convert` clips 16-bit and 32-bit samples at 255 instead of scaling them,
    so those modes go through numpy."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return im
    if mode.startswith("I;16") or mode == "I":
        # 16-bit PNG/TIFF grey (and "I", which Pillow also uses for 16-bit data): 0..65535
        wide = np.asarray(im).astype(np.float32)
        scaled = np.clip(wide, 0.0, 65535.0) / 257.0
        return Image.fromarray(np.rint(scaled).astype(np.uint8))
    if mode == "F":
        # floating point TIFF: [0, 1] when it fits there, else taken as 0..255
        values = np.nan_to_num(np.asarray(im, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        peak = float(values.max()) if values.size else 0.0
        factor = 255.0 if peak <= 1.0 else 1.0
        return Image.fromarray(np.rint(np.clip(values * factor, 0.0, 255.0)).astype(np.uint8))
    # 1, P / PA (with or without transparency), La, RGBa, YCbCr, LAB, HSV, RGBX ...
    return im.convert("RGBA")


def _to_srgb_rgba(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Apply an embedded ICC profile (to sRGB), then return RGBA. A profile that cannot be
    used is ignored: the pixels are then read as sRGB, as every browser would."""
    if icc:
        alpha = im.getchannel("A") if im.mode in ("LA", "RGBA") else None
        base = im.convert({"LA": "L", "RGBA": "RGB"}[im.mode]) if alpha is not None else im
        converted = _apply_icc(base, icc)
        if converted is not None:
            if alpha is not None:
                converted.putalpha(alpha)
            im = converted
    return im if im.mode == "RGBA" else im.convert("RGBA")


def _apply_icc(im: Image.Image, icc: bytes) -> Image.Image | None:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except Exception:  # malformed profile: fall back to the raw pixels
        return None
    if im.mode == "RGB" and "srgb" in _description(profile).lower():
        return None  # already sRGB (the usual case): skip the transform
    try:
        return ImageCms.profileToProfile(
            im,
            profile,
            ImageCms.createProfile("sRGB"),
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
            outputMode="RGB",
        )
    except Exception:  # a profile for another colour space than the pixels, or unusable
        return None


def _description(profile: ImageCms.ImageCmsProfile) -> str:
    try:
        return ImageCms.getProfileDescription(profile)
    except Exception:
        return ""


def _unidentified(data: bytes) -> ImageError:
    head = data[:64]
    for magic, name in _ACCEPTED_MAGIC:
        if head.startswith(magic):
            return TruncatedImage(f"the file starts like a {name} but its header is cut short")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return TruncatedImage("the file starts like a WEBP but its header is cut short")
    for magic, name in _UNSUPPORTED_MAGIC:
        if head.startswith(magic):
            return UnsupportedImage(f"{name} images are not supported", fields={"format": name})
    if head[4:8] == b"ftyp":
        brand = _ISOBMFF_BRANDS.get(head[8:12])
        if brand:
            return UnsupportedImage(f"{brand} images are not supported", fields={"format": brand})
    if _looks_like_svg(data[:4096]):
        return UnsupportedImage("SVG (vector) images are not supported", fields={"format": "SVG"})
    return NotAnImage("the file is not an image in a supported format")


def _looks_like_svg(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"\x1f\x8b"):  # gzip: could be .svgz, cannot tell cheaply
        return False
    return (text.startswith((b"<?xml", b"<!doctype svg", b"<svg", b"<!--"))) and b"<svg" in text


def _cut_short(data: bytes) -> bool:
    """After a decode error: does the file lack the end its format requires?"""
    if data.startswith(b"RIFF") and len(data) >= 8:
        return int.from_bytes(data[4:8], "little") + 8 > len(data)
    if data.startswith(b"\x89PNG"):
        return b"IEND" not in data[-16:]
    if data.startswith(b"\xff\xd8"):
        return not data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")
    if data.startswith(b"GIF8"):
        return not data.rstrip(b"\x00").endswith(b";")
    return False


def _looks_truncated(exc: BaseException) -> bool:
    if isinstance(exc, EOFError):
        return True
    text = str(exc).lower()
    return any(
        word in text
        for word in ("truncated", "end of file", "premature", "not enough data", "eof", "short")
    )
