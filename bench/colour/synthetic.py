"""Seeded synthetic garment photos with known colours, for the colour benchmark.

`generate(seed)` draws one product-style photo: a garment silhouette (shirt, dress, trousers,
skirt) in one colour or a print of 2-3 colours (stripes, checks, dots), with shading (a
lightness gradient and soft folds), fabric noise (weave + grain), on a white, grey, gradient
or textured background (sometimes with a soft drop shadow), saved as JPEG.

Ground truth:
- `mask`: the garment's pixels (silhouette coverage >= 0.5, rendered at 4x and averaged);
- `colors_lab`: each print colour in CIELAB (D65), i.e. the colour before shading and noise.
  The shading field is shifted per colour region so that its median there is 0, and the
  noise is zero-mean, so the true colour is what a median of that region's pixels recovers;
- `fractions`: each colour's share of the garment pixels, counted on the rendered label map
  (not the nominal stripe widths), summing to 1, sorted descending.

Same seed -> same bytes and same truth (numpy Generator, Pillow's JPEG encoder)."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter
from scipy.ndimage import gaussian_filter

from bench.colour.metrics import delta_e00, in_gamut, lab_to_rgb_float, rgb_to_lab

GARMENTS = ("shirt", "dress", "trousers", "skirt")
PATTERNS = ("solid", "stripes", "checks", "dots")
PATTERN_WEIGHTS = (0.4, 0.25, 0.15, 0.2)
BACKGROUNDS = ("white", "grey", "gradient", "textured")
SUPERSAMPLE = 4
MIN_TRUE_FRACTION = 0.05  # every print colour covers at least this share of the garment
MIN_DOMINANT_MARGIN = 0.06  # the dominant colour leads the second by at least this
MIN_PRINT_DE00 = 20.0  # print colours are clearly different colours
SHADING_MAX = 6.0  # peak |ΔL| of the shading field before the per-colour median shift

BoolMask = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
Point = tuple[float, float]


@dataclass(frozen=True)
class GroundTruth:
    mask: BoolMask  # (H, W)
    colors_lab: FloatArray  # (k, 3), sorted by fraction, descending
    colors_rgb: list[tuple[int, int, int]]
    fractions: FloatArray  # (k,), sums to 1
    garment: str
    pattern: str
    background: str
    shadow: bool
    jpeg_quality: int
    seed: int

    @property
    def dominant_lab(self) -> FloatArray:
        return np.asarray(self.colors_lab[0], dtype=np.float64)


@dataclass(frozen=True)
class SyntheticImage:
    data: bytes  # JPEG file bytes
    size: tuple[int, int]  # (width, height)
    truth: GroundTruth
    labels: npt.NDArray[np.int8] = field(repr=False)  # -1 outside the garment, else colour idx


# --------------------------------------------------------------------------- silhouettes


def _jitter(rng: np.random.Generator, pts: list[Point], amount: float) -> list[Point]:
    return [(x + rng.uniform(-amount, amount), y + rng.uniform(-amount, amount)) for x, y in pts]


def _shirt(rng: np.random.Generator) -> tuple[list[list[Point]], list[tuple[Point, Point]]]:
    long_sleeves = rng.random() < 0.5
    body = [
        (0.30, 0.10), (0.42, 0.07), (0.58, 0.07), (0.70, 0.10),
        (0.71, 0.95), (0.29, 0.95),
    ]  # fmt: skip
    cuff_y = 0.80 if long_sleeves else 0.42
    left = [(0.30, 0.10), (0.32, 0.36), (0.20, cuff_y + 0.02), (0.10, cuff_y - 0.03)]
    right = [(0.70, 0.10), (0.68, 0.36), (0.80, cuff_y + 0.02), (0.90, cuff_y - 0.03)]
    neck = ((0.43, 0.03), (0.57, 0.15))  # removed: an ellipse at the neckline
    return [_jitter(rng, p, 0.012) for p in (body, left, right)], [neck]


def _dress(rng: np.random.Generator) -> tuple[list[list[Point]], list[tuple[Point, Point]]]:
    flare = rng.uniform(0.12, 0.22)
    body = [
        (0.36, 0.06), (0.42, 0.05), (0.58, 0.05), (0.64, 0.06),
        (0.62, 0.36), (0.50 + 0.12 + flare + 0.1, 0.95),
        (0.50 - 0.12 - flare - 0.1, 0.95), (0.38, 0.36),
    ]  # fmt: skip
    neck = ((0.44, 0.0), (0.56, 0.13))
    return [_jitter(rng, body, 0.012)], [neck]


def _trousers(rng: np.random.Generator) -> tuple[list[list[Point]], list[tuple[Point, Point]]]:
    wide = rng.uniform(0.0, 0.06)
    body = [
        (0.31, 0.04), (0.69, 0.04), (0.73 + wide, 0.96), (0.54, 0.96),
        (0.50, 0.40), (0.46, 0.96), (0.27 - wide, 0.96),
    ]  # fmt: skip
    return [_jitter(rng, body, 0.008)], []


def _skirt(rng: np.random.Generator) -> tuple[list[list[Point]], list[tuple[Point, Point]]]:
    hem = rng.uniform(0.70, 0.92)
    flare = rng.uniform(0.10, 0.25)
    body = [
        (0.34, 0.10), (0.66, 0.10), (0.66 + flare, hem), (0.50, hem + 0.04),
        (0.34 - flare, hem),
    ]  # fmt: skip
    return [_jitter(rng, body, 0.01)], []


_SHAPES = {"shirt": _shirt, "dress": _dress, "trousers": _trousers, "skirt": _skirt}


def _silhouette(
    rng: np.random.Generator, garment: str, width: int, height: int, fill: bool = False
) -> tuple[FloatArray, BoolMask]:
    """Coverage in 0..1 (anti-aliased edge) and the hard mask (coverage >= 0.5).
    `fill`: the garment spans the frame's width too (a tight crop), not only its height."""
    polys, holes = _SHAPES[garment](rng)
    scale = rng.uniform(0.8, 0.95)
    box = (width if fill else min(width, height * 0.8)) * scale, height * scale
    x0 = (width - box[0]) / 2 + rng.uniform(-0.04, 0.04) * width
    y0 = (height - box[1]) / 2 + rng.uniform(-0.03, 0.03) * height
    ss = SUPERSAMPLE
    canvas = Image.new("L", (width * ss, height * ss), 0)
    draw = ImageDraw.Draw(canvas)

    def to_px(p: Point) -> tuple[float, float]:
        return ((x0 + p[0] * box[0]) * ss, (y0 + p[1] * box[1]) * ss)

    for poly in polys:
        draw.polygon([to_px(p) for p in poly], fill=255)
    for a, b in holes:
        (ax, ay), (bx, by) = to_px(a), to_px(b)
        draw.ellipse([ax, ay, bx, by], fill=0)
    big = np.asarray(canvas, dtype=np.float64) / 255.0
    coverage = big.reshape(height, ss, width, ss).mean(axis=(1, 3))
    return coverage, coverage >= 0.5


# --------------------------------------------------------------------------- colours


def _random_colour(rng: np.random.Generator) -> FloatArray:
    """A garment colour in Lab that stays inside sRGB under ±(shading + noise)."""
    while True:
        if rng.random() < 0.2:  # neutrals: black, greys, off-white
            lab = np.array([rng.uniform(22, 90), rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)])
        else:
            hue = rng.uniform(0, 2 * math.pi)
            chroma = rng.uniform(12, 70)
            lab = np.array([rng.uniform(28, 82), chroma * math.cos(hue), chroma * math.sin(hue)])
        probe = np.array(
            [lab + np.array([d, 0.0, 0.0]) for d in (-SHADING_MAX - 4, 0, SHADING_MAX + 4)]
        )
        if in_gamut(probe, margin=0.02):
            # quantise to an 8-bit sRGB colour: the truth is a colour a file can hold exactly
            rgb = np.round(lab_to_rgb_float(lab) * 255.0)
            return rgb_to_lab(rgb)


def _distinct_colours(rng: np.random.Generator, n: int) -> list[FloatArray]:
    colours: list[FloatArray] = []
    while len(colours) < n:
        candidate = _random_colour(rng)
        if all(delta_e00(candidate, c) >= MIN_PRINT_DE00 for c in colours):
            colours.append(candidate)
    return colours


# --------------------------------------------------------------------------- prints


def _coords(width: int, height: int) -> tuple[FloatArray, FloatArray]:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    return xx, yy


def _stripes(rng: np.random.Generator, n: int, width: int, height: int) -> npt.NDArray[np.int8]:
    unit = min(width, height) / 480.0
    angle = rng.choice([0.0, 90.0, 45.0, -45.0])
    xx, yy = _coords(width, height)
    t = xx * math.cos(math.radians(angle)) + yy * math.sin(math.radians(angle))
    widths = sorted((rng.uniform(8, 22) * unit for _ in range(n - 1)), reverse=True)
    main = rng.uniform(1.5, 3.0) * widths[0]
    # cycle: main, second, main, third (for 3 colours) - the main colour dominates
    cycle = (
        [(0, main), (1, widths[0])]
        if n == 2
        else [(0, main), (1, widths[0]), (0, main), (2, widths[1])]
    )
    period = sum(w for _, w in cycle)
    phase = (t + rng.uniform(0, period)) % period
    labels = np.zeros((height, width), dtype=np.int8)
    start = 0.0
    for idx, w in cycle:
        labels[(phase >= start) & (phase < start + w)] = idx
        start += w
    return labels


def _checks(rng: np.random.Generator, n: int, width: int, height: int) -> npt.NDArray[np.int8]:
    """n=2: windowpane (lines of colour 1 on colour 0); n=3: gingham (bands + overlap)."""
    unit = min(width, height) / 480.0
    period = rng.uniform(24, 60) * unit
    p = rng.uniform(0.10, 0.22) if n == 2 else rng.uniform(0.15, 0.30)
    band = p * period
    xx, yy = _coords(width, height)
    ox, oy = rng.uniform(0, period, size=2)
    in_x = ((xx + ox) % period) < band
    in_y = ((yy + oy) % period) < band
    labels = np.zeros((height, width), dtype=np.int8)
    if n == 2:
        labels[in_x | in_y] = 1
    else:
        labels[in_x ^ in_y] = 1
        labels[in_x & in_y] = 2
    return labels


def _dots(rng: np.random.Generator, n: int, width: int, height: int) -> npt.NDArray[np.int8]:
    unit = min(width, height) / 480.0
    spacing = rng.uniform(26, 54) * unit
    radius = rng.uniform(0.18, 0.32) * spacing
    xx, yy = _coords(width, height)
    labels = np.zeros((height, width), dtype=np.int8)
    ox, oy = rng.uniform(0, spacing, size=2)
    gx = np.floor((xx + ox) / spacing)
    gy = np.floor((yy + oy) / spacing)
    cx = (gx + 0.5) * spacing - ox
    cy = (gy + 0.5) * spacing - oy
    inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2
    if n == 2:
        labels[inside] = 1
    else:  # alternate dot colours on a checkerboard of grid cells
        alt = ((gx + gy) % 2).astype(bool)
        labels[inside & ~alt] = 1
        labels[inside & alt] = 2
    return labels


_PRINTS = {"stripes": _stripes, "checks": _checks, "dots": _dots}


# --------------------------------------------------------------------------- backgrounds


def _smooth_noise(rng: np.random.Generator, width: int, height: int, sigma: float) -> FloatArray:
    noise = gaussian_filter(rng.standard_normal((height, width)), sigma)
    return np.asarray(noise / (noise.std() + 1e-9), dtype=np.float64)


def _background(rng: np.random.Generator, kind: str, width: int, height: int) -> FloatArray:
    """sRGB float image (H, W, 3) in 0..1."""
    if kind == "white":
        lab = np.array([rng.uniform(98.5, 100.0), 0.0, 0.0])
        img = np.broadcast_to(lab_to_rgb_float(lab), (height, width, 3)).copy()
        grain = 0.6
    elif kind == "grey":
        lab = np.array([rng.uniform(62, 92), rng.uniform(-1, 1), rng.uniform(-2, 2)])
        img = np.broadcast_to(lab_to_rgb_float(lab), (height, width, 3)).copy()
        grain = 1.0
    elif kind == "gradient":
        a = np.array([rng.uniform(80, 99), rng.uniform(-6, 6), rng.uniform(-8, 8)])
        b = np.array([rng.uniform(60, 90), rng.uniform(-8, 8), rng.uniform(-10, 10)])
        angle = rng.uniform(0, 2 * math.pi)
        xx, yy = _coords(width, height)
        t = xx / width * math.cos(angle) + yy / height * math.sin(angle)
        t = (t - t.min()) / (t.max() - t.min() + 1e-9)
        lab_img = a[None, None, :] * (1 - t[..., None]) + b[None, None, :] * t[..., None]
        img = lab_to_rgb_float(lab_img)
        grain = 1.0
    else:  # textured: paper / linen / concrete-like
        base = np.array([rng.uniform(55, 92), rng.uniform(-5, 5), rng.uniform(-4, 12)])
        low = _smooth_noise(rng, width, height, sigma=min(width, height) / 25) * rng.uniform(2, 5)
        mid = _smooth_noise(rng, width, height, sigma=2.0) * rng.uniform(1, 3)
        lab_img = np.broadcast_to(base, (height, width, 3)).copy()
        lab_img[..., 0] = np.clip(lab_img[..., 0] + low + mid, 0, 100)
        img = lab_to_rgb_float(lab_img)
        grain = 2.0
    img = img + rng.normal(0.0, grain / 255.0, size=img.shape)
    return np.asarray(np.clip(img, 0.0, 1.0), dtype=np.float64)


def _shadow(rng: np.random.Generator, coverage: FloatArray) -> FloatArray:
    """A multiplicative soft drop shadow (1 = no shadow) offset down-right of the garment."""
    h, w = coverage.shape
    dx, dy = int(rng.uniform(0.01, 0.03) * w), int(rng.uniform(0.01, 0.03) * h)
    shifted = np.zeros_like(coverage)
    shifted[dy:, dx:] = coverage[: h - dy, : w - dx]
    blur = gaussian_filter(shifted, sigma=max(2.0, 0.015 * min(h, w)))
    return np.asarray(1.0 - rng.uniform(0.08, 0.2) * blur, dtype=np.float64)


# --------------------------------------------------------------------------- garment render


def _shading(rng: np.random.Generator, width: int, height: int) -> FloatArray:
    """ΔL field: a linear lightness gradient plus soft vertical folds, |ΔL| <= SHADING_MAX."""
    xx, yy = _coords(width, height)
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (xx / width - 0.5) * math.cos(angle) + (yy / height - 0.5) * math.sin(angle)
    fold_freq = rng.uniform(1.5, 4.0)
    folds = np.sin(2 * math.pi * fold_freq * xx / width + rng.uniform(0, 2 * math.pi))
    field = rng.uniform(2, 8) * ramp + rng.uniform(0.5, 2.5) * folds
    return np.asarray(np.clip(field, -SHADING_MAX, SHADING_MAX), dtype=np.float64)


def _render_garment(
    rng: np.random.Generator,
    labels: npt.NDArray[np.int8],
    mask: BoolMask,
    colours: list[FloatArray],
) -> FloatArray:
    h, w = labels.shape
    shade = _shading(rng, w, h)
    xx, yy = _coords(w, h)
    weave_period = rng.uniform(2.5, 4.0)
    weave = (
        rng.uniform(0.3, 1.0)
        * np.sin(2 * math.pi * xx / weave_period)
        * np.sin(2 * math.pi * yy / weave_period)
    )
    lab_img = np.zeros((h, w, 3), dtype=np.float64)
    for idx, lab in enumerate(colours):
        region = mask & (labels == idx)
        if not region.any():
            continue
        d_l = shade - np.median(shade[region])  # median ΔL over this colour's pixels is 0
        lab_img[labels == idx] = lab
        lab_img[..., 0] = np.where(labels == idx, lab[0] + d_l + weave, lab_img[..., 0])
    rgb = lab_to_rgb_float(lab_img)
    grain = rng.uniform(1.0, 3.5) / 255.0
    return np.asarray(rgb + rng.normal(0.0, grain, size=rgb.shape), dtype=np.float64)


# --------------------------------------------------------------------------- public API


def _rgb_tuple(lab: FloatArray) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in np.round(lab_to_rgb_float(lab) * 255))
    return (r, g, b)


def generate(
    seed: int,
    size: tuple[int, int] = (480, 600),
    *,
    garment: str | None = None,
    pattern: str | None = None,
    background: str | None = None,
    fill: bool = False,
) -> SyntheticImage:
    """One synthetic garment photo (JPEG bytes) and its ground truth. Deterministic by seed.
    `fill=True` crops tight (the garment spans the width as well as the height)."""
    rng = np.random.default_rng([20261128, seed])
    width, height = size
    garment = garment or str(rng.choice(GARMENTS))
    pattern = pattern or str(rng.choice(PATTERNS, p=PATTERN_WEIGHTS))
    background = background or str(rng.choice(BACKGROUNDS))
    coverage, mask = _silhouette(rng, garment, width, height, fill)
    n_colours = 1 if pattern == "solid" else int(rng.choice([2, 3], p=[0.6, 0.4]))

    for _attempt in range(50):
        if pattern == "solid":
            labels = np.zeros((height, width), dtype=np.int8)
        else:
            labels = _PRINTS[pattern](rng, n_colours, width, height)
        counts = np.bincount(labels[mask], minlength=n_colours).astype(np.float64)
        fractions = counts / counts.sum()
        order = np.argsort(-fractions, kind="stable")
        ranked = fractions[order]
        ok = ranked[-1] >= MIN_TRUE_FRACTION
        if n_colours > 1:
            ok = ok and ranked[0] - ranked[1] >= MIN_DOMINANT_MARGIN
        if ok:
            break
    else:  # pragma: no cover - the parameter ranges make this practically unreachable
        raise RuntimeError(f"seed {seed}: could not draw a print with well-defined fractions")

    colours = _distinct_colours(rng, n_colours)
    garment_rgb = _render_garment(rng, labels, mask, colours)
    bg = _background(rng, background, width, height)
    shadow = bool(rng.random() < 0.3)
    if shadow:
        bg = bg * _shadow(rng, coverage)[..., None]
    alpha = coverage[..., None]
    img = np.clip(garment_rgb * alpha + bg * (1 - alpha), 0.0, 1.0)
    pil = Image.fromarray(np.round(img * 255.0).astype(np.uint8), "RGB")
    if rng.random() < 0.3:  # a touch of lens softness on some shots
        pil = pil.filter(ImageFilter.GaussianBlur(0.6))
    quality = int(rng.integers(70, 96))
    buf = io.BytesIO()
    pil.save(buf, format="JPEG", quality=quality)

    # relabel so colour 0 is the dominant one
    remap = np.empty(n_colours, dtype=np.int8)
    remap[order] = np.arange(n_colours, dtype=np.int8)
    label_map = np.full((height, width), -1, dtype=np.int8)
    label_map[mask] = remap[labels[mask]]
    colours_sorted = np.array([colours[i] for i in order])
    truth = GroundTruth(
        mask=mask,
        colors_lab=colours_sorted,
        colors_rgb=[_rgb_tuple(c) for c in colours_sorted],
        fractions=fractions[order],
        garment=garment,
        pattern=pattern,
        background=background,
        shadow=shadow,
        jpeg_quality=quality,
        seed=seed,
    )
    return SyntheticImage(data=buf.getvalue(), size=size, truth=truth, labels=label_map)


def generate_set(
    n: int, *, start_seed: int = 0, size: tuple[int, int] = (480, 600)
) -> list[SyntheticImage]:
    """n images; the mix of garments / patterns / backgrounds comes from the seeds."""
    return [generate(start_seed + i, size) for i in range(n)]


def contact_sheet(images: list[SyntheticImage], columns: int = 6, thumb: int = 160) -> Image.Image:
    """A grid of thumbnails (for eyeballing the generator)."""
    rows = math.ceil(len(images) / columns)
    sheet = Image.new("RGB", (columns * thumb, rows * thumb), (255, 255, 255))
    for i, item in enumerate(images):
        im = Image.open(io.BytesIO(item.data)).convert("RGB")
        im.thumbnail((thumb, thumb))
        sheet.paste(im, ((i % columns) * thumb, (i // columns) * thumb))
    return sheet


if __name__ == "__main__":  # python -m bench.colour.synthetic [N] [OUT.png]: eyeball the set
    import sys

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 24
    out = sys.argv[2] if len(sys.argv) > 2 else "bench/results/synthetic-sheet.png"
    contact_sheet(generate_set(count)).save(out)
    print(f"wrote {out}")
