"""Garment palettes: cluster garment pixels in CIELAB, choose the number of colours by merging.

Vectorised numpy on one thread, no per-pixel Python (~3-4 ms per 1000x1000 cut-out):

1. **Sample** <= ``sample_size`` garment pixels, seeded and stratified (one random pixel per
   equal run of garment pixels in raster order).
2. **Lab**: exact sRGB -> CIELAB via a 256-entry linearisation LUT (``naming.srgb_to_lab``,
   skimage's formulas and constants).
3. **Over-cluster** (``OVER_K`` = 12) with a hand-written weighted k-means++ / Lloyd on the
   sample's occupied 5-bit RGB cells (mean Lab, pixel count: ~100-3000 points, not 20k).
4. **Choose k** by merging, never by a score over k: average-linkage merging, dropping small
   clusters, shading links, edge blends, then ``max_colors``. Steps 3 and 4 - the k-means and
   the merge rules with their constants - live in :mod:`studiolab.vision.palette_clusters`.
5. **Represent** each colour by the per-channel median Lab of its pixels. Fractions are the
   shares of sampled garment pixels (via their colour cell) nearest each median by
   ``_shading_dist`` - the rule :func:`assign_labels`, and so the explanation masks, apply
   per pixel - rounded to 1e-4 by largest remainder so that they sum to 1.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from studiolab.domain.errors import InvalidInput, NoGarmentPixels
from studiolab.domain.models import PaletteColor
from studiolab.vision.naming import ColourNamer, default_namer, lab_to_srgb, srgb_to_lab
from studiolab.vision.palette_clusters import FloatArray, IntArray, _choose, _chromaticity, _kmeans
from studiolab.vision.types import RGB, Mask, Palette

__all__ = ["assign_labels", "extract_palette", "lab_to_srgb", "srgb_to_lab"]

# --- tuning (see module docstring) -----------------------------------------------------------
OVER_K = 12  # over-clustering k (>= max_colors); merging decides the final number
MAX_CELLS = 4_000  # colour cells k-means works on (5-bit RGB, 4-bit beyond this)
MEDIAN_SAMPLE = 5_000  # pixels per colour its median is taken over
FRACTION_UNITS = 10_000  # fractions are rounded to 1e-4


# --- distances ---------------------------------------------------------------------------------
def _shading_features(lab: FloatArray) -> FloatArray:
    """(n, 5) per-pixel terms of :func:`_shading_dist`, computed once per pixel set."""
    feats = np.empty((lab.shape[0], 5))
    feats[:, 1] = lab[:, 0]
    np.multiply(lab[:, 0], lab[:, 0], out=feats[:, 0])
    np.divide(lab[:, 1:], np.maximum(lab[:, :1] + 16.0, 16.0), out=feats[:, 3:])
    np.einsum("ij,ij->i", feats[:, 3:], feats[:, 3:], out=feats[:, 2])
    return feats


def _shading_dist(feats: FloatArray, centres: FloatArray) -> FloatArray:
    """(n, k) squared distance of pixels to centres that forgives shading in chroma: ΔL*² plus
    the chromaticity difference expressed in a*b* units at the centre's lightness. A shadowed
    pixel of a colour keeps its chromaticity, so it stays with its colour rather than joining
    a darker, greyer one (plain Lab would pull it there). ``feats`` from
    :func:`_shading_features`; one (n, 5) @ (5, k) product."""
    lc = centres[:, 0]
    qc = _chromaticity(centres)
    s2 = np.maximum(lc + 16.0, 16.0) ** 2
    coef = np.stack([np.ones_like(lc), -2.0 * lc, s2, -2.0 * s2 * qc[:, 0], -2.0 * s2 * qc[:, 1]])
    const = lc * lc + s2 * (qc * qc).sum(1)
    out: FloatArray = feats @ coef
    out += const
    return out


# --- public API --------------------------------------------------------------------------------
def _sample_indices(mask: Mask, sample_size: int, seed: int) -> IntArray:
    """Flat indices of at most ``sample_size`` garment pixels: jittered stratified sampling
    (one uniformly drawn pixel from each of ``sample_size`` equal runs of the garment's pixels
    in raster order). Seeded; no duplicates; already sorted; and because neighbouring pixels
    are alike, the fractions' sampling error is well below simple random sampling's."""
    flat = np.flatnonzero(mask)
    if flat.size == 0:
        raise NoGarmentPixels("no garment pixels: the mask is empty")
    if flat.size <= sample_size:
        return flat
    rng = np.random.default_rng(seed)
    step = flat.size / sample_size
    pick = ((np.arange(sample_size) + rng.random(sample_size)) * step).astype(np.intp)
    out: IntArray = flat[np.minimum(pick, flat.size - 1)]
    return out


def _gather(rgb: RGB, flat: IntArray) -> npt.NDArray[np.uint8]:
    """(n, 3) pixels at raster indices ``flat`` without copying the image. One 1-D strided
    view per channel: numpy's 1-D fancy indexing is ~2x faster than gathering 3-byte rows,
    and it also serves ``rgba[..., :3]`` views. Falls back to a copy for odd layouts."""
    h, w, _ = rgb.shape
    strides = rgb.strides
    if rgb.dtype != np.uint8 or strides[0] != w * strides[1]:
        out: npt.NDArray[np.uint8] = np.ascontiguousarray(rgb, np.uint8).reshape(-1, 3)[flat]
        return out
    out = np.empty((flat.size, 3), dtype=np.uint8)
    for ch in range(3):
        plane = np.lib.stride_tricks.as_strided(
            rgb[..., ch], shape=(h * w,), strides=(strides[1],), writeable=False
        )
        out[:, ch] = plane[flat]
    return out


def _cells(
    pixels: npt.NDArray[np.uint8], lab: FloatArray
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Occupied RGB cells - 5 bits per channel, or 4 for noisy textures that would occupy
    more than MAX_CELLS: mean Lab (m, 3), pixel count (m,), cell of each pixel (n,)."""
    for bits in (5, 4):
        p = (pixels >> (8 - bits)).astype(np.intp)
        code = (p[:, 0] << (2 * bits)) | (p[:, 1] << bits) | p[:, 2]
        counts = np.bincount(code, minlength=1 << (3 * bits))
        occupied = np.flatnonzero(counts)
        if occupied.size <= MAX_CELLS:
            break
    lut = np.zeros(counts.size, dtype=np.intp)
    lut[occupied] = np.arange(occupied.size)
    cell_of = lut[code]
    weights = counts[occupied].astype(np.float64)
    sums = np.stack([np.bincount(cell_of, lab[:, c], occupied.size) for c in range(3)], 1)
    return sums / weights[:, None], weights, cell_of


def _group_medians(lab: FloatArray, labels: IntArray, fallback: FloatArray) -> FloatArray:
    """Per-channel median Lab of each label, from at most MEDIAN_SAMPLE of its pixels (an
    evenly strided subset of a stratified sample: the median's standard error stays < 0.1
    ΔE for typical garment spreads, at a quarter of the cost); ``fallback`` if it has none."""
    out = fallback.copy()
    for c in range(out.shape[0]):
        members = lab[labels == c]
        if members.shape[0]:
            step = -(-members.shape[0] // MEDIAN_SAMPLE)
            out[c] = np.median(members[::step], axis=0)
    return out


def _round_fractions(counts: npt.NDArray[np.int64]) -> list[float]:
    """Largest-remainder rounding to 1/FRACTION_UNITS: the decimal values sum to exactly 1
    (the float sum to within a few 1e-16, as any decimal fractions in binary floating point)."""
    exact = counts * FRACTION_UNITS / counts.sum()
    units = np.floor(exact).astype(np.int64)
    short = FRACTION_UNITS - int(units.sum())
    units[np.argsort(-(exact - units), kind="stable")[:short]] += 1
    return [int(u) / FRACTION_UNITS for u in units]


def extract_palette(
    rgb: RGB,
    mask: Mask,
    *,
    max_colors: int = 5,
    seed: int = 0,
    sample_size: int = 20_000,
    namer: ColourNamer | None = None,
) -> Palette:
    """Palette of the garment pixels ``mask`` of ``rgb`` (H, W, 3 uint8): at most ``max_colors``
    colours sorted by fraction, fractions of garment pixels summing to 1, deterministic."""
    if max_colors < 1:
        raise InvalidInput("max_colors must be >= 1", fields={"max_colors": "must be >= 1"})
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[:2] != mask.shape:
        raise InvalidInput(f"rgb {rgb.shape} and mask {mask.shape} do not match")
    flat = _sample_indices(mask, sample_size, seed)
    pixels = _gather(rgb, flat)
    lab = srgb_to_lab(pixels)
    points, weights, cell_of = _cells(pixels, lab)
    rng = np.random.default_rng(seed)
    _, labels = _kmeans(points, weights, max(OVER_K, max_colors), rng)
    kept = _choose(points, weights, labels, max_colors)
    # medians of the pixels of the cells nearest each chosen centre; fractions of the pixels
    # whose cell is nearest each median (assign_labels' rule, applied per colour cell)
    k = kept.shape[0]
    cell_feats = _shading_features(points)
    cell_label = np.argmin(_shading_dist(cell_feats, kept), axis=1)
    medians = _group_medians(lab, cell_label[cell_of], kept)
    final = np.argmin(_shading_dist(cell_feats, medians), axis=1)
    counts = np.bincount(final, weights, minlength=k).round().astype(np.int64)
    order = [int(c) for c in np.argsort(-counts, kind="stable") if counts[c] > 0]
    garment = int(np.count_nonzero(mask))
    return _build(medians[order], counts[order], garment, namer or default_namer())


def _build(
    medians: FloatArray, counts: npt.NDArray[np.int64], garment: int, namer: ColourNamer
) -> Palette:
    fractions = _round_fractions(counts)
    srgb = lab_to_srgb(medians)
    names, basics, des = namer.name(medians)
    colors = []
    for i in range(medians.shape[0]):
        r, g, b = (int(v) for v in srgb[i])
        lightness, a_star, b_star = (round(float(v), 2) for v in medians[i])
        colors.append(
            PaletteColor(
                hex=f"#{r:02x}{g:02x}{b:02x}",
                rgb=(r, g, b),
                lab=(lightness, a_star, b_star),
                fraction=fractions[i],
                name=names[i],
                basic=basics[i],
                delta_e=round(float(des[i]), 2),
            )
        )
    return Palette(colors=colors, centroids_lab=medians.astype(np.float64), garment_pixels=garment)


def assign_labels(rgb_pixels: npt.NDArray[np.uint8], palette: Palette) -> IntArray:
    """(N, 3) uint8 sRGB -> (N,) index of the nearest palette colour, by the rule that made the
    palette's fractions (ΔL*² + chromaticity difference, see ``_shading_dist``). Chunked, so a
    full image needs no more than a few MB of temporaries."""
    centres = np.asarray(palette.centroids_lab, dtype=np.float64).reshape(-1, 3)
    px = np.asarray(rgb_pixels, dtype=np.uint8).reshape(-1, 3)
    out = np.empty(px.shape[0], dtype=np.intp)
    step = 1 << 17
    for start in range(0, px.shape[0], step):
        feats = _shading_features(srgb_to_lab(px[start : start + step]))
        out[start : start + step] = np.argmin(_shading_dist(feats, centres), axis=1)
    return out
