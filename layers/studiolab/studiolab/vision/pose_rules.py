"""The rules of the person tags: MediaPipe's signals on one photo in, present / view /
framing out. Pure geometry on normalised keypoints, a face box and a person-mask summary, so
it runs (and is tested, and is tuned by bench/pose/tune.py) without any graph; vision/pose.py
runs the graphs and calls `tag_signals`.

Signals: Pose landmarks (33-point topology; "visible" means visibility >= VISIBLE and inside
the frame with a small margin), the largest face (score), and `person_share`, the fraction of
the photo that Selfie Segmentation calls person (probability >= 0.5).

Plausible skeleton. BlazePose's detector keys on a face; on headless crops (waist-down jeans
and shorts shots) and on shoes it still returns a skeleton, made up: measured on hand-labelled
UAB photos, those put the "nose" below the shoulders or are a few pixels tall. A skeleton
counts only when it stands upright (hip midpoint below the shoulder midpoint, torso within
60 degrees of vertical), the nose is above the shoulder midpoint by RISE_MIN..RISE_MAX torso
lengths, and the torso is at least TORSO_MIN of the photo's height. Raw landmark coordinates
are used (MediaPipe extrapolates out-of-frame ones). Without a face it must also cover some
person mask (person_share >= SHARE_WITH_SKELETON). An implausible skeleton is dropped.

present
    a plausible skeleton with at least two visible anchor landmarks (shoulders, hips, nose),
    or a face with score >= FACE_MIN, or a person mask that reaches the top or bottom edge
    (a body cut by the frame) with person_share >= SHARE_MIN, or >= SHARE_MIN_EDGE when it
    reaches the top edge. A mask that touches neither edge is not enough on its own: a product
    laid flat sits inside the frame, and Selfie Segmentation calls a coat or a tunic packshot
    person (share 0.27, measured on the demo shop's renders, bench/pose/demo_set.py; on the
    UAB tuning split this removed 4 false positives for 1 person lost).
    The mask alone is how headless waist-down shots and faces turned away are found.
    Otherwise present=False, framing=none.
confidence
    max(face score, mean visibility of the visible anchors, mean mask probability over the
    person mask when the mask decided); 0 when absent.
view
    1. both shoulders visible and their span is narrow against the torso (span / torso length
       < SIDE_RATIO, torso = shoulder midpoint to hip midpoint, or 1.6 x the face height when
       the hips are out of frame) -> side;
    2. a face is detected and the person's left shoulder is on the image's right (as when
       someone faces the camera) -> front;
    3. both shoulders visible, no face, and Pose itself calls the nose hidden (visibility
       below VISIBLE: the pose model's own occlusion estimate) -> back (MediaPipe still labels
       left/right as if the person faced the camera, so the mirror test alone cannot tell a
       back view); the same with the nose visible to Pose -> unknown: a face the face
       detector missed (small, blurred, drawn) is not a back. On the demo shop's drawn
       front-facing figures, which have no eyes or mouth, rule 3 without the nose test said
       back for 70 of 150 (bench/results/pose.md);
    4. a face without usable shoulders (head shot) -> front; anything else (the mask alone)
       -> unknown.
framing
    from the skeleton: ankles visible with shoulders or hips -> full_body; shoulders without
    ankles (hips and knees may show: waist-up and three-quarter shots) -> upper_body; hips or
    knees without shoulders -> lower_body (ankles included: trousers and shoes shots);
    a face (or a skeleton) with none of those -> detail. From the mask alone (no skeleton,
    no face): it reaches the bottom edge but not the top one (a head in frame, face unseen)
    -> upper_body; otherwise -> lower_body (in catalogue photos a person with neither face
    nor skeleton is nearly always a waist-down shot).

Thresholds: SHARE_MIN, SHARE_MIN_EDGE, SHARE_WITH_SKELETON and RISE_MIN were chosen with
bench/pose/tune.py on the tuning half of bench/pose/labels.csv (hand-labelled UAB photos) plus
synthetic faces-covered copies of them; bench/pose/eval.py reports the held-out half. UAB has
no back or side views, so the back and side rules are not measured on real photos. SHARE_MIN
was re-tuned (0.25 -> 0.2) once the mask alone had to reach an edge. The demo shop's renders
(bench/pose/demo_set.py) are a second set, split the same way; the two rules they motivated
(edge, hidden nose) were read off its tuning half, and pose.md quotes its held-out half.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from studiolab.domain.models import PersonTags
from studiolab.domain.models.item import Framing, PoseView

VISIBLE = 0.5
FACE_MIN = 0.6
SIDE_RATIO = 0.35
SHARE_MIN = 0.2  # person mask alone: tuned on the tuning split (bench/pose/tune.py)
SHARE_MIN_EDGE = 0.1  # ... when the mask is cut by the top edge (tuned there too)
SHARE_WITH_SKELETON = 0.02  # a skeleton without a face needs this much person mask
RISE_MIN = 0.1  # nose above the shoulder midpoint, in torso lengths
RISE_MAX = 1.2
TORSO_MIN = 0.08  # torso length / photo height
FRAME_MARGIN = 0.02


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
class Rules:
    """The thresholds of the module doc, as one value (bench/pose/tune.py varies them)."""

    visible: float = VISIBLE
    face_min: float = FACE_MIN
    side_ratio: float = SIDE_RATIO
    share_min: float = SHARE_MIN
    share_min_edge: float = SHARE_MIN_EDGE
    share_with_skeleton: float = SHARE_WITH_SKELETON
    rise_min: float = RISE_MIN
    rise_max: float = RISE_MAX
    torso_min: float = TORSO_MIN
    mask_needs_edge: bool = True  # the mask alone must reach the top or bottom edge
    back_needs_hidden_nose: bool = True  # view rule 3: no face and Pose's nose hidden


RULES = Rules()


@dataclass(frozen=True)
class PersonMask:
    """Summary of Selfie Segmentation's person mask on the photo."""

    share: float = 0.0  # fraction of the photo with person probability >= 0.5
    touches_top: bool = False
    touches_bottom: bool = False
    confidence: float = 0.0  # mean probability over the person pixels


NO_MASK = PersonMask()


@dataclass(frozen=True)
class Signals:
    """What the graphs saw on one photo; `tag_signals` turns it into tags."""

    keypoints: dict[str, list[float]]
    face_box: Box | None
    face_score: float
    mask: PersonMask
    width: int
    height: int


@dataclass(frozen=True)
class PersonResult:
    tags: PersonTags
    keypoints: dict[str, list[float]] = field(default_factory=dict)  # name -> [x, y, vis]
    face_box: Box | None = None
    face_score: float = 0.0
    person_share: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The `person` object of a palette result: the tags plus the compact summary."""
        return {
            **self.tags.model_dump(),
            "keypoints": self.keypoints,
            "face_box": list(self.face_box) if self.face_box else None,
        }


NO_PERSON = PersonResult(tags=PersonTags(present=False, confidence=0.0))


def tag_signals(signals: Signals, rules: Rules = RULES) -> PersonResult:
    return tag(
        signals.keypoints,
        signals.face_box,
        signals.face_score,
        signals.width,
        signals.height,
        mask=signals.mask,
        rules=rules,
    )


def tag(
    keypoints: dict[str, list[float]],
    face_box: Box | None,
    face_score: float,
    width: int,
    height: int,
    *,
    mask: PersonMask = NO_MASK,
    rules: Rules = RULES,
) -> PersonResult:
    """The rules of the module doc, on normalised keypoints ([x, y, visibility] in 0..1)."""
    has_face = face_box is not None and face_score >= rules.face_min
    if keypoints and not _plausible(keypoints, has_face, mask, width, height, rules):
        keypoints = {}
    seen = {name for name, (x, y, vis) in keypoints.items() if _visible(x, y, vis, rules)}
    anchors = [keypoints[name][2] for name in ANCHORS if name in seen]
    skeleton = len(anchors) >= 2
    edge = min(rules.share_min_edge, rules.share_min) if mask.touches_top else rules.share_min
    cut = mask.touches_top or mask.touches_bottom or not rules.mask_needs_edge
    by_mask = cut and mask.share >= edge
    if not skeleton and not has_face and not by_mask:
        return NO_PERSON
    if not skeleton:
        keypoints, seen, anchors = {}, set(), []
    confidence = max(
        face_score if has_face else 0.0,
        float(np.mean(anchors)) if anchors else 0.0,
        mask.confidence if by_mask and not skeleton and not has_face else 0.0,
    )
    shoulders = {"left_shoulder", "right_shoulder"} <= seen
    any_shoulder = bool({"left_shoulder", "right_shoulder"} & seen)
    hips = bool({"left_hip", "right_hip"} & seen)
    knees = bool({"left_knee", "right_knee"} & seen)
    ankles = bool({"left_ankle", "right_ankle"} & seen)

    view: PoseView = "unknown"
    if shoulders:  # rules 1-3 of the module doc
        lx, ly = keypoints["left_shoulder"][0] * width, keypoints["left_shoulder"][1] * height
        rx, ry = keypoints["right_shoulder"][0] * width, keypoints["right_shoulder"][1] * height
        span = float(np.hypot(lx - rx, ly - ry))
        torso = _torso_length(keypoints, seen, face_box, width, height)
        if torso > 0 and span / torso < rules.side_ratio:
            view = "side"
        elif has_face:
            view = "front" if lx > rx else "unknown"
        elif "nose" not in seen or not rules.back_needs_hidden_nose:
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
    elif has_face or skeleton:
        framing = "detail"
    elif mask.touches_bottom and not mask.touches_top:
        framing = "upper_body"
    else:
        framing = "lower_body"
    tags = PersonTags(
        present=True, confidence=round(min(1.0, confidence), 3), view=view, framing=framing
    )
    return PersonResult(
        tags=tags,
        keypoints=keypoints,
        face_box=face_box,
        face_score=face_score,
        person_share=round(mask.share, 3),
    )


def _plausible(
    keypoints: dict[str, list[float]],
    has_face: bool,
    mask: PersonMask,
    width: int,
    height: int,
    rules: Rules,
) -> bool:
    """An upright body of some size, its nose above its shoulders (see module doc)."""
    if not has_face and mask.share < rules.share_with_skeleton:
        return False

    def mid(a: str, b: str) -> tuple[float, float]:
        return (
            (keypoints[a][0] + keypoints[b][0]) / 2 * width,
            (keypoints[a][1] + keypoints[b][1]) / 2 * height,
        )

    sx, sy = mid("left_shoulder", "right_shoulder")
    hx, hy = mid("left_hip", "right_hip")
    torso = float(np.hypot(hx - sx, hy - sy))
    if torso < rules.torso_min * height or hy - sy < 0.5 * torso:
        return False
    rise = (sy - keypoints["nose"][1] * height) / torso
    return rules.rise_min <= rise <= rules.rise_max


def _visible(x: float, y: float, visibility: float, rules: Rules = RULES) -> bool:
    low, high = -FRAME_MARGIN, 1.0 + FRAME_MARGIN
    return visibility >= rules.visible and low <= x <= high and low <= y <= high


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
