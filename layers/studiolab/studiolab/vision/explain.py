"""Explanations of a palette: which pixels made which colour, and one overview sheet.

``colour_masks`` assigns *every* garment pixel of the full image (not the palette's sample) to
exactly one palette colour with :func:`studiolab.vision.palette.assign_labels` - the rule
that produced the palette's fractions - so a mask's share of the garment matches its
colour's fraction up to sampling error. Masks are stored as 1-bit PNGs (``mask_png``), a few
KB each; the overview sheet shows the cut-out on a checkerboard above one swatch per colour
with hex, fine name, basic term and percentage (Pillow's built-in font, nothing to download).
"""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from studiolab.domain.errors import InvalidInput
from studiolab.vision.palette import assign_labels
from studiolab.vision.types import RGB, RGBA, Mask, Palette

SHEET_IMAGE_SIDE = 512  # the cut-out is fitted into a square of this side
SWATCH_HEIGHT = 112
CHECKER = 16  # checkerboard square, pixels
_LIGHT, _DARK = 236, 204  # checkerboard greys
_TEXT, _BACKGROUND = (33, 33, 33), (255, 255, 255)


def colour_masks(rgb: RGB, mask: Mask, palette: Palette) -> list[Mask]:
    """One (H, W) boolean mask per palette colour, in palette order. Every garment pixel is
    in exactly one mask; pixels outside ``mask`` are in none."""
    if rgb.ndim != 3 or rgb.shape[2] < 3 or rgb.shape[:2] != mask.shape:
        raise InvalidInput(f"rgb {rgb.shape} and mask {mask.shape} do not match")
    k = len(palette.colors)
    flat = np.flatnonzero(mask)
    labels = assign_labels(rgb[..., :3][mask], palette)  # raster order, as flatnonzero
    out: list[Mask] = []
    for c in range(k):
        m = np.zeros(mask.size, dtype=bool)
        m[flat[labels == c]] = True
        out.append(m.reshape(mask.shape))
    return out


def mask_png(mask: Mask) -> bytes:
    """A compact 1-bit PNG of a boolean mask (white = pixel belongs to the colour)."""
    image = Image.fromarray(np.asarray(mask, dtype=bool)).convert("1")
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _checkerboard(width: int, height: int) -> npt.NDArray[np.uint8]:
    yy, xx = np.mgrid[0:height, 0:width]
    dark = ((yy // CHECKER) + (xx // CHECKER)) % 2 == 1
    board = np.where(dark, _DARK, _LIGHT).astype(np.uint8)
    return np.repeat(board[..., None], 3, axis=2)


def _fit(image: Image.Image, side: int) -> Image.Image:
    scale = min(side / image.width, side / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS) if size != image.size else image


def overview_sheet(cutout_rgba: RGBA, palette: Palette, masks: list[Mask]) -> Image.Image:
    """RGB sheet: the cut-out on a checkerboard, each colour's mask as a thumbnail, and a
    swatch row with hex, name, basic term and percentage for every palette colour."""
    rgba = np.asarray(cutout_rgba, dtype=np.uint8)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise InvalidInput(f"cut-out must be (H, W, 4) RGBA, got {rgba.shape}")
    k = max(1, len(palette.colors))
    cutout = _fit(Image.fromarray(rgba, "RGBA"), SHEET_IMAGE_SIDE)
    board = Image.fromarray(_checkerboard(cutout.width, cutout.height), "RGB")
    board.paste(cutout, (0, 0), cutout)

    column = max(SHEET_IMAGE_SIDE // k, 128)
    width = max(SHEET_IMAGE_SIDE, column * k)
    thumb_side = column - 8
    height = SHEET_IMAGE_SIDE + thumb_side + 8 + SWATCH_HEIGHT
    sheet = Image.new("RGB", (width, height), _BACKGROUND)
    sheet.paste(board, ((width - board.width) // 2, (SHEET_IMAGE_SIDE - board.height) // 2))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, color in enumerate(palette.colors):
        x0 = i * column + 4
        if i < len(masks):  # where this colour is: its pixels in colour on a contrasting ground
            m = np.asarray(masks[i], dtype=bool)
            ground = 64 if color.lab[0] > 70 else 245  # contrast with the colour shown
            tile = np.full((*m.shape, 3), ground, dtype=np.uint8)
            tile[m] = color.rgb
            thumb = _fit(Image.fromarray(tile, "RGB"), thumb_side)
            sheet.paste(thumb, (x0 + (thumb_side - thumb.width) // 2, SHEET_IMAGE_SIDE + 4))
        y0 = SHEET_IMAGE_SIDE + thumb_side + 8
        draw.rectangle([x0, y0, x0 + column - 9, y0 + 48], fill=color.rgb, outline=(0, 0, 0))
        lines = [
            f"{color.hex}  {color.fraction * 100:.1f}%",
            color.name[:22],
            f"{color.basic}  dE00 {color.delta_e:.1f}",
        ]
        for j, line in enumerate(lines):
            draw.text((x0, y0 + 52 + 16 * j), line, fill=_TEXT, font=font)
    return sheet
