"""Tune the thresholds of vision/pose.py on the tuning split of bench/pose/labels.csv only.

    .venv/bin/python -m bench.pose.tune

The graphs run once per photo (`measure`); the rules (`tag_signals`) are then replayed for
every point of a small grid. The score, on the tuning split, is present accuracy + view
accuracy (photos with a person) + framing accuracy (all photos) + the share of the synthetic
faces-covered photos (bench/pose/eval.py `cover_face`) still found to show a person: UAB has
no back views, so without that term nothing would stop the person-mask threshold from
climbing until every person without a visible face is lost. Writes bench/results/pose-tune.md
with the best points and the score of the current defaults; the held-out split is never
looked at here (bench/pose/eval.py reports it).
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench.colour  # noqa: F401  - one thread everywhere, before numpy/mediapipe load
from bench.colour.uab import DEFAULT_DIR
from bench.pose.eval import RESULTS, Label, Prediction, cover_face, load_labels, metrics
from studiolab.vision.decode import decode_image
from studiolab.vision.pose import RULES, Rules, Signals, measure, tag_signals

GRID: dict[str, list[float]] = {
    "share_min": [0.15, 0.2, 0.25, 0.275, 0.3, 0.325, 0.35, 0.4, 0.45],
    "share_min_edge": [0.05, 0.1, 0.15, 0.2, 0.25, 1.0],  # 1.0: no edge rule
    "share_with_skeleton": [0.0, 0.02, 0.05],
    "rise_min": [-1.0, 0.1, 0.2],
    "torso_min": [0.0, 0.08],
}


def score(
    labels: list[Label],
    signals: dict[str, Signals | None],
    covered: list[Signals | None],
    rules: Rules,
) -> float:
    predictions = {}
    for label in labels:
        found = signals[label.id]
        tags = tag_signals(found, rules).tags if found is not None else None
        predictions[label.id] = Prediction(
            present="yes" if tags and tags.present else "no",
            view=tags.view if tags else "unknown",
            framing=tags.framing if tags else "none",
            confidence=tags.confidence if tags else 0.0,
        )
    m = metrics(labels, predictions)
    hits = sum(1 for s in covered if s is not None and tag_signals(s, rules).tags.present)
    probe = hits / len(covered) if covered else 0.0
    return float(m["present_accuracy"] + m["view_accuracy"] + m["framing_accuracy"] + probe)


def main() -> None:
    labels = [label for label in load_labels() if label.split == "tune"]
    signals = {
        label.id: measure(
            decode_image((DEFAULT_DIR / "images" / f"{label.id}.jpg").read_bytes()).rgba
        )
        for label in labels
    }
    covered = []  # the synthetic faces-covered photos of the tuning split (see eval.py)
    for label in labels:
        found = signals[label.id]
        if label.framing in ("upper_body", "full_body") and found and found.face_box:
            rgba = decode_image((DEFAULT_DIR / "images" / f"{label.id}.jpg").read_bytes()).rgba
            covered.append(measure(cover_face(rgba, found.face_box)))
    points = []
    for values in itertools.product(*GRID.values()):
        overrides: dict[str, Any] = dict(zip(GRID, values, strict=True))
        rules = replace(RULES, **overrides)
        if rules.rise_min < rules.rise_max:
            points.append((score(labels, signals, covered, rules), rules))
    points.sort(key=lambda point: -point[0])
    current = score(labels, signals, covered, RULES)
    rows = [
        "# Pose thresholds tuned on the tuning split",
        "",
        f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}; command: "
        "`.venv/bin/python -m bench.pose.tune`",
        f"- tuning split: {len(labels)} photos; score = present acc + view acc (people) + "
        "framing acc (all) + faces-covered photos found, max 4",
        f"- current defaults ({_short(RULES)}): **{current:.3f}**",
        "",
        "| rank | score | " + " | ".join(GRID) + " |",
        "|---" * (len(GRID) + 2) + "|",
    ]
    for rank, (value, rules) in enumerate(points[:5], start=1):
        fields = asdict(rules)
        rows.append(
            f"| {rank} | {value:.3f} | " + " | ".join(str(fields[name]) for name in GRID) + " |"
        )
    rows += ["", "Best score for each value of one threshold (the others free):", ""]
    for name, grid_values in GRID.items():
        best = {
            value: max(v for v, rules in points if getattr(rules, name) == value)
            for value in grid_values
        }
        rows.append(f"- {name}: " + ", ".join(f"{k}: {v:.3f}" for k, v in best.items()))
    rows.append("")
    Path(RESULTS / "pose-tune.md").write_text("\n".join(rows), "utf-8")
    print("\n".join(rows))


def _short(rules: Rules) -> str:
    fields = asdict(rules)
    return ", ".join(f"{name}={fields[name]}" for name in GRID)


if __name__ == "__main__":
    main()
