"""Person / view / framing tags (vision/pose.py) against hand labels of UAB photos.

    .venv/bin/python -m bench.pose.eval [--before]

Reads bench/pose/labels.csv (how it was made: its header) and the photos in place from
../shared/data/uab-clothing (never copied), runs the production tagging step on each photo -
`decode_image` then `detect_person` on the decoded RGBA, exactly what the vision handler does -
and writes bench/results/pose.md and pose.json: accuracy and confusion matrices of present,
view and framing, on the held-out split, the tuning split and both, and per-image times.
Then the same on a second set, the demo shop's own renders with their drawn truth
(bench/pose/demo_set.py), in its own section.

Splits: a photo is in the tuning split when the first byte of sha1(id) is even, else in the
held-out split. Thresholds of vision/pose.py may be tuned on the tuning split only
(bench/pose/tune.py); the held-out split is the number to quote.

Configurations: the production call, and the same call without upscaling small photos
(`upscale_min_side=None`), so the effect of upscaling 60x80 photos is measured, not assumed.
`--before` writes pose-before.md/.json instead (used once, on the tagger before the changes
these numbers justified, so pose.md can show before and after).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import inspect
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import bench.colour  # noqa: F401  - one thread everywhere, before numpy/mediapipe load
from bench.colour.uab import DEFAULT_DIR
from studiolab.vision.decode import decode_image

HERE = Path(__file__).resolve().parent
LABELS = HERE / "labels.csv"
RESULTS = HERE.parents[0] / "results"
COMMAND = ".venv/bin/python -m bench.pose.eval"

PRESENT = ("yes", "no")
VIEWS = ("front", "back", "side", "unknown")
FRAMINGS = ("full_body", "upper_body", "lower_body", "detail", "none")
SPLITS = ("held-out", "tune", "all")


@dataclass(frozen=True)
class Label:
    id: str
    category: str
    present: str
    view: str
    framing: str

    @property
    def split(self) -> str:
        return split_of(self.id)


@dataclass(frozen=True)
class Prediction:
    present: str
    view: str
    framing: str
    confidence: float


def split_of(image_id: str) -> str:
    return "tune" if hashlib.sha1(image_id.encode()).digest()[0] % 2 == 0 else "held-out"


def load_labels(path: Path = LABELS) -> list[Label]:
    lines = [line for line in path.read_text("utf-8").splitlines() if not line.startswith("#")]
    labels = [
        Label(row["id"], row["category"], row["person_present"], row["view"], row["framing"])
        for row in csv.DictReader(lines)
    ]
    for label in labels:
        assert label.present in PRESENT and label.view in VIEWS and label.framing in FRAMINGS, label
    return labels


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def confusion(pairs: Iterable[tuple[str, str]], classes: tuple[str, ...]) -> list[list[int]]:
    counts = Counter(pairs)
    return [[counts[(truth, predicted)] for predicted in classes] for truth in classes]


def metrics(labels: list[Label], predictions: dict[str, Prediction]) -> dict[str, Any]:
    """Accuracy and confusion matrices (rows = label, columns = prediction).

    present: every photo. view: photos labelled with a person (a photo the tagger calls empty
    counts as view "unknown"). framing: every photo ("none" is the framing of no person)."""
    people = [label for label in labels if label.present == "yes"]
    present_pairs = [(x.present, predictions[x.id].present) for x in labels]
    view_pairs = [(x.view, predictions[x.id].view) for x in people]
    framing_pairs = [(x.framing, predictions[x.id].framing) for x in labels]
    committed = [(truth, got) for truth, got in view_pairs if got != "unknown"]
    tp = sum(1 for truth, got in present_pairs if truth == got == "yes")
    said_yes = sum(1 for _, got in present_pairs if got == "yes")

    def accuracy(pairs: list[tuple[str, str]]) -> float:
        return round(sum(a == b for a, b in pairs) / len(pairs), 3) if pairs else 0.0

    return {
        "n": len(labels),
        "n_people": len(people),
        "present_accuracy": accuracy(present_pairs),
        "present_precision": round(tp / said_yes, 3) if said_yes else 0.0,
        "present_recall": round(tp / len(people), 3) if people else 0.0,
        "view_accuracy": accuracy(view_pairs),
        "view_coverage": round(len(committed) / len(people), 3) if people else 0.0,
        "view_precision": accuracy(committed),
        "framing_accuracy": accuracy(framing_pairs),
        "framing_accuracy_people": accuracy(
            [(x.framing, predictions[x.id].framing) for x in people]
        ),
        "present_confusion": confusion(present_pairs, PRESENT),
        "view_confusion": confusion(view_pairs, VIEWS),
        "framing_confusion": confusion(framing_pairs, FRAMINGS),
    }


def run_config(
    labels: list[Label], call: Callable[[Any], Any]
) -> tuple[dict[str, Prediction], list[float], list[float]]:
    """Predictions, ms of `call` (detect_person) and ms of decode + call, per photo."""
    predictions: dict[str, Prediction] = {}
    detect_ms: list[float] = []
    step_ms: list[float] = []
    for label in labels:
        data = (DEFAULT_DIR / "images" / f"{label.id}.jpg").read_bytes()
        start = time.perf_counter()
        decoded = decode_image(data)
        mid = time.perf_counter()
        tags = call(decoded.rgba).tags
        end = time.perf_counter()
        detect_ms.append((end - mid) * 1000)
        step_ms.append((end - start) * 1000)
        predictions[label.id] = Prediction(
            present="yes" if tags.present else "no",
            view=tags.view,
            framing=tags.framing,
            confidence=tags.confidence,
        )
    return predictions, detect_ms, step_ms


def pose_graph_ms(labels: list[Label]) -> list[float]:
    """MediaPipe Pose alone (the landmark graph the tagger runs), on the decoded photos."""
    from studiolab.vision.pose import _get_detectors, as_rgb

    pose = _get_detectors().pose
    times = []
    for label in labels:
        rgb = as_rgb(decode_image((DEFAULT_DIR / "images" / f"{label.id}.jpg").read_bytes()).rgba)
        start = time.perf_counter()
        pose.process(rgb)
        times.append((time.perf_counter() - start) * 1000)
    return times


def cover_face(rgba: Any, box: tuple[int, int, int, int]) -> Any:
    """A copy of `rgba` with the face box, grown to take the hair in, painted dark brown."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    covered = rgba.copy()
    top, left = max(0, int(y0 - 0.6 * h)), max(0, int(x0 - 0.3 * w))
    covered[top : int(y1 + 0.2 * h), left : int(x1 + 0.3 * w)] = (60, 45, 35, 255)
    return covered


def face_covered_probe(labels: list[Label], call: Callable[[Any], Any]) -> dict[str, Any]:
    """Synthetic stress test, not a back view: on photos labelled upper or full body, the
    detected face (grown to take the hair in) is painted over in dark brown, as the back of a
    head looks, and the photo tagged again. UAB has no back views to measure instead."""
    present: Counter[str] = Counter()
    views: Counter[str] = Counter()
    framings: Counter[str] = Counter()
    for label in labels:
        if label.framing not in ("upper_body", "full_body"):
            continue
        rgba = decode_image((DEFAULT_DIR / "images" / f"{label.id}.jpg").read_bytes()).rgba
        box = call(rgba).face_box
        if box is None:
            continue
        covered = cover_face(rgba, box)
        tags = call(covered).tags
        present["yes" if tags.present else "no"] += 1
        views[tags.view] += 1
        framings[tags.framing] += 1
    return {"photos": sum(present.values()), "present": present, "view": views, "framing": framings}


def _by_config(per_image: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, Prediction]]:
    out: dict[str, dict[str, Prediction]] = {}
    for image_id, configs in per_image.items():
        for name, (present, view, framing) in configs.items():
            out.setdefault(name, {})[image_id] = Prediction(present, view, framing, 0.0)
    return out


def _timing(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values), 1),
        "p95_ms": round(_percentile(values, 0.95), 1),
    }


def _matrix(title: str, matrix: list[list[int]], classes: tuple[str, ...]) -> list[str]:
    rows = [
        f"{title} (rows: label, columns: tagger)",
        "",
        "| label \\ tagger | " + " | ".join(classes) + " |",
        "|---" * (len(classes) + 1) + "|",
    ]
    for name, counts in zip(classes, matrix, strict=True):
        if sum(counts):
            rows.append(f"| **{name}** | " + " | ".join(str(c) for c in counts) + " |")
    return [*rows, ""]


def _scores_table(results: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    rows = [
        "| configuration | split | photos (people) | present acc | precision | recall | "
        "view acc (people) | view given / right when given | framing acc (all) | "
        "framing acc (people) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for config, by_split in results.items():
        for split in SPLITS:
            m = by_split[split]
            rows.append(
                f"| {config} | {split} | {m['n']} ({m['n_people']}) | "
                f"{m['present_accuracy']:.3f} | {m['present_precision']:.3f} | "
                f"{m['present_recall']:.3f} | {m['view_accuracy']:.3f} | "
                f"{m.get('view_coverage', 0):.3f} / {m.get('view_precision', 0):.3f} | "
                f"{m['framing_accuracy']:.3f} | {m['framing_accuracy_people']:.3f} |"
            )
    return rows


def configurations() -> dict[str, Callable[[Any], Any]]:
    """production; without upscaling; and the rules of commit f08654c (a person mask that
    touches neither edge still counted; shoulders without a face always a back view;
    share_min 0.25) on the same graphs, when this tagger has them."""
    from studiolab.vision import pose

    configs: dict[str, Callable[[Any], Any]] = {"production": pose.detect_person}
    if "upscale_min_side" in inspect.signature(pose.detect_person).parameters:
        configs["no upscaling"] = lambda image: pose.detect_person(image, upscale_min_side=None)
    if "mask_needs_edge" in getattr(pose.Rules, "__dataclass_fields__", {}):
        old = replace(
            pose.RULES, share_min=0.25, mask_needs_edge=False, back_needs_hidden_nose=False
        )

        def previous(image: Any) -> Any:
            signals = pose.measure(image)
            return pose.NO_PERSON if signals is None else pose.tag_signals(signals, old)

        configs["f08654c rules"] = previous
    return configs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", action="store_true", help="write pose-before.md/.json")
    args = parser.parse_args(argv)
    if not (DEFAULT_DIR / "labels.json").is_file():
        sys.exit(f"UAB set absent ({DEFAULT_DIR}); nothing to measure")
    from studiolab.vision import pose

    labels = load_labels()
    configs = configurations()
    warm = decode_image((DEFAULT_DIR / "images" / f"{labels[0].id}.jpg").read_bytes()).rgba
    for call in configs.values():  # graphs created and warmed before any timing
        call(warm)

    results: dict[str, dict[str, dict[str, Any]]] = {}
    timings: dict[str, dict[str, dict[str, float]]] = {}
    per_image: dict[str, dict[str, Any]] = {}
    for name, call in configs.items():
        predictions, detect_ms, step_ms = run_config(labels, call)
        results[name] = {
            split: metrics([x for x in labels if split in ("all", x.split)], predictions)
            for split in SPLITS
        }
        timings[name] = {"detect_person": _timing(detect_ms), "decode+detect": _timing(step_ms)}
        for label in labels:
            p = predictions[label.id]
            per_image.setdefault(label.id, {})[name] = [p.present, p.view, p.framing]
    graph = _timing(pose_graph_ms(labels))
    probe = face_covered_probe(labels, pose.detect_person)
    from bench.pose import demo_set

    demo_images = demo_set.demo_images()
    demo: dict[str, dict[str, Any]] = {
        name: demo_set.evaluate(demo_images, configs[name])
        for name in ("production", "f08654c rules")
        if name in configs
    }

    stem = "pose-before" if args.before else "pose"
    command = COMMAND + (" --before" if args.before else "")
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}, "
        f"mediapipe {metadata.version('mediapipe')}, one thread, load average "
        f"{os.getloadavg()[0]:.1f} at the start (the machine is shared: times are noisy)",
        "command": command,
        "labels": "bench/pose/labels.csv",
    }
    payload = {
        **meta,
        "results": results,
        "timings": {**timings, "mediapipe_pose_graph": graph},
        "face_covered_probe": probe,
        "predictions": per_image,
        "demo": demo,
    }
    (RESULTS / f"{stem}.json").write_text(json.dumps(payload, indent=1) + "\n", "utf-8")
    markdown = report(meta, results, timings, graph, labels, probe)
    if demo:
        at = markdown.index("## Time per photo (this machine, one thread, after warm-up)")
        markdown[at:at] = demo_set.report(demo)
    (RESULTS / f"{stem}.md").write_text("\n".join(markdown), "utf-8")
    print("\n".join(markdown))


def report(
    meta: dict[str, str],
    results: dict[str, dict[str, dict[str, Any]]],
    timings: dict[str, dict[str, dict[str, float]]],
    graph: dict[str, float],
    labels: list[Label],
    probe: dict[str, Any],
) -> list[str]:
    counts = Counter((x.present, x.view, x.framing) for x in labels)
    by_split = Counter(x.split for x in labels)
    rows = [
        "# Pose benchmark: person present, view and framing on hand-labelled UAB photos and "
        "demo-shop renders",
        "",
        f"- date: {meta['date']}; machine: {meta['machine']}",
        f"- command: `{meta['command']}` (labels: `{meta['labels']}`, see its header for how "
        "they were made)",
        f"- {len(labels)} photos (60x80 JPEG): held-out split {by_split['held-out']}, tuning "
        f"split {by_split['tune']}; labels: "
        + ", ".join(f"{p}/{v}/{f} {n}" for (p, v, f), n in counts.most_common()),
        "",
        "## Scores",
        "",
        *_scores_table(results),
        "",
    ]
    before = RESULTS / "pose-before.json"
    if before.is_file() and meta["command"] == COMMAND:
        old = json.loads(before.read_text("utf-8"))
        for name, by_image in _by_config(old["predictions"]).items():  # today's metrics
            old["results"][name] = {
                split: metrics([x for x in labels if split in ("all", x.split)], by_image)
                for split in SPLITS
            }
        rows += [
            f"Before (the previous tagger, run {old['date']} with `{old['command']}` on the "
            "same labels):",
            "",
            *_scores_table(old["results"]),
            "",
        ]
    rows += [
        "## Faces covered (synthetic stress test, all splits)",
        "",
        f"On the {probe['photos']} photos labelled upper or full body whose face was found, the "
        "face and the hair above it painted over in dark brown (as the back of a head looks), "
        "then tagged again. Not a back view (UAB has none): it checks that a hidden face still "
        "gives a person and never a front view. The tuning half's copies were part of the "
        "tuning score (bench/pose/tune.py), so this is not a held-out number.",
        "",
        f"- present: {dict(probe['present'])}; view: {dict(probe['view'])}; framing: "
        f"{dict(probe['framing'])}",
        "",
        "## Confusion matrices (production, held-out split)",
        "",
    ]
    m = results["production"]["held-out"]
    rows += _matrix("present", m["present_confusion"], PRESENT)
    rows += _matrix("view (photos labelled with a person)", m["view_confusion"], VIEWS)
    rows += _matrix("framing", m["framing_confusion"], FRAMINGS)
    rows += ["## Confusion matrices (production, all labelled photos)", ""]
    m = results["production"]["all"]
    rows += _matrix("present", m["present_confusion"], PRESENT)
    rows += _matrix("view (photos labelled with a person)", m["view_confusion"], VIEWS)
    rows += _matrix("framing", m["framing_confusion"], FRAMINGS)
    rows += [
        "## Time per photo (this machine, one thread, after warm-up)",
        "",
        "| step | median ms | p95 ms |",
        "|---|---|---|",
        f"| MediaPipe Pose graph alone | {graph['median_ms']} | {graph['p95_ms']} |",
    ]
    for name, steps in timings.items():
        for step, value in steps.items():
            rows.append(f"| {step} ({name}) | {value['median_ms']} | {value['p95_ms']} |")
    rows += [
        "",
        "`detect_person` is the whole tagging call (every MediaPipe graph it runs plus the "
        "rules); `decode+detect` adds the safe decode the vision handler does first. 60x80 "
        "photos: the graphs resize to their own input size, so these are close to the fixed "
        "cost per photo.",
        "",
        "## Notes",
        "",
        "- No UAB photo shows a back or side view (every apparel photo was viewed while "
        "labelling), so the back and side rules are not measured on real photos here; the "
        "faces-covered test above is the stand-in, and it is synthetic.",
        "- `f08654c rules`: the same graphs with the two rules of commit f08654c that the demo "
        "renders showed wrong (a person mask touching neither edge counted on its own; both "
        "shoulders without a face always a back view; share_min 0.25). Production now needs "
        "the mask to reach the top or bottom edge (and share_min was re-tuned to 0.2 on the "
        "tuning split under that rule, bench/results/pose-tune.md), and calls a faceless body "
        "a back view only when Pose itself calls the nose hidden (else unknown). So the "
        "faces-covered copies, whose bodies still face the camera, now come out unknown "
        "rather than back, and on these sets nothing is tagged back: with no real back "
        "views labelled, whether a real back view gets `back` is not measured.",
        "- View is `unknown` for people found by the person mask alone (headless waist-down "
        "shots): without a face or a skeleton nothing says which way the legs face. That is "
        "most of the gap in view accuracy; 'right when given' is what a front-only filter "
        "gets.",
        "- Thresholds: bench/results/pose-tune.md (`.venv/bin/python -m bench.pose.tune`, "
        "tuning split only). Colour gain of the garment-only mask: bench/results/pose-mask.md "
        "(`.venv/bin/python -m bench.pose.uab_mask`).",
        "",
    ]
    return rows


if __name__ == "__main__":
    main()
