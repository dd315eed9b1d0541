"""The crawl benchmark: `python -m bench.crawl.run [--quick]` (or `make bench-crawl`).

Writes bench/results/crawl.md and bench/results/crawl.json (`--quick`: crawl-quick.*):
(a) throughput vs Scrapy on the demo shop (bench/crawl/throughput.py), target >= 1.0x;
(b) politeness adherence with default settings (bench/crawl/politeness_check.py), target:
    never more than 1 request/s, nor more than one per robots.txt Crawl-delay;
(c) extraction F1 of price / sku / availability vs extruct alone (bench/crawl/extraction.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.crawl import extraction, politeness_check, profile_extract, throughput

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"
PACKAGES = ("studiolab", "httpx", "extruct", "parsel", "scrapy", "twisted", "lxml")


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
    }


def _yes(met: bool) -> str:
    return "**met**" if met else "**not met**"


def _cpu_ms(runs: list[dict[str, Any]], key: str = "cpu_s") -> float | None:
    """Median over rounds of CPU ms per page (None when not measured)."""
    values = [1000 * r[key] / r["pages"] for r in runs if r.get(key) is not None and r["pages"]]
    return statistics.median(values) if values else None


def _throughput_finding(tp: dict[str, Any]) -> str:
    rounds, best = tp["rounds"], tp["best"]
    generic = best["scrapy_generic"]["pages_per_s"]
    text = (
        f"- Throughput: with the same generic extractor Scrapy does {generic:.0f} pages/s, "
        f"ours {best['ours']['pages_per_s']:.0f} ({tp['ratio_pages_same_extractor']:.2f}x); "
        f"against the minimal Scrapy spider ours is {tp['ratio_pages']:.2f}x (best rounds), "
        f"{tp['ratio_pages_paired_median']:.2f}x (median of same-round ratios)."
    )
    if tp["ratio_pages"] >= 1 > tp["ratio_pages_paired_median"]:
        text += (
            " The target is met on best rounds only: the median same-round ratio is below 1, "
            "so on this shared machine the two are within noise of each other; CPU per page "
            "(below) is the steadier measure."
        )
    if "ratio_pool_vs_inthread_paired_median" not in tp:
        return text
    ours, inthread = _cpu_ms(rounds["ours_pool"]), _cpu_ms(rounds["ours_inthread"])
    workers, scrapy = _cpu_ms(rounds["ours_pool"], "cpu_workers_s"), _cpu_ms(rounds["scrapy"])
    text += (
        " Extraction in a process pool (services/crawl_extract.py, one worker per core) vs "
        "the same engine extracting in the crawl thread, same rounds: "
        f"{tp['ratio_pool_vs_inthread_paired_median']:.2f}x pages/s (median of same-round "
        "ratios)."
    )
    if ours and inthread and workers and scrapy:
        main = ours - workers
        text += (
            " What is left: the crawl is CPU-bound on 2 cores shared with the shop process "
            "and, on this machine, other jobs (rounds vary up to 2x). CPU per page (crawl "
            "window, median over rounds): ours with the pool "
            f"{ours:.2f} ms ({main:.2f} in the crawl process + {workers:.2f} in the workers), "
            f"ours in-thread {inthread:.2f} ms, Scrapy {scrapy:.2f} ms"
        )
        base, base_workers = _cpu_ms(rounds.get("baseline", [])), None
        if base:
            base_workers = _cpu_ms(rounds["baseline"], "cpu_workers_s")
            split = f" ({base - base_workers:.2f} + {base_workers:.2f})" if base_workers else ""
            text += f", the baseline {base:.2f} ms{split}"
        text += (
            ". The pool moves extraction off the crawl thread onto the second core but adds "
            f"{ours - inthread:+.2f} ms/page of process hand-over; once both cores are busy, "
            "pages/s follows total CPU per page, and ours with the pool costs "
            f"{ours / scrapy:.2f}x Scrapy's. Estimate, not measured: on 2 otherwise idle "
            f"cores the crawl process alone would allow ~{1000 / main:.0f} pages/s and the "
            f"pool's total ~{2000 / ours:.0f} pages/s before the shop's own CPU, vs Scrapy's "
            f"best {best['scrapy']['pages_per_s']:.0f} here. The workers' analysis is "
            "profiled by step in (a) (last table); what remains of it is spread thin "
            "(JSON-LD's schema.org walk the largest, ~0.3 ms). The crawl process's "
            f"{main:.2f} ms is now the larger half: httpx per request (fetch threads), the "
            "pool hand-over (submit, pickling, the result thread), one SQLite transaction "
            "per new item (adapters/local, outside the crawler) and the per-batch state "
            "JSON, which re-serialises the whole run state every batch (grows with the run)."
        )
    return text


def _findings(data: dict[str, Any]) -> list[str]:
    tp, pol = data["throughput"], data["politeness"]
    out = ["### Findings", ""]
    out.append(_throughput_finding(tp))
    doubled = [case for case in pol if case["robots_txt_requests"] > 1]
    if doubled:
        out.append(
            "- robots.txt is requested twice per crawl: once by the engine's seeding "
            "(`fetcher.fetch(origin/robots.txt)` for its Sitemap: lines) and once by the "
            "fetcher's robots cache. The second request waits only the default 1 s delay, "
            "because the Crawl-delay is read from it. After that the Crawl-delay holds "
            "exactly. Fix (engine): seed from `fetcher.robots_rules(origin)` so one fetch "
            "serves both."
        )
    return out


def render(data: dict[str, Any]) -> str:
    m, tp, pol = data["machine"], data["throughput"], data["politeness"]
    best = tp["best"]
    lines = [
        "# Crawl benchmark",
        "",
        f"{m['date']} · {m['cpu']} ({m['cores']} cores) · {m['os']} · Python {m['python']}",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        "",
        f"Command: `{data['command']}` ({data['seconds']:.0f} s)",
        "",
        "| target | result | |",
        "|---|---|---|",
        f"| throughput >= 1.0x Scrapy (pages/s) | {tp['ratio_pages']:.2f}x "
        f"({best['ours']['pages_per_s']:.0f} vs {best['scrapy']['pages_per_s']:.0f} pages/s, "
        f"best rounds; median same-round ratio {tp['ratio_pages_paired_median']:.2f}x) "
        f"| {_yes(tp['ratio_pages'] >= 1.0)} |",
    ]
    for case in pol:
        steady, every = case["after_robots"], case["all"]
        window = f"{case['limit_interval_s']:g} s"
        verdict = _yes(case["met"] and case["met_including_bootstrap"])
        if case["met"] and not case["met_including_bootstrap"]:
            verdict = "**met** once robots.txt is read; **not met** for the robots.txt bootstrap"
        lines.append(
            f"| politeness, Crawl-delay {case['crawl_delay_s']:g} s: <= 1 request per {window} "
            f"| after robots.txt: max {steady['max_per_limit_window']} per {window}, smallest "
            f"gap {steady['min_interval_s']:.3f} s; all requests: max "
            f"{every['max_per_limit_window']} per {window}, {every['max_per_1s']} per 1 s "
            f"| {verdict} |"
        )
    lines += [
        "",
        f"## (a) Throughput: {tp['products']} products, concurrency {tp['concurrency']}, "
        "politeness off",
        "",
        throughput.__doc__.split("\n\n", 1)[1].strip() if throughput.__doc__ else "",
        "",
        "| crawler | pages | products (with price) | crawl time s | pages/s | products/s "
        "| CPU ms/page |",
        "|---|---|---|---|---|---|---|",
    ]
    names = {
        "ours": "ours (studiolab crawl engine, generic extract, default configuration)",
        "ours_pool": "ours, extraction pool (STUDIOLAB_EXTRACT_PROCESSES=<cores>)",
        "ours_inthread": "ours, in-thread extraction (STUDIOLAB_EXTRACT_PROCESSES=0)",
        "baseline": "before: the baseline engine (--baseline), same shop and rounds",
        "scrapy": "Scrapy SitemapSpider, minimal JSON-LD parse",
        "scrapy_generic": "Scrapy SitemapSpider + our generic extract()",
    }
    for key, label in names.items():
        for n, r in enumerate(tp["rounds"].get(key, []), 1):
            cpu = r.get("cpu_s")
            per_page = f"{1000 * cpu / r['pages']:.2f}" if cpu and r["pages"] else "-"
            if cpu and r.get("cpu_workers_s"):
                per_page += f" ({1000 * r['cpu_workers_s'] / r['pages']:.2f} in workers)"
            lines.append(
                f"| {label}, round {n} | {r['pages']} | {r['items']} ({r['items_with_price']}) "
                f"| {r['seconds']:.1f} | {r['pages_per_s']:.1f} | {r['items_per_s']:.1f} "
                f"| {per_page} |"
            )
    lines += [
        "",
        f"Ratio (best rounds), ours / Scrapy: **{tp['ratio_pages']:.2f}x pages/s**, "
        f"{tp['ratio_items']:.2f}x products/s. Ours / (Scrapy + our extractor): "
        f"**{tp['ratio_pages_same_extractor']:.2f}x** pages/s. Median over rounds of the "
        f"same-round ratio ours / Scrapy: **{tp['ratio_pages_paired_median']:.2f}x** "
        f"({', '.join(f'{r:.2f}' for r in tp['ratio_pages_paired'])}).",
        *(
            [
                "",
                f"Extraction pool vs in-thread (median of same-round ratios): "
                f"**{tp['ratio_pool_vs_inthread_paired_median']:.2f}x** pages/s; in-thread / "
                f"Scrapy {tp['ratio_inthread_vs_scrapy_paired_median']:.2f}x.",
            ]
            if "ratio_pool_vs_inthread_paired_median" in tp
            else []
        ),
        *(
            [
                "",
                f"Before/after (best rounds, same run; baseline = "
                f"{tp.get('baseline_label') or tp['baseline']}): ours / baseline **"
                f"{tp['ratio_pages_vs_baseline']:.2f}x** pages/s (median of same-round "
                f"ratios {tp['ratio_vs_baseline_paired_median']:.2f}x); the baseline / Scrapy "
                f"{tp['ratio_pages_baseline_vs_scrapy']:.2f}x.",
            ]
            if "ratio_pages_vs_baseline" in tp
            else []
        ),
        *(
            [
                "",
                "CPU per demo product page of the workers' analysis (`services/crawl_extract."
                f"analyse`), by step: {data['profile']['pages']} pages, each engine in a fresh "
                "process, caches warmed on 100 other pages (bench/crawl/profile_extract.py; "
                "alone: `.venv/bin/python -m bench.crawl.profile_extract`). Wall time of one "
                "thread on a shared machine: compare the columns, not the runs.",
                "",
                *profile_extract.render(data["profile"]),
            ]
            if "profile" in data
            else []
        ),
        "",
        "## (b) Politeness adherence: default settings",
        "",
        politeness_check.__doc__.split("\n\n", 1)[1].strip() if politeness_check.__doc__ else "",
        "",
        "| shop Crawl-delay | requests (robots.txt) | span s | requests counted | max / 1 s "
        "(raw) | max / Crawl-delay window | smallest gap s | mean req/s | |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for case in pol:
        for scope in ("all", "after_robots"):
            r = case[scope]
            label = "all requests" if scope == "all" else "after robots.txt read"
            gap = f"{r['min_interval_s']:.3f}" if r["min_interval_s"] is not None else "-"
            rate = f"{r['mean_rate_per_s']:.3f}" if r["mean_rate_per_s"] else "-"
            head = (
                f"{case['crawl_delay_s']:g} s | {case['requests']} ({case['robots_txt_requests']})"
            )
            cells = [
                head,
                f"{case['duration_s']:.1f}",
                f"{label}: {r['requests']}",
                f"{r['max_per_1s']} ({r['max_per_1s_raw']})",
                str(r["max_per_limit_window"]),
                gap,
                rate,
                _yes(r["met"]),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *_findings(data), "", "## (c) Extraction", ""]
    extraction_md = extraction.render(data["extraction"]).split("\n", 1)[1]
    lines.append(extraction_md.replace("\n## ", "\n### ").strip())
    return "\n".join(lines) + "\n"


def rerender(stem: str = "crawl") -> None:
    """Re-write the markdown from the stored JSON (after a change to the report only)."""
    data = json.loads((RESULTS / f"{stem}.json").read_text())
    (RESULTS / f"{stem}.md").write_text(render(data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="500 products, 1 round, 8 s")
    parser.add_argument("--baseline-label", default="", help="what the baseline is (a commit)")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (default 3)")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="an earlier studiolab layer dir (git archive REV layers/studiolab | tar -x -C D; "
        "pass D/layers/studiolab): measured in the same rounds for a before/after",
    )
    args = parser.parse_args()
    started = time.monotonic()
    products, rounds, seconds = (500, 1, 8.0) if args.quick else (2000, args.rounds, 20.0)
    print("throughput ...", flush=True)
    tp = throughput.run(products=products, concurrency=8, rounds=rounds, baseline=args.baseline)
    if args.baseline is not None:
        tp["baseline_label"] = args.baseline_label
    print("politeness ...", flush=True)
    pol = politeness_check.run(seconds)
    print("extraction ...", flush=True)
    ex = extraction.run()
    print("profile ...", flush=True)
    profile = profile_extract.run(args.baseline)
    data: dict[str, Any] = {
        "machine": _machine(),
        "command": " ".join([".venv/bin/python -m bench.crawl.run", *sys.argv[1:]]),
        "argv": sys.argv,
        "throughput": tp,
        "politeness": pol,
        "extraction": ex,
        "profile": profile,
    }
    data["seconds"] = time.monotonic() - started
    stem = "crawl-quick" if args.quick else "crawl"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(data, indent=1, default=str))
    (RESULTS / f"{stem}.md").write_text(render(data))
    print(f"wrote {RESULTS / stem}.md and .json")


if __name__ == "__main__":
    main()
