"""Product photos drawn with the product's known garment colours, and their ground truth.

Every image is drawn into a palette ("P") canvas whose indices are labels (background, shadow,
skin, hair, styling piece, shoes, product colour 1 and 2), so the garment's true pixels are known
exactly (`garment_mask`, `label_map`) before JPEG encoding. Rendering is lazy and cached (LRU).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from studiolab.demo import shapes
from studiolab.demo.catalog import ColourShare, ImageSpec, Product, index_of, product_at
from studiolab.demo.colours import (
    BACKGROUNDS,
    HAIR_COLOURS,
    RGB,
    SHADOW,
    SHOES,
    SKIN_TONES,
    NamedColour,
    styling_for,
)

BACKGROUND, SHADE, SKIN, HAIR, STYLING, SHOE, PRODUCT, PRODUCT_2 = 0, 1, 2, 3, 4, 5, 10, 11
GARMENT_LABELS = (PRODUCT, PRODUCT_2)
DEFAULT_SIZE = (800, 1000)
MIN_WIDTH, MAX_WIDTH = 64, 2400


@dataclass(frozen=True)
class ImageTruth:
    """What one image shows besides the garment (the distractors a palette must ignore)."""

    n: int
    view: str
    figure: bool
    background: RGB
    shadow: RGB
    skin: RGB | None
    hair: RGB | None
    shoes: RGB | None
    styling: NamedColour | None


@dataclass(frozen=True)
class GroundTruth:
    """The true garment colours of a product (the same garment in every image)."""

    handle: str
    category: str
    style: str
    attribute_id: str
    pattern: str
    colours: tuple[ColourShare, ...]
    images: tuple[ImageTruth, ...]

    @property
    def primary(self) -> ColourShare:
        return max(self.colours, key=lambda share: share.fraction)


def truth_of(product: Product) -> GroundTruth:
    rgbs = tuple(share.rgb for share in product.colours)
    styling = styling_for(rgbs) if shapes.styling_piece(product.category) else None
    return GroundTruth(
        handle=product.handle,
        category=product.category,
        style=product.style,
        attribute_id=product.attribute_id,
        pattern=product.pattern,
        colours=product.colours,
        images=tuple(
            ImageTruth(
                n=spec.n,
                view=spec.view,
                figure=spec.figure,
                background=BACKGROUNDS[spec.background],
                shadow=SHADOW,
                skin=SKIN_TONES[spec.skin] if spec.figure else None,
                hair=HAIR_COLOURS[spec.hair] if spec.figure else None,
                shoes=SHOES if spec.figure else None,
                styling=styling if spec.figure else None,
            )
            for spec in product.images
        ),
    )


def ground_truth(handle: str, seed: int = 7) -> GroundTruth:
    """The true colours of the product with this handle in the catalog for `seed`."""
    index = index_of(handle)
    product = product_at(index, seed) if index is not None else None
    if product is None or product.handle != handle:
        raise KeyError(f"no demo product {handle!r} for seed {seed}")
    return truth_of(product)


def output_size(width: int | None, base: tuple[int, int] = DEFAULT_SIZE) -> tuple[int, int]:
    """(width, height) for a requested width, keeping the base aspect ratio, clamped."""
    w = base[0] if width is None else max(MIN_WIDTH, min(MAX_WIDTH, width))
    return w, max(1, round(w * base[1] / base[0]))


def _spec(product: Product, n: int) -> ImageSpec:
    for spec in product.images:
        if spec.n == n:
            return spec
    raise KeyError(f"{product.handle} has no image {n}")


def _palette(product: Product, spec: ImageSpec) -> list[int]:
    truth = truth_of(product).images[spec.n - 1]
    colours: dict[int, RGB] = {
        BACKGROUND: truth.background,
        SHADE: SHADOW,
        SKIN: SKIN_TONES[spec.skin],
        HAIR: HAIR_COLOURS[spec.hair],
        STYLING: truth.styling.rgb if truth.styling else (0, 0, 0),
        SHOE: SHOES,
    }
    for offset, share in enumerate(product.colours):
        colours[PRODUCT + offset] = share.rgb
    flat = [0] * 768
    for index, rgb in colours.items():
        flat[3 * index : 3 * index + 3] = rgb
    return flat


def draw(product: Product, n: int, size: tuple[int, int] = DEFAULT_SIZE) -> Image.Image:
    """Image `n` of `product` as a label canvas ("P" mode, palette = true colours)."""
    spec = _spec(product, n)
    width, height = size
    canvas = Image.new("P", size, BACKGROUND)
    canvas.putpalette(_palette(product, spec))
    pen = ImageDraw.Draw(canvas)
    garment = shapes.garment(product.category, product.style)
    if spec.figure:
        frame = shapes.figure_frame(width, height)
        _draw_figure(pen, frame, spec)
        for shape in shapes.styling_piece(product.category):
            pen.polygon(frame.polygon(shape), fill=STYLING)
    else:
        frame = shapes.packshot_frame(garment, width, height, 0.8 if spec.view != "back" else 0.7)
        dx, dy = 0.012 * width, 0.008 * height
        for shape in garment:
            pen.polygon([(x + dx, y + dy) for x, y in frame.polygon(shape)], fill=SHADE)
    _draw_garment(canvas, pen, frame, garment, product)
    return canvas


def _draw_figure(pen: ImageDraw.ImageDraw, frame: shapes.Frame, spec: ImageSpec) -> None:
    scale = frame.ux * shapes.T_OVER_U  # pixels per unit t
    cx, foot_y = frame.point(0.0, 0.955)
    pen.ellipse((cx - 1.0 * frame.ux, foot_y - 0.012 * scale, cx + 1.0 * frame.ux,
                 foot_y + 0.012 * scale), fill=SHADE)  # fmt: skip
    if spec.hair % 2 == 0:  # long hair falls behind the shoulders
        pen.polygon(frame.polygon([(-0.55, -0.15), (0.55, -0.15), (0.62, 0.14), (-0.62, 0.14)]),
                    fill=HAIR)  # fmt: skip
    for shape in shapes.LEGS + shapes.ARMS + shapes.TORSO + shapes.NECK:
        pen.polygon(frame.polygon(shape), fill=SKIN)
    for side in (-1, 1):
        hx, hy = frame.point(side * 1.12, 0.505)
        pen.ellipse((hx - 0.12 * frame.ux, hy - 0.02 * scale, hx + 0.12 * frame.ux,
                     hy + 0.025 * scale), fill=SKIN)  # fmt: skip
        sx, sy = frame.point(side * 0.31, 0.935)
        pen.ellipse((sx - 0.2 * frame.ux, sy - 0.018 * scale, sx + 0.2 * frame.ux,
                     sy + 0.018 * scale), fill=SHOE)  # fmt: skip
    hu, ht, radius = shapes.HEAD
    hx, hy = frame.point(hu, ht)
    r = radius * scale
    pen.ellipse((hx - r, hy - r, hx + r, hy + r), fill=SKIN)
    pen.chord((hx - 1.08 * r, hy - 1.1 * r, hx + 1.08 * r, hy + 0.9 * r), 180, 360, fill=HAIR)


def _draw_garment(
    canvas: Image.Image,
    pen: ImageDraw.ImageDraw,
    frame: shapes.Frame,
    garment: list[shapes.Polygon],
    product: Product,
) -> None:
    if product.pattern != "stripes":
        for shape in garment:
            pen.polygon(frame.polygon(shape), fill=PRODUCT)
        return
    width, height = canvas.size
    mask = Image.new("L", canvas.size, 0)
    mask_pen = ImageDraw.Draw(mask)
    for shape in garment:
        mask_pen.polygon(frame.polygon(shape), fill=255)
    period = max(6, round(height / 25))
    first = round(period * product.colours[0].fraction)
    stripes = Image.new("P", canvas.size, PRODUCT)
    stripe_pen = ImageDraw.Draw(stripes)
    for top in range(0, height, period):
        stripe_pen.rectangle((0, top + first, width, top + period - 1), fill=PRODUCT_2)
    canvas.paste(stripes, (0, 0), mask)


def label_map(product: Product, n: int, size: tuple[int, int] = DEFAULT_SIZE) -> NDArray[np.uint8]:
    """The label index of every pixel (PRODUCT, PRODUCT_2, SKIN, ...), shape (height, width)."""
    return np.asarray(draw(product, n, size))


def garment_mask(
    product: Product, n: int, size: tuple[int, int] = DEFAULT_SIZE
) -> NDArray[np.bool_]:
    """True where the product garment is, shape (height, width)."""
    return np.isin(label_map(product, n, size), GARMENT_LABELS)


def render_jpeg(
    product: Product, n: int, size: tuple[int, int] = DEFAULT_SIZE, quality: int = 90
) -> bytes:
    buffer = io.BytesIO()
    draw(product, n, size).convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


class ImageRenderer:
    """JPEG bytes of product images, rendered on first request and kept in an LRU cache."""

    def __init__(
        self, base_size: tuple[int, int] = DEFAULT_SIZE, cache_size: int = 256, quality: int = 90
    ) -> None:
        self.base_size = base_size
        self.quality = quality
        self._capacity = max(0, cache_size)
        self._cache: OrderedDict[tuple[str, int, int, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.renders = 0

    def size_for(self, width: int | None) -> tuple[int, int]:
        return output_size(width, self.base_size)

    def jpeg(self, product: Product, n: int, width: int | None = None) -> bytes:
        size = self.size_for(width)
        key = (product.handle, product.version, n, size[0], size[1])
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                self.hits += 1
                return cached
        data = render_jpeg(product, n, size, self.quality)
        with self._lock:
            self.renders += 1
            if self._capacity:
                self._cache[key] = data
                while len(self._cache) > self._capacity:
                    self._cache.popitem(last=False)
        return data
