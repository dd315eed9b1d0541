"""Items-list latency benchmark: `python -m bench.api.list_latency` (or `make bench-api-list`).

A local server (LocalStack: the `studiolab up` stack, no workers) on 127.0.0.1 with 10,000
items in one project, inserted through the catalog port with varied crawler / attribute /
state / person tags / palette, so the filters select different fractions. Then a separate
client process runs `--clients` (50) threads, each with its own keep-alive http.client
connection, issuing GET /v1/projects/{id}/items back to back (closed loop, no think time)
with a mix of filters (none, crawler, colour, model_present + pose_view, state, and cursor
pages: page 1 then page 2 of the same listing) for `--duration` seconds after a warm-up.

Reports p50/p95/p99, throughput and errors, overall and per filter, against the target
p95 <= 50 ms, to bench/results/api-list.md. `--think-ms N` makes each client pause N ms
between requests (a paced load below the server's capacity instead of a closed loop).

The client runs in its own process so its threads do not share the server's GIL.

`--baseline DIR` (an older studiolab layer, e.g. `git archive HEAD` unpacked into /tmp and
DIR = /tmp/x/layers/studiolab) compares before and after in the same run: each of `--rounds`
rounds runs the whole benchmark once with DIR first on PYTHONPATH ("before": its studiolab,
hence its functions/api/app.py) and once with this tree ("after"), each in a fresh process,
the order alternating (before/after, then after/before, ...) so a drift of the machine's load
hits both sides. The report's main table is the last "after" run; a before/after section lists
every run with the load average around it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import multiprocessing as mp
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.api.busy import busy_cpus

REPO = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO / "bench" / "results"
TARGET_P95_MS = 50.0
NOW = datetime(2026, 11, 28, tzinfo=UTC)
COLOURS = (
    ("Black", (20, 20, 22)),
    ("Blue", (30, 60, 200)),
    ("Brown", (120, 70, 30)),
    ("Green", (30, 150, 60)),
    ("Grey", (128, 128, 128)),
    ("Orange", (240, 140, 20)),
    ("Pink", (240, 150, 190)),
    ("Purple", (120, 40, 150)),
    ("Red", (200, 30, 40)),
    ("White", (245, 245, 245)),
    ("Yellow", (240, 220, 40)),
)
# (state, weight): most items are processed, some are not yet or failed.
STATES = (("done", 70), ("pending", 12), ("processing", 5), ("failed", 8), ("skipped", 5))
VIEWS = (("front", 50), ("back", 15), ("side", 20), ("unknown", 15))
FRAMINGS = ("full_body", "upper_body", "lower_body", "detail")


# -- seeding ---------------------------------------------------------------------------------
def seed(stack: Any, base: str, n_items: int, n_crawlers: int, rng: random.Random) -> Any:
    """A project, `n_crawlers` crawlers (over HTTP) and `n_items` items (catalog port)."""
    import numpy as np

    from studiolab.domain.models import Item, PaletteColor, PersonTags, ProductFields
    from studiolab.vision.naming import srgb_to_lab

    attributes = [a.id for a in stack.context.taxonomy][:6]
    project = _post(
        base, "/v1/projects", {"name": "Bench", "shop": "Demo shop", "attribute": attributes[0]}
    )
    crawlers = [
        _post(
            base,
            f"/v1/projects/{project['id']}/crawlers",
            {"name": f"crawler {i}", "start_urls": [f"https://shop{i}.example/"]},
        )["id"]
        for i in range(n_crawlers)
    ]
    palette_of: dict[str, PaletteColor] = {}
    for name, rgb in COLOURS:
        lab = srgb_to_lab(np.array([rgb], dtype=np.uint8))[0]
        palette_of[name] = PaletteColor.model_validate(
            {
                "hex": "#" + "".join(f"{v:02x}" for v in rgb),
                "rgb": rgb,
                "lab": tuple(float(v) for v in lab),
                "fraction": 0.0,
                "name": name.lower(),
                "basic": name,
                "delta_e": 1.5,
            }
        )
    states = [s for s, _ in STATES]
    state_weights = [w for _, w in STATES]
    views = [v for v, _ in VIEWS]
    view_weights = [w for _, w in VIEWS]
    # Crawler shares 40/25/15/12/8 %: filters by crawler select different fractions.
    crawler_weights = [40, 25, 15, 12, 8][:n_crawlers] + [5] * max(0, n_crawlers - 5)
    catalog = stack.context.catalog
    for index in range(n_items):
        state = rng.choices(states, state_weights)[0]
        palette: list[PaletteColor] = []
        person = None
        if state == "done":
            names = rng.sample([c for c, _ in COLOURS], rng.randint(1, 4))
            fractions = sorted((rng.random() for _ in names), reverse=True)
            total = sum(fractions)
            palette = [
                palette_of[name].model_copy(update={"fraction": round(f / total, 4)})
                for name, f in zip(names, fractions, strict=True)
            ]
            present = rng.random() < 0.55
            person = PersonTags(
                present=present,
                confidence=round(rng.uniform(0.5, 1.0), 3),
                view=rng.choices(views, view_weights)[0] if present else "unknown",
                framing=rng.choice(FRAMINGS) if present else "none",
            )
        crawler_id = rng.choices(crawlers, crawler_weights)[0]
        item = Item(
            id=f"it_bench{index:06d}",
            project_id=project["id"],
            crawler_id=crawler_id,
            attribute=rng.choice(attributes),
            source_url=f"https://shop.example/images/{index}.jpg",
            product_url=f"https://shop.example/products/{index}",
            product=ProductFields(
                name=f"Product {index}", brand="Brand", price="49.90", currency="EUR"
            ),
            content_hash=f"{index:064x}",
            state=state,
            palette=palette,
            person=person,
            created_at=NOW + timedelta(seconds=index),
            updated_at=NOW + timedelta(seconds=index),
        )
        catalog.create_item(item)
    return project["id"], crawlers


def _post(base: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        reply = conn.getresponse()
        data = json.loads(reply.read())
        if reply.status != 201:
            raise RuntimeError(f"POST {path}: {reply.status} {data}")
        return dict(data)
    finally:
        conn.close()


# -- the query mix -----------------------------------------------------------------------------
def query_mix(crawlers: list[str]) -> list[tuple[str, dict[str, str], int]]:
    """(label, query, weight); label "cursor ..." means: page 1, then page 2 via `next`."""
    return [
        ("none", {}, 2),
        ("crawler", {"crawler_id": crawlers[0]}, 1),
        ("crawler (8%)", {"crawler_id": crawlers[-1]}, 1),
        ("colour", {"colour": "Red"}, 2),
        ("colour+state", {"colour": "Purple", "state": "done"}, 1),
        ("model_present+pose_view", {"model_present": "true", "pose_view": "back"}, 2),
        ("state", {"state": "failed"}, 1),
        ("cursor none", {}, 1),
        ("cursor colour", {"colour": "Blue"}, 1),
    ]


@dataclass
class Sample:
    label: str
    ms: float
    status: int
    items: int


@dataclass
class ClientResult:
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    answered: int = 0  # every reply read, warm-up included (for CPU per request)


NEXT_KEY = b',"next":'
ITEM_START = b'{"id":'


def page_of(body: bytes, full_json: bool) -> tuple[int, str | None]:
    """(items on the page, next cursor) of a 200 reply. `full_json` parses the whole body;
    otherwise only the `"next"` value at its end is parsed and items are counted by their
    opening `{"id":` (an item is the only object whose first key is "id"). A 50-item page is
    ~65 KB of JSON; parsing it all took the client process 0.46-0.55 ms of CPU per reply (vs
    0.16-0.25 ms), in the GIL its 50 threads share and on the CPUs the server uses."""
    if full_json:
        doc = json.loads(body)
        return len(doc["items"]), doc["next"]
    cut = body.rfind(NEXT_KEY)
    if cut < 0 or not body.startswith(b'{"items":[') or not body.endswith(b"}"):
        raise ValueError(f"not an item page: {body[:80]!r}...{body[-80:]!r}")
    cursor = json.loads(body[cut + len(NEXT_KEY) : -1])
    return body.count(ITEM_START), cursor


def _client_thread(
    host: str,
    port: int,
    path: str,
    mix: list[tuple[str, dict[str, str], int]],
    seed_: int,
    warm_until: float,
    stop_at: float,
    think_s: float,
    full_json: bool,
    out: ClientResult,
) -> None:
    rng = random.Random(seed_)
    checked = full_json  # the light parse is checked against json.loads on the first page
    labels = list(mix)
    weights = [w for _, _, w in mix]
    conn = http.client.HTTPConnection(host, port, timeout=30)

    def get(query: dict[str, str]) -> tuple[int, bytes, float]:
        nonlocal conn
        url = path + ("?" + urlencode(query) if query else "")
        started = time.perf_counter()
        try:
            conn.request("GET", url, headers={"Connection": "keep-alive"})
            reply = conn.getresponse()
            body = reply.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
            raise
        return reply.status, body, (time.perf_counter() - started) * 1000

    while True:
        now = time.perf_counter()
        if now >= stop_at:
            break
        label, query, _ = rng.choices(labels, weights)[0]
        pages = 2 if label.startswith("cursor") else 1
        cursor = None
        for page in range(pages):
            q = dict(query)
            if cursor:
                q["cursor"] = cursor
            try:
                status, body, ms = get(q)
            except (OSError, http.client.HTTPException) as error:
                if time.perf_counter() >= warm_until:
                    out.errors.append(f"{label}: {type(error).__name__}: {error}")
                break
            out.answered += 1
            name = f"{label} p{page + 1}" if pages > 1 else label
            items, cursor = 0, None
            if status == 200:
                try:
                    items, cursor = page_of(body, full_json)
                    if not checked:
                        checked = True
                        if page_of(body, True) != (items, cursor):
                            raise ValueError("light parse disagrees with json.loads")
                except ValueError as error:
                    out.errors.append(f"{name}: bad reply: {error}")
                    break
            measured = time.perf_counter() >= warm_until and now >= warm_until
            if measured:
                out.samples.append(Sample(name, ms, status, items))
                if status != 200:
                    out.errors.append(f"{name}: HTTP {status}: {body[:200]!r}")
            if not cursor:
                break
        if think_s:
            time.sleep(think_s * rng.uniform(0.5, 1.5))
    conn.close()


def run_clients(
    base: str,
    project_id: str,
    crawlers: list[str],
    clients: int,
    warmup_s: float,
    duration_s: float,
    think_s: float,
    full_json: bool,
    conn: Any,
) -> None:
    """In the client process: `clients` threads; sends (samples, errors, wall) back."""
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", int(parts.port or 80)
    path = f"/v1/projects/{project_id}/items"
    mix = query_mix(crawlers)
    start = time.perf_counter()
    warm_until = start + warmup_s
    stop_at = warm_until + duration_s
    results = [ClientResult() for _ in range(clients)]
    threads = [
        threading.Thread(
            target=_client_thread,
            args=(
                host,
                port,
                path,
                mix,
                1000 + i,
                warm_until,
                stop_at,
                think_s,
                full_json,
                results[i],
            ),
            daemon=True,
        )
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    samples = [(s.label, s.ms, s.status, s.items) for r in results for s in r.samples]
    errors = [e for r in results for e in r.errors]
    answered = sum(r.answered for r in results)
    cpu = time.process_time()  # this client process, warm-up included
    conn.send((samples, errors, time.perf_counter() - warm_until, answered, cpu))
    conn.close()


# -- statistics & report ---------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summarise(samples: list[tuple[str, float, int, int]], wall_s: float) -> dict[str, Any]:
    def stats(rows: list[tuple[str, float, int, int]]) -> dict[str, Any]:
        ms = [r[1] for r in rows]
        return {
            "requests": len(rows),
            "rps": len(rows) / wall_s if wall_s else 0.0,
            "p50_ms": percentile(ms, 50),
            "p95_ms": percentile(ms, 95),
            "p99_ms": percentile(ms, 99),
            "mean_ms": statistics.fmean(ms) if ms else float("nan"),
            "max_ms": max(ms) if ms else float("nan"),
            "mean_items": statistics.fmean(r[3] for r in rows) if rows else 0.0,
            "non_200": sum(1 for r in rows if r[2] != 200),
        }

    by_label: dict[str, list[tuple[str, float, int, int]]] = {}
    for row in samples:
        by_label.setdefault(row[0], []).append(row)
    return {
        "overall": stats(samples),
        "by_filter": {label: stats(rows) for label, rows in sorted(by_label.items())},
    }


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with Path("/proc/cpuinfo").open() as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), "
        f"Python {platform.python_version()}"
    )


def write_report(path: Path, run: dict[str, Any]) -> None:
    overall = run["summary"]["overall"]
    met = overall["p95_ms"] <= TARGET_P95_MS and not run["errors"]
    lines = [
        f"# Items-list latency (local server, {run['items']:,} items,"
        f" {run['clients']} concurrent clients)",
        "",
        f"- Date: {run['date']}",
        f"- Machine: {run['machine']}",
        f"- Command: `{run['command']}`",
        f"- Setup: LocalStack (`studiolab up` stack, workers 0, SQLite catalog) on 127.0.0.1;"
        f" {run['items']:,} items in one project from {run['crawlers']} crawlers, inserted"
        f" through the catalog port (seeding took {run['seed_s']:.1f} s).",
        f"- Load: {run['clients']} client threads in a separate process, one keep-alive"
        f" connection each, {_pacing(run['think_ms'])}, {run['warmup_s']:.0f} s warm-up then"
        f" {run['duration_s']:.0f} s measured; default page size (50).",
        "- Client parsing: "
        + (
            "json.loads of every reply (--full-json)."
            if run.get("full_json")
            else "the `next` value and a count of items per reply; each client thread checks"
            " its first page against json.loads (see `page_of`)."
        ),
        f"- Competing load set by the benchmark: {run.get('busy_cpus', 0)} spinning"
        " process(es) (`--busy-cpus`); the server's app concurrency"
        f" (STUDIOLAB_API_CONCURRENCY): {os.environ.get('STUDIOLAB_API_CONCURRENCY', 'default')}.",
        "",
        f"## Result: p95 {overall['p95_ms']:.1f} ms vs target <= {TARGET_P95_MS:.0f} ms:"
        f" **{'met' if met else 'not met'}**",
        "",
        "| | requests | req/s | p50 ms | p95 ms | p99 ms | mean ms | max ms | items/page"
        " | non-200 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        _row("**all**", overall),
    ]
    lines += [_row(label, s) for label, s in run["summary"]["by_filter"].items()]
    lines += [
        "",
        f"Errors (transport or non-200): {len(run['errors'])}"
        + (": " + "; ".join(run["errors"][:5]) if run["errors"] else ""),
        "",
    ]
    if run.get("cpu_ms"):
        server_ms, client_ms = run["cpu_ms"]
        lines += [
            f"CPU time per reply (warm-up included): server process {server_ms:.2f} ms,"
            f" client process {client_ms:.2f} ms.",
            "",
        ]
    notes = run.get("notes")
    if notes:
        lines += ["## Notes", "", notes.strip(), ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def _pacing(think_ms: float) -> str:
    if not think_ms:
        return "closed loop (no think time)"
    return f"a pause of {think_ms:.0f} ms (+-50 %) after each request (paced)"


def _row(label: str, s: dict[str, Any]) -> str:
    return (
        f"| {label} | {s['requests']} | {s['rps']:.0f} | {s['p50_ms']:.1f} | {s['p95_ms']:.1f}"
        f" | {s['p99_ms']:.1f} | {s['mean_ms']:.1f} | {s['max_ms']:.1f}"
        f" | {s['mean_items']:.1f} | {s['non_200']} |"
    )


# -- main ------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--crawlers", type=int, default=5)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--think-ms", type=float, default=0.0, help="pause between requests")
    parser.add_argument(
        "--busy-cpus", type=int, default=0, help="processes spinning while it measures"
    )
    parser.add_argument(
        "--full-json",
        action="store_true",
        help="json.loads every reply in the client (the client before 2026-11-28 05:40 UTC)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "api-list.md")
    parser.add_argument("--notes", type=Path, help="markdown appended under '## Notes'")
    parser.add_argument(
        "--baseline", type=Path, help="an older studiolab layer dir, put first on PYTHONPATH"
    )
    parser.add_argument("--rounds", type=int, default=2, help="before/after pairs (--baseline)")
    parser.add_argument("--json-out", type=Path, help=argparse.SUPPRESS)  # one side of a pair
    args = parser.parse_args(argv)
    if args.baseline is not None:
        return compare(args, sys.argv[1:] if argv is None else argv)
    run = measure(args, argv)
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(run), encoding="utf-8")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_report(args.out, run)
    overall = run["summary"]["overall"]
    print(
        f"{overall['requests']} requests, {overall['rps']:.0f} req/s, p50 {overall['p50_ms']:.1f}"
        f" ms, p95 {overall['p95_ms']:.1f} ms, p99 {overall['p99_ms']:.1f} ms,"
        f" errors {len(run['errors'])} -> {args.out}"
    )
    return 0


def serve(data_dir: Path) -> tuple[Any, str]:
    """The `studiolab up` stack (no job workers, no segmentation model) on a free 127.0.0.1
    port, served in the background; the stack and its base URL."""
    import logging

    from studiolab.runtime.local_stack import LocalStack
    from studiolab.runtime.settings import load_settings

    logging.basicConfig(level=logging.WARNING)
    settings = load_settings(
        mode="local",
        data_dir=data_dir,
        host="127.0.0.1",
        port=0,
        workers=0,
        segment_model="none",
        log_level="WARNING",
    )
    stack = LocalStack(settings)
    base = stack.start()
    stack.serve_in_background()
    return stack, base


def measure(args: argparse.Namespace, argv: list[str] | None) -> dict[str, Any]:
    """One benchmark run in this process: seed, serve, load from a client process."""

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="studiolab-bench-list-") as tmp:
        stack, base = serve(Path(tmp) / "data")
        try:
            started = time.perf_counter()
            project_id, crawlers = seed(stack, base, args.items, args.crawlers, random.Random(7))
            seed_s = time.perf_counter() - started
            print(f"seeded {args.items} items in {seed_s:.1f} s; running clients", flush=True)
            ctx = mp.get_context("spawn")
            parent, child = ctx.Pipe(duplex=False)
            client = ctx.Process(
                target=run_clients,
                args=(
                    base,
                    project_id,
                    crawlers,
                    args.clients,
                    args.warmup,
                    args.duration,
                    args.think_ms / 1000,
                    args.full_json,
                    child,
                ),
            )
            with busy_cpus(args.busy_cpus):
                server_cpu = time.process_time()
                client.start()
                samples, errors, wall_s, answered, client_cpu_s = parent.recv()
                server_cpu_s = time.process_time() - server_cpu
                client.join()
        finally:
            stack.stop()

    return {
        "date": dt.datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "command": "python -m bench.api.list_latency "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "items": args.items,
        "crawlers": args.crawlers,
        "clients": args.clients,
        "warmup_s": args.warmup,
        "duration_s": args.duration,
        "think_ms": args.think_ms,
        "busy_cpus": args.busy_cpus,
        "full_json": args.full_json,
        "seed_s": seed_s,
        "summary": summarise(samples, wall_s),
        # CPU time per reply (warm-up included) of the server process (this one: the HTTP
        # server, its threads and the app) and of the client process (50 threads)
        "cpu_ms": (server_cpu_s / answered * 1000, client_cpu_s / answered * 1000),
        "errors": errors,
        "load": (load_before, os.getloadavg()[0]),
        "notes": args.notes.read_text(encoding="utf-8") if args.notes else None,
    }


# -- before / after in one run -----------------------------------------------------------------
def compare(args: argparse.Namespace, argv: list[str]) -> int:
    """Alternate "before" (args.baseline first on PYTHONPATH) and "after" (this tree) runs,
    each in a fresh process; report the last "after" run plus every run side by side."""
    baseline = args.baseline.resolve()
    if not (baseline / "studiolab" / "__init__.py").is_file():
        print(f"--baseline {baseline}: no studiolab package there", file=sys.stderr)
        return 2
    forwarded = _without(argv, {"--baseline", "--rounds", "--out", "--notes", "--json-out"})
    old_path = os.pathsep.join(p for p in (str(baseline), os.environ.get("PYTHONPATH", "")) if p)
    sides = {"before": os.environ | {"PYTHONPATH": old_path}, "after": dict(os.environ)}
    runs: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="studiolab-bench-list-pairs-") as tmp:
        for round_ in range(args.rounds):
            order = ("before", "after") if round_ % 2 == 0 else ("after", "before")
            for side in order:
                out = Path(tmp) / f"{round_}-{side}.json"
                command = [sys.executable, "-m", "bench.api.list_latency", *forwarded]
                command += ["--json-out", str(out)]
                print(f"round {round_ + 1}/{args.rounds}: {side}", flush=True)
                subprocess.run(command, cwd=REPO, env=sides[side], check=True)
                run = json.loads(out.read_text(encoding="utf-8"))
                runs.append((side, run))
                o = run["summary"]["overall"]
                print(
                    f"  {side}: {o['rps']:.0f} req/s, p50 {o['p50_ms']:.1f} ms,"
                    f" p95 {o['p95_ms']:.1f} ms, errors {len(run['errors'])}",
                    flush=True,
                )
    last_after = [run for side, run in runs if side == "after"][-1]
    last_after["command"] = "python -m bench.api.list_latency " + " ".join(argv)
    last_after["notes"] = before_after(baseline, runs) + (
        "\n" + args.notes.read_text(encoding="utf-8") if args.notes else ""
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_report(args.out, last_after)
    print(before_after(baseline, runs))
    return 0


def _without(argv: list[str], options: set[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in options:
            skip = "=" not in arg
            continue
        kept.append(arg)
    return kept


def before_after(baseline: Path, runs: list[tuple[str, dict[str, Any]]]) -> str:
    rows = []
    for index, (side, run) in enumerate(runs):
        load = run.get("load") or (float("nan"), float("nan"))
        cpu = run.get("cpu_ms") or (float("nan"), float("nan"))
        rows.append(
            _row(f"{side} (run {index + 1})", run["summary"]["overall"])
            + f" {cpu[0]:.2f} / {cpu[1]:.2f} | {load[0]:.1f} / {load[1]:.1f} |"
        )

    def median_of(side: str, key: str) -> float:
        return float(statistics.median(r["summary"]["overall"][key] for s, r in runs if s == side))

    rps_before, rps_after = median_of("before", "rps"), median_of("after", "rps")
    ratios = (
        f"Medians over the runs of each side: req/s {rps_before:.0f} -> {rps_after:.0f}"
        f" ({rps_after / rps_before:.2f}x),"
        f" p50 {median_of('before', 'p50_ms'):.1f} -> {median_of('after', 'p50_ms'):.1f} ms,"
        f" p95 {median_of('before', 'p95_ms'):.1f} -> {median_of('after', 'p95_ms'):.1f} ms"
        f" ({median_of('before', 'p95_ms') / median_of('after', 'p95_ms'):.2f}x lower)."
    )
    return "\n".join(
        [
            "### Before / after, same run",
            "",
            f'"before" = `{baseline}` first on PYTHONPATH (its studiolab and its'
            ' functions/api/app.py); "after" = this tree. Runs in the order made, each a fresh'
            " process (seed, server, client process); rounds alternate which side goes first.",
            "",
            "| | requests | req/s | p50 ms | p95 ms | p99 ms | mean ms | max ms | items/page"
            " | non-200 | CPU ms/reply server / client | load avg before / after |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
            *rows,
            "",
            ratios,
            "",
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
