"""Is a human model in the photo, which way do they face, how much of them is in frame.

MediaPipe 0.10.21 (`mp.solutions`): Pose (model_complexity=1, whose landmark model ships in the
wheel, so nothing is downloaded), Face Detection (full-range model) and Selfie Segmentation
(general model), all bundled. They are created lazily, once per process, and every call runs
under one lock: a MediaPipe graph is not thread-safe, and the CLI and the local worker call
this from thread pools. Photos whose short side is under UPSCALE_MIN_SIDE are upscaled
(bicubic, integer factor) before the graphs: on 60x80 catalogue photos that makes the person
mask separate people from products better (bench/results/pose.md measures both).

The rules that turn what the graphs saw into tags are in vision/pose_rules.py (its doc
says how each tag is decided); the names are re-exported here.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from studiolab.vision.pose_rules import (
    ANCHORS,
    KEYPOINTS,
    NO_MASK,
    NO_PERSON,
    RULES,
    Box,
    PersonMask,
    PersonResult,
    Rules,
    Signals,
    tag,
    tag_signals,
)
from studiolab.vision.types import RGB

__all__ = [
    "ANCHORS",
    "KEYPOINTS",
    "NO_MASK",
    "NO_PERSON",
    "RULES",
    "Box",
    "PersonMask",
    "PersonResult",
    "Rules",
    "Signals",
    "as_rgb",
    "detect_person",
    "measure",
    "tag",
    "tag_signals",
]

EDGE_BAND = 0.03  # the top / bottom band (share of the height) where the mask "reaches" an edge
EDGE_MIN = 0.05  # ... when at least this share of the band is person
MIN_SIDE = 32  # below this MediaPipe finds nothing useful; skip the graphs entirely
UPSCALE_MIN_SIDE = 120  # smaller photos are upscaled (integer factor) before the graphs
MAX_UPSCALE = 4


class _Detectors:
    """The three MediaPipe graphs, created on first use and shared by every thread."""

    def __init__(self) -> None:
        import mediapipe as mp

        self.pose = mp.solutions.pose.Pose(
            static_image_mode=True, model_complexity=1, enable_segmentation=False
        )
        self.face = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=0.5
        )
        self.selfie = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        self.lock = threading.Lock()

    def run(self, rgb: RGB) -> tuple[Any, Any, np.ndarray[Any, Any] | None]:
        with self.lock:  # the mask is copied before the graph can reuse its buffer
            pose = self.pose.process(rgb)
            faces = self.face.process(rgb)
            mask = getattr(self.selfie.process(rgb), "segmentation_mask", None)
            person = None if mask is None else np.array(mask, dtype=np.float32)
        return pose, faces, person


_detectors: _Detectors | None = None
_create_lock = threading.Lock()


def _get_detectors() -> _Detectors:
    global _detectors
    if _detectors is None:
        with _create_lock:
            if _detectors is None:
                _detectors = _Detectors()
    return _detectors


def as_rgb(image: np.ndarray[Any, Any]) -> RGB:
    """(H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA (composited on white) -> contiguous RGB."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.ndim == 3 and array.shape[2] == 4:
        alpha = array[:, :, 3:4].astype(np.float32) / 255.0
        array = (array[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    elif array.ndim == 3 and array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected a grey, RGB or RGBA image, got shape {array.shape}")
    return np.ascontiguousarray(array)


def detect_person(
    image: np.ndarray[Any, Any], *, upscale_min_side: int | None = UPSCALE_MIN_SIDE
) -> PersonResult:
    """Tags, keypoints and face box of the most prominent person in `image` (see module doc).
    `upscale_min_side=None` runs the graphs on the photo as it is, however small."""
    signals = measure(image, upscale_min_side=upscale_min_side)
    return NO_PERSON if signals is None else tag_signals(signals)


def measure(
    image: np.ndarray[Any, Any], *, upscale_min_side: int | None = UPSCALE_MIN_SIDE
) -> Signals | None:
    """Run the graphs once; None when the photo is too small to look at."""
    rgb = as_rgb(image)
    height, width = rgb.shape[:2]
    if min(height, width) < MIN_SIDE:
        return None
    pose, faces, mask = _get_detectors().run(_upscaled(rgb, upscale_min_side))
    face_box, face_score = _largest_face(faces, width, height)
    return Signals(_keypoints(pose), face_box, face_score, _mask_summary(mask), width, height)


def _upscaled(rgb: RGB, min_side: int | None) -> RGB:
    short = min(rgb.shape[:2])
    if min_side is None or short >= min_side:
        return rgb
    factor = min(MAX_UPSCALE, -(-min_side // short))
    from PIL import Image

    size = (rgb.shape[1] * factor, rgb.shape[0] * factor)
    return np.ascontiguousarray(
        np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BICUBIC))
    )


def _mask_summary(mask: np.ndarray[Any, Any] | None) -> PersonMask:
    if mask is None or mask.ndim != 2 or mask.size == 0:
        return NO_MASK
    person = mask >= 0.5
    if not person.any():
        return NO_MASK
    band = max(1, round(EDGE_BAND * mask.shape[0]))
    return PersonMask(
        share=float(person.mean()),
        touches_top=bool(person[:band].mean() >= EDGE_MIN),
        touches_bottom=bool(person[-band:].mean() >= EDGE_MIN),
        confidence=float(mask[person].mean()),
    )


def _keypoints(pose: Any) -> dict[str, list[float]]:
    landmarks = getattr(pose, "pose_landmarks", None)
    if landmarks is None:
        return {}
    points = landmarks.landmark
    return {
        name: [
            round(float(points[i].x), 4),
            round(float(points[i].y), 4),
            round(float(points[i].visibility), 3),
        ]
        for name, i in KEYPOINTS.items()
    }


def _largest_face(faces: Any, width: int, height: int) -> tuple[Box | None, float]:
    best: tuple[Box | None, float] = (None, 0.0)
    best_area = 0
    for detection in getattr(faces, "detections", None) or []:
        box = detection.location_data.relative_bounding_box
        x0 = max(0, int(box.xmin * width))
        y0 = max(0, int(box.ymin * height))
        x1 = min(width, int((box.xmin + box.width) * width + 0.5))
        y1 = min(height, int((box.ymin + box.height) * height + 0.5))
        area = max(0, x1 - x0) * max(0, y1 - y0)
        if area > best_area:
            best_area = area
            best = ((x0, y0, x1, y1), round(float(detection.score[0]), 3))
    return best
