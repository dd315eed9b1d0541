"""UAB top-1 with and without the garment-only (skin/face/hair) mask, in the same run, plus
how often a person is detected and the per-image detection time.

    python -m bench.pose.uab_mask        (writes bench/results/pose-mask.md)

The UAB photos are read in place (never copied). This is the colour-gain half of the pose
issue's benchmark; the labelled present/view/framing half is bench/pose/eval.py (pose.md)."""

from __future__ import annotations

import platform
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import bench.colour  # noqa: F401  - one thread everywhere, before numpy/onnxruntime load
from bench.colour.uab import load
from studiolab.domain.errors import StudiolabError
from studiolab.vision.analyse import analyse_image

RESULTS = Path(__file__).resolve().parents[1] / "results" / "pose-mask.md"


def main() -> None:
    try:
        items = load()
    except FileNotFoundError as missing:
        sys.exit(f"UAB set absent ({missing}); nothing to measure")
    hits = {False: 0, True: 0}
    errors = {False: 0, True: 0}
    present: Counter[str] = Counter()
    changed = 0
    extra_ms: list[float] = []
    for item in items:
        data = item.path.read_bytes()
        dominant: dict[bool, str | None] = {}
        for with_mask in (False, True):
            start = time.perf_counter()
            try:
                analysis = analyse_image(data, detect_people=with_mask)
            except StudiolabError:
                errors[with_mask] += 1
                dominant[with_mask] = None
                continue
            elapsed = (time.perf_counter() - start) * 1000
            basic = analysis.palette.colors[0].basic
            dominant[with_mask] = basic
            hits[with_mask] += basic in item.colours
            if with_mask:
                extra_ms.append(elapsed)
                tags = analysis.person.tags if analysis.person else None
                present["person" if tags and tags.present else "no person"] += 1
        changed += dominant[False] != dominant[True]
    total = len(items)
    rows = [
        "# Pose benchmark: garment-only (skin/face/hair) mask on UAB, colour gain",
        "",
        f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}; machine: "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
        "- command: `.venv/bin/python -m bench.pose.uab_mask` (u2netp cut-out, one thread)",
        "",
        "| palette input | UAB top-1 | errors |",
        "|---|---|---|",
        f"| cut-out (no person mask) | {hits[False] / total:.3f} | {errors[False]} |",
        f"| cut-out minus skin/face/hair (detect_people) | {hits[True] / total:.3f} | "
        f"{errors[True]} |",
        "",
        f"- {total} photos; the dominant colour changed on {changed}; person detected on "
        f"{present['person']} ({present['person'] / total:.1%}).",
        f"- analyse_image with detection: median {statistics.median(extra_ms):.1f} ms per photo "
        "(60x80 photos: mostly fixed costs).",
        f"- Target (issue 8): >= 0.75 with the mask -> "
        f"**{'met' if hits[True] / total >= 0.75 else 'not met'}**. Caveat: the namer's "
        "basic-term rule was refined on this same set (see bench/results/colour.md).",
        "- Present / view / framing against hand labels: bench/results/pose.md "
        "(`python -m bench.pose.eval`).",
        "",
    ]
    RESULTS.write_text("\n".join(rows), "utf-8")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
