"""A second labelled set: the demo shop's own renders, whose ground truth comes with them.

    .venv/bin/python -m bench.pose.demo_set      (this section alone; bench/pose/eval.py
                                                   runs it too and puts it in pose.md)

studiolab/demo/images.py draws every product image from an `ImageSpec`: view "model" is the
garment worn by a drawn figure facing the camera, head to shoes inside the frame (`figure`
True), "packshot" and "back" are the garment alone, flat, front and back. So the truth is
present=yes / view=front / framing=full_body for a figure and no / unknown / none otherwise.
The figure has no eyes or mouth (a skin disc with hair on top): a face detector may well miss
it, which is the point - it is the "front figure without a detected face" case.

The set: products 0, 1, 2 ... of the demo catalog (seed 7, every category in its cycle), every
image of each, drawn in memory with `images.draw` at a width cycling through WIDTHS (the
shop's own aspect ratio) and JPEG-encoded at quality 90 as the shop serves it, until there
are N_FIGURES figure images and N_PRODUCTS garment-only images. Split by product handle
(sha1, as bench/pose/eval.py), so the views of one garment never straddle the split.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from bench.pose.eval import Label, Prediction, metrics, split_of

N_FIGURES = 150
N_PRODUCTS = 150
WIDTHS = (96, 160, 320, 640)
SPLITS = ("held-out", "tune", "all")


@dataclass(frozen=True)
class DemoImage:
    label: Label
    handle: str
    title: str
    spec_view: str  # the ImageSpec view: packshot | model | back
    width: int

    @property
    def split(self) -> str:
        return split_of(self.handle)


def demo_images(n_figures: int = N_FIGURES, n_products: int = N_PRODUCTS) -> list[DemoImage]:
    """The set (no pixels yet: `render` draws one)."""
    from studiolab.demo.catalog import product_at

    out: list[DemoImage] = []
    counts = Counter[bool]()
    index = 0
    while counts[True] < n_figures or counts[False] < n_products:
        product = product_at(index)
        for spec in product.images:
            if counts[spec.figure] >= (n_figures if spec.figure else n_products):
                continue
            counts[spec.figure] += 1
            width = WIDTHS[(index + spec.n) % len(WIDTHS)]
            label = (
                Label(f"{product.handle}/{spec.n}@{width}", product.category, "yes", "front",
                      "full_body")
                if spec.figure
                else Label(f"{product.handle}/{spec.n}@{width}", product.category, "no",
                           "unknown", "none")
            )  # fmt: skip
            out.append(DemoImage(label, product.handle, product.title, spec.view, width))
        index += 1
    return out


def render(image: DemoImage) -> np.ndarray[Any, Any]:
    """RGB pixels of the image as the demo shop serves it (JPEG, quality 90)."""
    from studiolab.demo.catalog import index_of, product_at
    from studiolab.demo.images import output_size, render_jpeg

    product = product_at(index_of(image.handle) or 0)
    n = int(image.label.id.split("/")[1].split("@")[0])
    data = render_jpeg(product, n, output_size(image.width))
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def evaluate(images: list[DemoImage], call: Callable[[Any], Any]) -> dict[str, Any]:
    """Metrics per split, what the tagger says on figures, and the garment-only images it
    calls a person (the false positives, listed)."""
    predictions: dict[str, Prediction] = {}
    for image in images:
        tags = call(render(image)).tags
        predictions[image.label.id] = Prediction(
            "yes" if tags.present else "no", tags.view, tags.framing, tags.confidence
        )
    results = {
        split: metrics([x.label for x in images if split in ("all", x.split)], predictions)
        for split in SPLITS
    }
    figures = [x for x in images if x.label.present == "yes"]
    by_size = {
        width: Counter(predictions[x.label.id].present for x in figures if x.width == width)
        for width in WIDTHS
    }
    false_positives = [
        {
            "id": x.label.id,
            "title": x.title,
            "view": x.spec_view,
            "split": x.split,
            "tags": vars(predictions[x.label.id]),
        }
        for x in images
        if x.label.present == "no" and predictions[x.label.id].present == "yes"
    ]
    return {
        "n": len(images),
        "results": results,
        "figure_views": dict(Counter(predictions[x.label.id].view for x in figures)),
        "figure_framings": dict(Counter(predictions[x.label.id].framing for x in figures)),
        "figures_found_by_width": {w: dict(c) for w, c in by_size.items()},
        "false_positives": false_positives,
        "predictions": {k: [p.present, p.view, p.framing] for k, p in predictions.items()},
    }


def report(demo: dict[str, dict[str, Any]]) -> list[str]:
    """The demo section of pose.md: `demo` maps configuration -> `evaluate` output."""
    from bench.pose.eval import FRAMINGS, PRESENT, VIEWS, _matrix, _scores_table

    first = next(iter(demo.values()))
    people = first["results"]["all"]["n_people"]
    rows = [
        "## Demo shop renders (second labelled set, truth from the drawing code)",
        "",
        f"- {first['n']} images: {people} drawn figures wearing the garment (truth: yes / front "
        f"/ full_body), {first['n'] - people} garment-only packshots and back views (truth: "
        f"no / unknown / none); widths {', '.join(str(w) for w in WIDTHS)} px; split by product "
        "handle. How the set is built: bench/pose/demo_set.py.",
        "- The figures have no eyes or mouth, so a face detector misses most of them: this set "
        "measures the no-face paths (skeleton and person mask) on front-facing bodies, and "
        "packshots, which UAB has few of.",
        "",
        *_scores_table({name: d["results"] for name, d in demo.items()}),
        "",
    ]
    for name, d in demo.items():
        m = d["results"]["held-out"]
        fps = d["false_positives"]
        rows += [
            f"### {name}",
            "",
            f"- what the tagger says on the figures (all splits): view {d['figure_views']}; "
            f"framing {d['figure_framings']}",
            f"- figures found, by width: {d['figures_found_by_width']}",
            f"- garment-only images called a person ({len(fps)}): "
            + (
                "; ".join(
                    f"{fp['title']} {fp['view']} `{fp['id']}` ({fp['split']}): "
                    f"{fp['tags']['framing']}, confidence {fp['tags']['confidence']:.2f}"
                    for fp in fps
                )
                or "none"
            ),
            "",
            *_matrix("present, held-out", m["present_confusion"], PRESENT),
            *_matrix("view, held-out (figures)", m["view_confusion"], VIEWS),
            *_matrix("framing, held-out", m["framing_confusion"], FRAMINGS),
        ]
    return rows


def main() -> None:
    import bench.colour  # noqa: F401  - one thread everywhere, before numpy/mediapipe load
    from bench.pose.eval import configurations

    images = demo_images()
    demo = {name: evaluate(images, call) for name, call in configurations().items()}
    print("\n".join(report(demo)))


if __name__ == "__main__":
    main()
