"""Garment palettes: cluster garment pixels in CIELAB, choose the number of colours by merging.

Vectorised numpy on one thread, no per-pixel Python (~3-4 ms per 1000x1000 cut-out):

1. **Sample** <= ``sample_size`` garment pixels, seeded and stratified (one random pixel per
   equal run of garment pixels in raster order).
2. **Lab**: exact sRGB -> CIELAB via a 256-entry linearisation LUT (``naming.srgb_to_lab``,
   skimage's formulas and constants).
3. **Over-cluster** (``OVER_K`` = 12) with a hand-written weighted k-means++ / Lloyd on the
   sample's occupied 5-bit RGB cells (mean Lab, pixel count: ~100-3000 points, not 20k).
   scikit-learn's KMeans spends ~1-3 ms per call on validation, thread pools and ``n_init``
   restarts before any work - our whole budget.
4. **Choose k** by merging, never by a score over k (inertia always prefers the largest k):
   a. average-linkage merging of clusters closer than ``MERGE_DE`` (CIEDE2000, textile kL=2);
   b. clusters under ``MIN_SHARE`` of the garment are dropped (stitching, logos, noise);
   c. *shading links*: two clusters are one colour if their chromaticity (a*, b*)/(L* + 16) -
      which shading leaves unchanged - agrees within ``LINK_CHROMA`` and the pixel density
      does not dip between them (folds make a continuum; navy and sky blue, black and white
      stripes leave a valley);
   d. *edge blends*: a colour under ``BLEND_SHARE`` near the sRGB segment between two other
      colours is their anti-aliased / JPEG edge and is dropped;
   e. beyond ``max_colors`` the smallest go. Dropped pixels join their nearest survivor.
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
from studiolab.vision.naming import (
    ColourNamer,
    default_namer,
    delta_e00,
    lab_to_srgb,
    lab_to_srgb_float,
    srgb_to_lab,
)
from studiolab.vision.types import RGB, Mask, Palette

__all__ = ["assign_labels", "extract_palette", "lab_to_srgb", "srgb_to_lab"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

# --- tuning (see module docstring) -----------------------------------------------------------
OVER_K = 12  # over-clustering k (>= max_colors); merging decides the final number
KMEANS_ITERS = 12  # over-clustering: merging, not convergence, sets the colours
MERGE_DE = 8.0  # ΔE00 (kL=2) under which two clusters are one colour
MIN_SHARE = 0.03  # clusters under 3 % of the garment are stitching, logos, noise
LINK_DE = 30.0  # ΔE00 (kL=2) up to which shading may link two clusters ...
LINK_CHROMA = 0.1  # ... if their chromaticities differ by less than this (see _chromaticity)
LINK_SPAN = 40.0  # ... and the linked set's centres span at most 40 L* units,
VALLEY_BINS = 3  # ... and the density between them, in thirds of their distance,
VALLEY_RATIO = 0.3  # ... nowhere drops below 30 % of the density at the lower end
BLEND_SHARE = 0.1  # a colour under 10 % lying between two others is their edge blend ...
BLEND_TOL = 0.3  # ... if within 30 % of their sRGB distance of the segment (JPEG rings)
MAX_CELLS = 4_000  # colour cells k-means works on (5-bit RGB, 4-bit beyond this)
MEDIAN_SAMPLE = 5_000  # pixels per colour its median is taken over
FRACTION_UNITS = 10_000  # fractions are rounded to 1e-4


# --- distances ---------------------------------------------------------------------------------
def _chromaticity(lab: FloatArray) -> FloatArray:
    """(a*, b*) / (L* + 16): invariant under shading. Scaling linear light by s multiplies
    L* + 16, a* and b* alike by s^(1/3) (CIELAB's cube root), so a fold or a shadow moves a
    colour along L* but leaves this ratio - hue and 'saturation' - unchanged."""
    out: FloatArray = lab[..., 1:] / np.maximum(lab[..., :1] + 16.0, 16.0)
    return out


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


def _sq_dist(points: FloatArray, centres: FloatArray) -> FloatArray:
    """Squared Euclidean distances (n, k), in place (numpy's broadcast of an (n, 1) column
    against (n, k) takes a slow loop order; ``+=`` does not)."""
    d: FloatArray = points @ (-2.0 * centres.T)
    d += np.einsum("ij,ij->i", points, points)[:, None]
    d += np.einsum("ij,ij->i", centres, centres)
    return np.maximum(d, 0.0, out=d)


# --- weighted k-means on colour cells --------------------------------------------------------
def _kmeans(
    points: FloatArray, weights: FloatArray, k: int, rng: np.random.Generator
) -> tuple[FloatArray, IntArray]:
    """Weighted k-means++ seeding then Lloyd iterations. Deterministic for a given generator."""
    n = points.shape[0]
    if n <= k:
        return points.copy(), np.arange(n, dtype=np.intp)
    centres = np.empty((k, 3))
    centres[0] = points[int(np.argmax(weights))]  # heaviest cell: stable first seed
    closest = _sq_dist(points, centres[:1])[:, 0]
    for c in range(1, k):
        cost = np.cumsum(closest * weights)  # > 0: n > k distinct cells remain unpicked
        pick = int(np.searchsorted(cost, rng.random() * cost[-1]).clip(0, n - 1))
        centres[c] = points[pick]
        closest = np.minimum(closest, _sq_dist(points, points[pick : pick + 1])[:, 0])
    labels = np.zeros(n, dtype=np.intp)
    for it in range(KMEANS_ITERS):
        new = np.argmin(_sq_dist(points, centres), axis=1)
        if it and np.array_equal(new, labels):
            break
        labels = new
        mass = np.bincount(labels, weights, minlength=k)
        for ch in range(3):
            sums = np.bincount(labels, weights * points[:, ch], minlength=k)
            centres[:, ch] = np.where(mass > 0, sums / np.maximum(mass, 1e-12), centres[:, ch])
    return centres, labels


# --- choosing k: merge, link, drop ------------------------------------------------------------
def _means(points: FloatArray, weights: FloatArray, groups: IntArray, g: int) -> FloatArray:
    mass = np.maximum(np.bincount(groups, weights, minlength=g), 1e-12)
    sums = [np.bincount(groups, weights * points[:, ch], minlength=g) for ch in range(3)]
    out: FloatArray = np.stack(sums, 1) / mass[:, None]
    return out


def _agglomerate(points: FloatArray, weights: FloatArray, groups: IntArray) -> IntArray:
    """Average linkage (UPGMA) on ΔE00 (kL=2): repeatedly merge the closest pair of clusters
    while the pixel-weighted mean ΔE00 between their member clusters is < MERGE_DE. One matrix;
    merged rows follow from the Lance-Williams update, no recomputation."""
    g = int(groups.max()) + 1
    mass = np.bincount(groups, weights, minlength=g)
    centres = _means(points, weights, groups, g)
    de = delta_e00(centres[:, None, :], centres[None, :, :], k_l=2.0)
    np.fill_diagonal(de, np.inf)
    owner = np.arange(g)
    for _ in range(g - 1):
        i, j = divmod(int(np.argmin(de)), g)
        if de[i, j] >= MERGE_DE:
            break
        row = (de[i] * mass[i] + de[j] * mass[j]) / (mass[i] + mass[j])
        mass[i] += mass[j]
        de[i, :] = de[:, i] = row
        de[j, :] = de[:, j] = np.inf
        de[i, i] = np.inf
        owner[owner == j] = i
    return _relabel(owner[groups])


def _relabel(groups: IntArray) -> IntArray:
    return np.unique(groups, return_inverse=True)[1].astype(np.intp).reshape(-1)


def _reassign(points: FloatArray, centres: FloatArray, keep: list[int]) -> IntArray:
    out: IntArray = np.argmin(_sq_dist(points, centres[keep]), axis=1).astype(np.intp)
    return out


def _drop_small(points: FloatArray, weights: FloatArray, groups: IntArray) -> IntArray:
    g = int(groups.max()) + 1
    mass = np.bincount(groups, weights, minlength=g)
    keep = [i for i in range(g) if mass[i] >= MIN_SHARE * mass.sum()]
    if len(keep) == g:
        return groups
    if not keep:
        keep = [int(np.argmax(mass))]
    return _reassign(points, _means(points, weights, groups, g), keep)


def _no_valley(points: FloatArray, weights: FloatArray, ci: FloatArray, cj: FloatArray) -> bool:
    """True if the density of ``points`` (two clusters' cells) does not dip between their
    centres ``ci`` and ``cj``: a shading continuum rather than two colours."""
    axis = cj - ci
    t = (points - ci) @ axis / float(axis @ axis)
    hist = np.histogram(t, bins=VALLEY_BINS, range=(0.0, 1.0), weights=weights)[0]
    ends = min(hist[0], hist[-1])
    return bool(ends > 0 and hist[1:-1].min() >= VALLEY_RATIO * ends)


def _link(points: FloatArray, weights: FloatArray, groups: IntArray) -> IntArray:
    """Union groups that shading joins: a density continuum between them (no valley) along a
    direction that keeps the chromaticity (linear RGB scaled, as by a fold or a shadow)."""
    g = int(groups.max()) + 1
    if g == 1:
        return groups
    centres = _means(points, weights, groups, g)
    ii, jj = np.triu_indices(g, 1)
    de = delta_e00(centres[ii], centres[jj], k_l=2.0)
    q = _chromaticity(centres)
    shift = np.linalg.norm(q[ii] - q[jj], axis=1)
    parent = list(range(g))
    low, high = centres[:, 0].copy(), centres[:, 0].copy()  # L* span of each linked set
    for idx in np.argsort(de, kind="stable"):
        if de[idx] >= LINK_DE:
            break
        i, j = int(ii[idx]), int(jj[idx])
        ri, rj = _find(parent, i), _find(parent, j)
        if ri == rj or shift[idx] >= LINK_CHROMA:
            continue
        if max(high[ri], high[rj]) - min(low[ri], low[rj]) > LINK_SPAN:
            continue  # a black-to-white ombre is not one shaded colour
        pair = (groups == i) | (groups == j)
        if _no_valley(points[pair], weights[pair], centres[i], centres[j]):
            parent[ri] = rj
            low[rj], high[rj] = min(low[ri], low[rj]), max(high[ri], high[rj])
    roots = np.array([_find(parent, i) for i in range(g)])
    return _relabel(roots[groups])


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _drop_blends(points: FloatArray, weights: FloatArray, groups: IntArray) -> IntArray:
    """Drop small groups lying on the sRGB segment between two other colours: edge blends of
    prints (JPEG and demosaicing mix in gamma-encoded sRGB). Smallest first, so the true end
    colours of a thin stripe survive and its blend with the ground goes."""
    g = int(groups.max()) + 1
    if g < 3:
        return groups
    mass = np.bincount(groups, weights, minlength=g)
    centres = _means(points, weights, groups, g)
    enc = lab_to_srgb_float(centres) * 255.0
    alive = list(range(g))
    for c in [int(i) for i in np.argsort(mass, kind="stable")]:
        if mass[c] >= BLEND_SHARE * mass.sum() or len(alive) < 3:
            break
        ends = [i for i in alive if i != c]
        a, b = np.triu_indices(len(ends), 1)
        ea, eb = enc[np.array(ends)[a]], enc[np.array(ends)[b]]
        ab = eb - ea
        length2 = np.maximum((ab * ab).sum(1), 1e-9)
        t = ((enc[c] - ea) * ab).sum(1) / length2
        perp2 = ((ea + t[:, None] * ab - enc[c]) ** 2).sum(1)
        if np.any((t > 0.0) & (t < 1.0) & (perp2 < BLEND_TOL**2 * length2)):
            alive.remove(c)
    if len(alive) == g:
        return groups
    return _reassign(points, centres, alive)


def _choose(
    points: FloatArray, weights: FloatArray, labels: IntArray, max_colors: int
) -> FloatArray:
    """Over-cluster labels -> Lab centres of the chosen colours, largest first."""
    groups = _agglomerate(points, weights, labels)
    groups = _drop_small(points, weights, groups)
    groups = _link(points, weights, groups)
    groups = _drop_blends(points, weights, groups)
    g = int(groups.max()) + 1
    mass = np.bincount(groups, weights, minlength=g)
    order = [int(o) for o in np.argsort(-mass, kind="stable")[:max_colors]]
    centres = _means(points, weights, groups, g)
    if g <= max_colors:
        return centres[order]
    groups = _reassign(points, centres, order)  # dropped colours join their nearest survivor
    return _means(points, weights, groups, len(order))


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
