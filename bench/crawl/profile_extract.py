"""Where a demo product page's analysis time goes (the extraction workers' job), per step.

Fetches `--pages` product pages from a demo shop (in this process, before timing), warms the
per-process caches on the first 100 and times each step of `services/crawl_extract.analyse`
on the others: parse, each extraction source, heuristics, merge, listing links, site links.
Run it with an older checkout first on PYTHONPATH to compare engines on the same pages:

    .venv/bin/python -m bench.crawl.profile_extract
    PYTHONPATH=/tmp/before/layers/studiolab .venv/bin/python -m bench.crawl.profile_extract

`bench.crawl.run` calls `run()` (ours and, with --baseline, the baseline: each in a fresh
subprocess) and `render()` for the report.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from studiolab.crawl.discover import listing_links
from studiolab.crawl.extract import SOURCES, heuristics
from studiolab.crawl.extract.merge import Partial, merge, open_fields
from studiolab.crawl.extract.page import load_page
from studiolab.crawl.links import site_links
from studiolab.demo import start_demo_shop

WARM = 100


def fetch_pages(count: int) -> list[tuple[bytes, str]]:
    with start_demo_shop(products=count + WARM, port=0, crawl_delay=None) as shop:
        with urllib.request.urlopen(shop.url + "/sitemap_products_1.xml", timeout=10) as reply:
            urls = re.findall(r"<loc>([^<]+)</loc>", reply.read().decode())
        pages = []
        for url in urls[: count + WARM]:
            with urllib.request.urlopen(url, timeout=10) as reply:
                pages.append((reply.read(), url))
    return pages


def profile(pages: list[tuple[bytes, str]]) -> dict[str, float]:
    """ms per page of each step over pages[WARM:] (pages[:WARM] warm the caches)."""
    spent: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        spent[step] = spent.get(step, 0.0) + now - mark
        mark = now

    for n, (body, url) in enumerate(pages):
        if n == WARM:
            spent.clear()
        lap("(between pages)")
        page = load_page(body, url)
        lap("parse (load_page)")
        partials: list[Partial] = []
        for name, source in SOURCES:
            found = source(page)
            lap(name)
            if found is not None:
                partials.append(found)
        found = heuristics.from_page(page, open_fields(partials, "heuristics"))
        lap("heuristics")
        if found is not None:
            partials.append(found)
        merge(partials)
        lap("merge")
        listing = listing_links(body, url, page=page)
        lap("listing links")
        site_links(page, exclude=(*listing.product_urls, *listing.next_pages))
        lap("site links")
    del spent["(between pages)"]
    measured = len(pages) - WARM
    return {step: seconds * 1000 / measured for step, seconds in spent.items()}


def _measure(pages: int, layer: Path | None) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.crawl.profile_extract", "--pages", str(pages)]
    env = dict(os.environ, **({"PYTHONPATH": str(layer)} if layer is not None else {}))
    cwd = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [*command, "--json"], capture_output=True, text=True, timeout=600, cwd=cwd, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"profile_extract failed: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run(baseline: Path | None = None, pages: int = 300) -> dict[str, object]:
    """ms/page per step for ours and (optionally) the baseline, each in a fresh process."""
    result: dict[str, object] = {"pages": pages, "ours": _measure(pages, None)}
    if baseline is not None:
        result["baseline"] = _measure(pages, baseline)
    return result


def render(data: dict[str, object]) -> list[str]:
    ours = data["ours"]
    base = data.get("baseline")
    assert isinstance(ours, dict)
    head = "| step | ours ms/page |" + (" baseline ms/page |" if isinstance(base, dict) else "")
    lines = [head, "|---|---|" + ("---|" if isinstance(base, dict) else "")]
    for step in [*ours, "total"]:
        value = sum(ours.values()) if step == "total" else ours[step]
        row = f"| {step} | {value:.3f} |"
        if isinstance(base, dict):
            old = sum(base.values()) if step == "total" else base.get(step)
            row += f" {old:.3f} |" if old is not None else " - |"
        lines.append(row)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300, help="pages timed (default 300)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args()
    steps = profile(fetch_pages(args.pages))
    if args.json:
        print(json.dumps(steps))
        return
    print("\n".join(render({"pages": args.pages, "ours": steps})))


if __name__ == "__main__":
    main()
