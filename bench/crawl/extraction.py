"""Extraction quality: F1 of price, sku and availability, ours vs extruct alone.

Pages: every product-page fixture in tests/crawl/fixtures with hand-written truth in
expected.json (real-world markup patterns: Shopify themes, WooCommerce microdata, Magento
@graph/ProductGroup, Next.js state, OG-only, broken JSON-LD, Latin-1, text-only prices, ...).
The Shopify `.js`/`products.json` documents are left out: extruct does not read JSON.

"extruct alone" is what a user of extruct writes: `extruct.extract(html, base_url,
syntaxes=[json-ld, microdata, opengraph], uniform=True, errors="ignore")`, the first item whose
@type is Product/ProductGroup (JSON-LD, `@graph` flattened, then microdata), its `sku`, and the
first offer's `price` / `priceCurrency` / `availability`; with no such item, the Open Graph
`product:price:*`, `product:availability` and `product:retailer_item_id` tags.

Scoring (both systems alike): a value counts when it equals the truth after light comparison
rules: prices as Decimals ("45.0" == "45.00"), availability without the schema.org URL prefix
("http://schema.org/InStock" == "InStock"; "in stock" is not), sku as stripped text. Per field:
TP = right value; FP = a value that is wrong or where the page has none; FN = truth missed or
wrong. F1 = 2PR/(P+R), micro-averaged over pages.

Run: `python -m bench.crawl.extraction` -> bench/results/crawl-extraction.md; `run()` returns
the numbers and `render()` the markdown, for the crawl benchmark report to include.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import extruct

from studiolab.crawl.extract import extract

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "crawl" / "fixtures"
RESULTS = ROOT / "bench" / "results"
FIELDS = ("price", "sku", "availability")
PRODUCT_TYPES = {"Product", "ProductGroup"}
Values = dict[str, str | None]


def ours(body: bytes, url: str) -> Values:
    product = extract(body, url).product
    return {field: getattr(product, field) for field in FIELDS}


def _types(item: dict[str, Any]) -> set[str]:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).rsplit("/", 1)[-1] for k in kinds if k}


def _flatten(items: list[Any]) -> list[dict[str, Any]]:
    flat: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("@graph"), list):
            flat.extend(i for i in item["@graph"] if isinstance(i, dict))
        elif isinstance(item, dict):
            flat.append(item)
    return flat


def _scalar(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def extruct_alone(body: bytes, url: str) -> Values:
    data = extruct.extract(
        body,
        base_url=url,
        syntaxes=["json-ld", "microdata", "opengraph"],
        uniform=True,
        errors="ignore",
    )
    for syntax in ("json-ld", "microdata"):
        for item in _flatten(data.get(syntax, [])):
            if not _types(item) & PRODUCT_TYPES:
                continue
            offers = item.get("offers")
            offer = offers[0] if isinstance(offers, list) and offers else offers
            offer = offer if isinstance(offer, dict) else {}
            return {
                "price": _scalar(offer.get("price")),
                "sku": _scalar(item.get("sku")),
                "availability": _scalar(offer.get("availability")),
            }
    for og in data.get("opengraph", []):
        if "product:price:amount" in og or "product:retailer_item_id" in og:
            return {
                "price": _scalar(og.get("product:price:amount")),
                "sku": _scalar(og.get("product:retailer_item_id")),
                "availability": _scalar(og.get("product:availability")),
            }
    return dict.fromkeys(FIELDS)


def _same(field: str, got: str | None, truth: str | None) -> bool:
    if got is None or truth is None:
        return False
    if field == "price":
        try:
            return Decimal(got.strip()) == Decimal(truth)
        except (InvalidOperation, ValueError):
            return False
    if field == "availability":
        got = got.strip().removeprefix("https://").removeprefix("http://")
        got = got.removeprefix("schema.org/")
    return got.strip() == truth


def score(pairs: list[tuple[str | None, str | None]], field: str) -> dict[str, float | int]:
    tp = fp = fn = 0
    for got, truth in pairs:
        right = _same(field, got, truth)
        tp += right
        fp += got is not None and not right
        fn += truth is not None and not right
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1}


def run() -> dict[str, Any]:
    expected: dict[str, dict[str, Any]] = json.loads((FIXTURES / "expected.json").read_text())[
        "pages"
    ]
    systems: dict[str, Callable[[bytes, str], Values]] = {
        "ours": ours,
        "extruct alone": extruct_alone,
    }
    pages: dict[str, dict[str, Values]] = {}
    seconds = dict.fromkeys(systems, 0.0)
    for name, truth in sorted(expected.items()):
        body = (FIXTURES / name).read_bytes()
        pages[name] = {"truth": {f: truth.get(f) for f in FIELDS}}
        for system, run_one in systems.items():
            start = time.perf_counter()
            pages[name][system] = run_one(body, truth["url"])
            seconds[system] += time.perf_counter() - start
    splits = {
        "all pages": list(pages),
        "held-out pages": [n for n in pages if n.startswith("holdout_")],
    }
    scores: dict[str, dict[str, dict[str, dict[str, float | int]]]] = {}
    for split, names in splits.items():
        scores[split] = {}
        for system in systems:
            per_field = {
                field: score(
                    [(pages[n][system][field], pages[n]["truth"][field]) for n in names], field
                )
                for field in FIELDS
            }
            per_field["micro"] = _micro(per_field)
            scores[split][system] = per_field
    return {
        "pages": pages,
        "splits": {k: len(v) for k, v in splits.items()},
        "scores": scores,
        "ms_per_page": {s: 1000 * t / max(len(pages), 1) for s, t in seconds.items()},
    }


def _micro(per_field: dict[str, dict[str, float | int]]) -> dict[str, float | int]:
    tp = sum(int(per_field[f]["tp"]) for f in FIELDS)
    fp = sum(int(per_field[f]["fp"]) for f in FIELDS)
    fn = sum(int(per_field[f]["fn"]) for f in FIELDS)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1}


def render(results: dict[str, Any]) -> str:
    systems = list(results["ms_per_page"])
    lines = [
        "# Crawl benchmark: extraction quality",
        "",
        f"{len(results['pages'])} offline product-page fixtures (tests/crawl/fixtures, truth in "
        "expected.json). F1 per field, micro-averaged over pages; P/R in brackets.",
        "",
        "The fixtures were written alongside the extractor, so 'all pages' is in-sample. The "
        "`holdout_*` pages were written afterwards and run once with the extractor frozen: "
        "they are the (small) generalisation check. Both are hand-made markup modelled on real "
        "platforms, not captured pages.",
    ]
    for split, scores in results["scores"].items():
        lines += [
            "",
            f"### {split} ({results['splits'][split]})",
            "",
            "| field | " + " | ".join(systems) + " |",
            "|---|" + "---|" * len(systems),
        ]
        for field in (*FIELDS, "micro"):
            cells = [
                f"**{s['f1']:.2f}** (P {s['precision']:.2f} / R {s['recall']:.2f})"
                for s in (scores[system][field] for system in systems)
            ]
            label = "all three (micro)" if field == "micro" else field
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    timing = " · ".join(f"{s}: {ms:.1f} ms/page" for s, ms in results["ms_per_page"].items())
    lines += ["", f"Time: {timing}.", "", "## Per page", ""]
    lines += [
        "| page | field | truth | " + " | ".join(systems) + " |",
        "|---|---|---|" + "---|" * len(systems),
    ]
    for name, row in results["pages"].items():
        for field in FIELDS:
            truth = row["truth"][field]
            cells = []
            for system in systems:
                got = row[system][field]
                mark = (
                    "✓"
                    if _same(field, got, truth)
                    else ("·" if got is None and truth is None else "✗")
                )
                cells.append(f"{mark} `{got}`")
            lines.append(f"| {name} | {field} | `{truth}` | " + " | ".join(cells) + " |")
    lines += ["", "## Method", "", __doc__.split("\n\n", 1)[1].strip(), ""]
    return "\n".join(lines)


def main() -> None:
    results = run()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "crawl-extraction.md").write_text(render(results), encoding="utf-8")
    for split, scores in results["scores"].items():
        for system, per_field in scores.items():
            summary = "  ".join(f"{f} {per_field[f]['f1']:.2f}" for f in (*FIELDS, "micro"))
            print(f"{split:15} {system:14} {summary}")
    print(f"wrote {RESULTS / 'crawl-extraction.md'}")


if __name__ == "__main__":
    main()
