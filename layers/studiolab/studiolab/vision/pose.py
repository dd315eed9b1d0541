"""Is a human model in the photo, which way do they face, how much of them is in frame.

MediaPipe 0.10.21 (`mp.solutions`): Pose (model_complexity=1, whose landmark model ships in the
wheel, so nothing is downloaded) and Face Detection (full-range model, also bundled). Both are
created lazily, once per process, and every `process()` call runs under one lock: a MediaPipe
graph is not thread-safe, and the CLI and the local worker call this from thread pools.

Tagging rules (landmark indices are MediaPipe Pose's 33-point topology; "visible" means a
landmark's visibility >= VISIBLE and its position inside the frame, with a small margin):

present
    Pose found a body with at least two visible anchor landmarks (shoulders, hips, nose), or
    Face Detection found a face with score >= FACE_MIN. Otherwise present=False, framing=none.
confidence
    max(face score, mean visibility of the visible anchors); 0 when absent.
view
    1. both shoulders visible and their span is narrow against the torso (span / torso length
       < SIDE_RATIO, torso = shoulder midpoint to hip midpoint, or 1.6 x the face height when
       the hips are out of frame) -> side;
    2. a face is detected and the person's left shoulder is on the image's right (as when
       someone faces the camera) -> front;
    3. both shoulders visible and no face -> back (MediaPipe still labels left/right as if the
       person faced the camera, so the mirror test alone cannot tell a back view);
    4. a face without usable shoulders (head shot) -> front; anything else -> unknown.
framing
    ankles visible with shoulders or hips -> full_body; shoulders without ankles (hips and
    knees may show: waist-up and three-quarter shots) -> upper_body; hips or knees without
    shoulders -> lower_body (ankles included: trousers and shoes shots); a person with neither
    shoulders nor hips (a face, hands or feet only) -> detail.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from studiolab.domain.models import PersonTags
from studiolab.domain.models.item import Framing, PoseView
from studiolab.vision.types import RGB

VISIBLE = 0.5
FACE_MIN = 0.6
SIDE_RATIO = 0.35
FRAME_MARGIN = 0.02
MIN_SIDE = 32  # below this MediaPipe finds nothing useful; skip the graphs entirely

# MediaPipe Pose landmark indices (the compact summary keeps these).
KEYPOINTS: dict[str, int] = {
    "nose": 0,
    "left_shoulder": 11,
    "right_shoulder": 12,
    "left_elbow": 13,
    "right_elbow": 14,
    "left_wrist": 15,
    "right_wrist": 16,
    "left_hip": 23,
    "right_hip": 24,
    "left_knee": 25,
    "right_knee": 26,
    "left_ankle": 27,
    "right_ankle": 28,
}
ANCHORS = ("nose", "left_shoulder", "right_shoulder", "left_hip", "right_hip")

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, x1/y1 exclusive


@dataclass(frozen=True)
class PersonResult:
    tags: PersonTags
    keypoints: dict[str, list[float]] = field(default_factory=dict)  # name -> [x, y, vis]
    face_box: Box | None = None
    face_score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The `person` object of a palette result: the tags plus the compact summary."""
        return {
            **self.tags.model_dump(),
            "keypoints": self.keypoints,
            "face_box": list(self.face_box) if self.face_box else None,
        }


NO_PERSON = PersonResult(tags=PersonTags(present=False, confidence=0.0))


class _Detectors:
    """The two MediaPipe graphs, created on first use and shared by every thread."""

    def __init__(self) -> None:
        import mediapipe as mp

        self.pose = mp.solutions.pose.Pose(
            static_image_mode=True, model_complexity=1, enable_segmentation=False
        )
        self.face = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=0.5
        )
        self.lock = threading.Lock()

    def run(self, rgb: RGB) -> tuple[Any, Any]:
        with self.lock:
            return self.pose.process(rgb), self.face.process(rgb)


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


def detect_person(image: np.ndarray[Any, Any]) -> PersonResult:
    """Tags, keypoints and face box of the most prominent person in `image` (see module doc)."""
    rgb = as_rgb(image)
    height, width = rgb.shape[:2]
    if min(height, width) < MIN_SIDE:
        return NO_PERSON
    pose, faces = _get_detectors().run(rgb)
    keypoints = _keypoints(pose)
    face_box, face_score = _largest_face(faces, width, height)
    return tag(keypoints, face_box, face_score, width, height)


def tag(
    keypoints: dict[str, list[float]],
    face_box: Box | None,
    face_score: float,
    width: int,
    height: int,
) -> PersonResult:
    """The rules of the module doc, on normalised keypoints ([x, y, visibility] in 0..1)."""
    seen = {name for name, (x, y, vis) in keypoints.items() if _visible(x, y, vis)}
    anchors = [keypoints[name][2] for name in ANCHORS if name in seen]
    has_face = face_box is not None and face_score >= FACE_MIN
    if len(anchors) < 2 and not has_face:
        return NO_PERSON
    confidence = max(face_score if has_face else 0.0, float(np.mean(anchors)) if anchors else 0.0)
    shoulders = {"left_shoulder", "right_shoulder"} <= seen
    any_shoulder = bool({"left_shoulder", "right_shoulder"} & seen)
    hips = bool({"left_hip", "right_hip"} & seen)
    knees = bool({"left_knee", "right_knee"} & seen)
    ankles = bool({"left_ankle", "right_ankle"} & seen)

    view: PoseView = "unknown"
    if shoulders:
        lx, ly = keypoints["left_shoulder"][0] * width, keypoints["left_shoulder"][1] * height
        rx, ry = keypoints["right_shoulder"][0] * width, keypoints["right_shoulder"][1] * height
        span = float(np.hypot(lx - rx, ly - ry))
        torso = _torso_length(keypoints, seen, face_box, width, height)
        if torso > 0 and span / torso < SIDE_RATIO:
            view = "side"
        elif has_face:
            view = "front" if lx > rx else "unknown"
        else:
            view = "back"
    elif has_face:
        view = "front"

    framing: Framing
    if ankles and (any_shoulder or hips):
        framing = "full_body"
    elif any_shoulder:
        framing = "upper_body"
    elif hips or knees:
        framing = "lower_body"
    else:
        framing = "detail"
    tags = PersonTags(
        present=True, confidence=round(min(1.0, confidence), 3), view=view, framing=framing
    )
    return PersonResult(tags=tags, keypoints=keypoints, face_box=face_box, face_score=face_score)


def _visible(x: float, y: float, visibility: float) -> bool:
    low, high = -FRAME_MARGIN, 1.0 + FRAME_MARGIN
    return visibility >= VISIBLE and low <= x <= high and low <= y <= high


def _torso_length(
    keypoints: dict[str, list[float]],
    seen: set[str],
    face_box: Box | None,
    width: int,
    height: int,
) -> float:
    sx = (keypoints["left_shoulder"][0] + keypoints["right_shoulder"][0]) / 2 * width
    sy = (keypoints["left_shoulder"][1] + keypoints["right_shoulder"][1]) / 2 * height
    hip_names = [name for name in ("left_hip", "right_hip") if name in seen]
    if hip_names:
        hx = float(np.mean([keypoints[name][0] for name in hip_names])) * width
        hy = float(np.mean([keypoints[name][1] for name in hip_names])) * height
        return float(np.hypot(hx - sx, hy - sy))
    if face_box is not None:
        return 1.6 * (face_box[3] - face_box[1])
    return 0.0


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
