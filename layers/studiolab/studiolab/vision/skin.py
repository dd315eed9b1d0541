"""Skin, face and hair of a human model, as an exclusion mask for the garment palette.

Background removal keeps the model, so skin and hair would otherwise become palette colours.
Given `detect_person`'s result for the same image, the mask is the union of:

face   the detected face box, grown by FACE_GROW on each side (ears, jaw, neck start);
hair   a box above and beside the face: from HAIR_UP face-heights above the face down to the
       chin, HAIR_WIDE face-widths wide, centred on the face. Geometric only: hair colour is
       not modelled, because dark hair and a black garment are the same colour;
skin   every pixel whose chroma is close to the face's own skin tone: a Gaussian in YCrCb
       (Cr, Cb) fitted on the inner part of the face box (eyes, brows and background left
       out), with a Mahalanobis radius SKIN_RADIUS, a floor on the spread so a flat face does
       not give a needle-thin model, and a luma band around the face's luma. This catches
       arms, hands, legs and neck wherever they are.

No person (or no face to seed the skin model from) -> an all-False mask: products are never
touched. A product-coloured garment is only lost when its chroma really matches the model's
skin (nude and beige tones on a model of that tone): the price of the skin model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from studiolab.vision.pose import PersonResult, as_rgb
from studiolab.vision.types import Mask

FACE_GROW = 0.15
HAIR_UP = 0.6
HAIR_WIDE = 1.6
SKIN_RADIUS = 2.5
MIN_CHROMA_STD = 3.0
LUMA_BAND = 2.5  # in face-luma standard deviations, with a floor of LUMA_MIN
LUMA_MIN = 40.0
MIN_SEED_PIXELS = 30


def person_exclusion_mask(image: np.ndarray[Any, Any], person: PersonResult) -> Mask:
    """(H, W) bool: pixels of `image` that are the model's skin, face or hair (see module doc)."""
    rgb = as_rgb(image)
    height, width = rgb.shape[:2]
    mask: Mask = np.zeros((height, width), dtype=bool)
    if not person.tags.present or person.face_box is None:
        return mask
    x0, y0, x1, y1 = person.face_box
    face_w, face_h = x1 - x0, y1 - y0
    if face_w < 4 or face_h < 4:
        return mask
    # face, grown a little
    gx, gy = int(face_w * FACE_GROW), int(face_h * FACE_GROW)
    mask[max(0, y0 - gy) : min(height, y1 + gy), max(0, x0 - gx) : min(width, x1 + gx)] = True
    # hair: above and beside the face, down to the chin
    cx = (x0 + x1) / 2
    half = HAIR_WIDE * face_w / 2
    hy0 = max(0, int(y0 - HAIR_UP * face_h))
    mask[hy0:y1, max(0, int(cx - half)) : min(width, int(cx + half))] = True
    mask |= skin_mask(rgb, person.face_box)
    return mask


def skin_mask(rgb: np.ndarray[Any, Any], face_box: tuple[int, int, int, int]) -> Mask:
    """Pixels whose YCrCb colour fits the skin model seeded from the face's inner region."""
    import cv2

    height, width = rgb.shape[:2]
    ycrcb = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YCrCb).astype(np.float32)
    x0, y0, x1, y1 = face_box
    fw, fh = x1 - x0, y1 - y0
    # cheeks, nose and mouth: skip the outer ring (hair, background) and the eye band
    sx0, sx1 = x0 + int(0.25 * fw), x1 - int(0.25 * fw)
    sy0, sy1 = y0 + int(0.45 * fh), y1 - int(0.1 * fh)
    seed = ycrcb[max(0, sy0) : min(height, sy1), max(0, sx0) : min(width, sx1)].reshape(-1, 3)
    if len(seed) < MIN_SEED_PIXELS:
        return np.zeros((height, width), dtype=bool)
    # robust centre: drop the seed pixels furthest from the median chroma (lips, nostrils)
    chroma = seed[:, 1:]
    distance = np.linalg.norm(chroma - np.median(chroma, axis=0), axis=1)
    kept = seed[distance <= np.percentile(distance, 80)]
    mean = kept[:, 1:].mean(axis=0)
    cov = np.cov(kept[:, 1:], rowvar=False) + np.eye(2) * MIN_CHROMA_STD**2
    inverse = np.linalg.inv(cov)
    diff = ycrcb[:, :, 1:] - mean
    mahalanobis_sq = np.einsum("hwi,ij,hwj->hw", diff, inverse, diff)
    luma_mean, luma_std = float(kept[:, 0].mean()), float(kept[:, 0].std())
    luma_band = max(LUMA_MIN, LUMA_BAND * luma_std)
    in_luma = np.abs(ycrcb[:, :, 0] - luma_mean) <= luma_band
    skin: Mask = (mahalanobis_sq <= SKIN_RADIUS**2) & in_luma
    return _open(skin)


def _open(mask: Mask) -> Mask:
    """Drop isolated specks (texture on a garment that happens to hit the skin tone)."""
    import cv2

    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    opened = cv2.morphologyEx(mask.view(np.uint8), cv2.MORPH_OPEN, kernel)
    return opened.astype(bool)
