"""Synthetic inputs for the vision tests, generated in memory (no fixtures on disk)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from studiolab.vision.types import DecodedImage

WHITE = (255, 255, 255)
Photo = tuple[Image.Image, npt.NDArray[np.bool_]]
GARMENT_BLUE = (40, 70, 180)


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bytes(width: int, height: int, *, bit_depth: int, color_type: int, raw: bytes) -> bytes:
    """A PNG written by hand: lets us claim any size in IHDR (decompression bombs) and use
    sample formats Pillow cannot write (16-bit RGB)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def png16_rgb(pixels: npt.NDArray[np.uint16]) -> bytes:
    """A 16-bit-per-channel RGB PNG from an (H, W, 3) uint16 array."""
    height, width, _ = pixels.shape
    rows = b"".join(b"\x00" + pixels[y].astype(">u2").tobytes() for y in range(height))
    return png_bytes(width, height, bit_depth=16, color_type=2, raw=rows)


def product_photo(width: int = 400, height: int = 600) -> Photo:
    """A shop-style product shot: a blue T-shirt-like silhouette on white, with its true mask."""
    im = Image.new("RGB", (width, height), WHITE)
    sx, sy = width / 800, height / 1200
    outline = [(250, 200), (550, 200), (700, 400), (600, 450), (600, 1000), (200, 1000), (200, 450),
               (100, 400)]  # fmt: skip
    ImageDraw.Draw(im).polygon([(x * sx, y * sy) for x, y in outline], fill=GARMENT_BLUE)
    truth = np.asarray(im.convert("L")) < 200
    return im, truth


def decoded(rgba: npt.NDArray[np.uint8], fmt: str = "PNG") -> DecodedImage:
    return DecodedImage(
        rgba=rgba,
        has_alpha=bool(rgba[:, :, 3].min() < 255),
        source_size=(rgba.shape[1], rgba.shape[0]),
        format=fmt,
    )


def decoded_from(im: Image.Image) -> DecodedImage:
    return decoded(np.array(im.convert("RGBA")))


def iou(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> float:
    return float((a & b).sum()) / max(1, int((a | b).sum()))


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz_tag(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + b"\x00" * 4 + _s15(x) + _s15(y) + _s15(z)


def _desc_tag(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\x00"
    body = b"desc" + b"\x00" * 4 + struct.pack(">I", len(ascii_)) + ascii_
    return body + b"\x00" * 8 + b"\x00" * 3 + b"\x00" * 67  # no unicode, no scriptcode


def swapped_primaries_icc() -> bytes:
    """An ICC v2 RGB matrix profile whose red and green primaries are sRGB's green and red
    (linear tone curves): pure red in it is pure green in sRGB. Proves the profile is used."""
    red, green, blue = (0.3851, 0.7169, 0.0971), (0.4361, 0.2225, 0.0139), (0.1431, 0.0606, 0.7141)
    linear = b"curv" + b"\x00" * 4 + struct.pack(">I", 0)
    tags = [
        (b"desc", _desc_tag("swapped primaries")),
        (b"wtpt", _xyz_tag(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz_tag(*red)),
        (b"gXYZ", _xyz_tag(*green)),
        (b"bXYZ", _xyz_tag(*blue)),
        (b"rTRC", linear),
        (b"gTRC", linear),
        (b"bTRC", linear),
        (b"cprt", b"text" + b"\x00" * 4 + b"none\x00"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        body += b"\x00" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + b"\x00" * 12  # date
        + b"acsp"
        + b"\x00" * 24  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # rendering intent
        + _s15(0.9642) + _s15(1.0) + _s15(0.8249)  # PCS illuminant D50
        + b"\x00" * 4  # creator
    )  # fmt: skip
    header += b"\x00" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + data
