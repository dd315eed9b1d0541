"""Colour maths and scores for the colour benchmark.

The reference conversions come from scikit-image (sRGB D65 -> CIELAB, CIEDE2000), not from
studiolab, so the benchmark does not grade our code with our own maths."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from skimage.color import deltaE_ciede2000, lab2rgb, lab2xyz, rgb2lab

FloatArray = npt.NDArray[np.float64]


def rgb_to_lab(rgb: npt.ArrayLike) -> FloatArray:
    """sRGB (0..255, any leading shape, last axis 3) -> CIELAB D65/2°."""
    arr = np.asarray(rgb, dtype=np.float64) / 255.0
    return np.asarray(rgb2lab(arr), dtype=np.float64)


def lab_to_rgb_float(lab: npt.ArrayLike) -> FloatArray:
    """CIELAB -> sRGB in 0..1 (clipped to the gamut)."""
    return np.asarray(lab2rgb(np.asarray(lab, dtype=np.float64)), dtype=np.float64)


def delta_e00(lab1: npt.ArrayLike, lab2: npt.ArrayLike) -> FloatArray:
    """CIEDE2000 between broadcastable Lab arrays (last axis 3)."""
    a, b = np.broadcast_arrays(
        np.asarray(lab1, dtype=np.float64), np.asarray(lab2, dtype=np.float64)
    )
    return np.asarray(deltaE_ciede2000(a, b), dtype=np.float64)  # type: ignore[no-untyped-call]


def in_gamut(lab: npt.ArrayLike, margin: float = 0.0) -> bool:
    """True when every Lab colour maps into sRGB without clipping (with a margin in 0..1)."""
    lab_arr = np.atleast_2d(np.asarray(lab, dtype=np.float64))
    with warnings.catch_warnings():  # negative Z is clipped by skimage: out of gamut anyway
        warnings.simplefilter("ignore", UserWarning)
        xyz = np.asarray(lab2xyz(lab_arr), dtype=np.float64)
    rgb_unclipped = _xyz_to_srgb_unclipped(xyz)
    return bool(np.all((rgb_unclipped >= margin) & (rgb_unclipped <= 1.0 - margin)))


_XYZ_TO_LINEAR = np.array(
    [
        [3.24048134, -1.53715152, -0.49853633],
        [-0.96925495, 1.87599, 0.04155593],
        [0.05564664, -0.20404134, 1.05731107],
    ]
)


def _xyz_to_srgb_unclipped(xyz: FloatArray) -> FloatArray:
    linear = xyz @ _XYZ_TO_LINEAR.T
    sign = np.sign(linear)
    mag = np.abs(linear)
    encoded = np.where(mag > 0.0031308, 1.055 * mag ** (1 / 2.4) - 0.055, 12.92 * mag)
    return np.asarray(sign * encoded, dtype=np.float64)


@dataclass(frozen=True)
class PaletteScore:
    dominant_de: float  # ΔE00 between the predicted and the true dominant colour
    palette_de: float  # mean over true colours of ΔE00 to the matched predicted colour
    fraction_l1: float | None  # Σ|p_i - t_i| over matched pairs + unmatched mass; None: no %


def score_palette(
    pred_lab: FloatArray,
    pred_fractions: Sequence[float] | FloatArray | None,
    true_lab: FloatArray,
    true_fractions: Sequence[float] | FloatArray,
) -> PaletteScore:
    """Hungarian-matched palette scores.

    - dominant ΔE00: predicted first colour vs the true colour with the largest fraction;
    - palette ΔE00: true and predicted colours matched one-to-one by
      `scipy.optimize.linear_sum_assignment` on the ΔE00 matrix; a true colour left unmatched
      (fewer predicted colours than true ones) counts with its ΔE00 to the nearest predicted
      colour; mean over the true colours;
    - fraction L1: Σ |p - t| over matched pairs, plus the fractions of unmatched predicted
      and unmatched true colours (0 = perfect, 2 = disjoint). None when the tool gives no
      fractions.
    """
    pred_lab = np.atleast_2d(np.asarray(pred_lab, dtype=np.float64))
    true_lab = np.atleast_2d(np.asarray(true_lab, dtype=np.float64))
    t_frac = np.asarray(true_fractions, dtype=np.float64)
    dominant_true = true_lab[int(np.argmax(t_frac))]
    dominant_de = float(delta_e00(pred_lab[0], dominant_true))

    cost = delta_e00(true_lab[:, None, :], pred_lab[None, :, :])  # (k_true, k_pred)
    rows, cols = linear_sum_assignment(cost)
    per_true = cost.min(axis=1).copy()
    per_true[rows] = cost[rows, cols]
    palette_de = float(per_true.mean())

    fraction_l1: float | None = None
    if pred_fractions is not None:
        p_frac = np.asarray(pred_fractions, dtype=np.float64)
        matched_err = float(np.abs(p_frac[cols] - t_frac[rows]).sum())
        unmatched_pred = float(np.delete(p_frac, cols).sum())
        unmatched_true = float(np.delete(t_frac, rows).sum())
        fraction_l1 = matched_err + unmatched_pred + unmatched_true
    return PaletteScore(dominant_de, palette_de, fraction_l1)


def iou(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def summary(values: Sequence[float]) -> dict[str, float | int]:
    """mean / median / p90 / min / max of a list of numbers (NaN-free)."""
    arr = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    if arr.size == 0:
        return {"n": 0}
    return {
        "n": int(arr.size),
        "mean": float(arr.mean()),
        "median": float(np.median(arr)),
        "p90": float(np.percentile(arr, 90)),
        "min": float(arr.min()),
        "max": float(arr.max()),
    }
