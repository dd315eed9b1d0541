"""Choosing a garment's colours: over-cluster with k-means, then merge by rules.

Steps 3-4 of :mod:`studiolab.vision.palette`, on the sample's colour cells (mean Lab, pixel count):

3. **Over-cluster** (``palette.OVER_K`` = 12) with a hand-written weighted k-means++ / Lloyd
   on the sample's occupied 5-bit RGB cells (mean Lab, pixel count: ~100-3000 points, not 20k).
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
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from studiolab.vision.naming import delta_e00, lab_to_srgb_float

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

# --- tuning (see module docstring) -----------------------------------------------------------
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


# --- distances ---------------------------------------------------------------------------------
def _chromaticity(lab: FloatArray) -> FloatArray:
    """(a*, b*) / (L* + 16): invariant under shading. Scaling linear light by s multiplies
    L* + 16, a* and b* alike by s^(1/3) (CIELAB's cube root), so a fold or a shadow moves a
    colour along L* but leaves this ratio - hue and 'saturation' - unchanged."""
    out: FloatArray = lab[..., 1:] / np.maximum(lab[..., :1] + 16.0, 16.0)
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
