"""Where one items-list request's server time goes: `python -m bench.api.list_profile`.

Starts the local server (the `studiolab up` stack, as bench.api.list_latency does) with
`--items` items, then sends `--requests` GET /v1/projects/{id}/items?colour=Red&limit=50
requests pipelined on one keep-alive connection (a client thread writes them all, another
drains the replies), so the server's connection thread never waits for the network: what it
spends is request parsing, the Chalice LocalGateway, the app and the reply writes.

Reports the server thread's CPU time per request (time.thread_time over the connection, no
profiler attached), then the same loop under cProfile: the inclusive time of each stage
(http.server parsing and header writing, LocalGateway event/route work, the middlewares,
query parsing, the SQLite read, item validation, serialisation, socket writes) as a share of
the profiled total. `--pstats FILE` keeps the raw profile.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# (label, function-name fragment as pstats prints it: "file:line(name)"); inclusive times.
STAGES = (
    ("whole connection (handle)", "server.py", "handle"),
    ("  http.server: read + parse request line/headers", "server.py", "parse_request"),
    ("  server: _api (gateway call + reply)", "runtime/server.py", "_api"),
    ("    server: header dict + get_context", "runtime/server.py", "_api_headers"),
    ("    LocalGateway.handle_request", "chalice/local.py", "handle_request"),
    ("      LambdaContext (uuid4)", "chalice/local.py", "_generate_lambda_context"),
    ("      event building + route matching", "chalice/local.py", "create_lambda_event"),
    ("        RouteMatcher.match_route", "chalice/local.py", "match_route"),
    ("      Chalice.__call__ (app)", "chalice/app.py", "__call__"),
    ("        middleware: CORS", "studiolab/api/cors.py", "cors"),
    ("        middleware: bearer auth", "studiolab/api/routing.py", "bearer_auth"),
    ("        middleware: lambda_entry", "studiolab/runtime/observability.py", "entry"),
    ("        route view (parse + handler)", "studiolab/api/routing.py", "view"),
    ("          request parsing (_parse)", "studiolab/api/routing.py", "_parse"),
    ("          list_items handler", "functions/api/app.py", "list_items"),
    ("            catalog.get_project", "sqlite_catalog.py", "get_project"),
    ("            catalog.list_items", "sqlite_catalog.py", "list_items"),
    ("              sqlite execute+fetchall", "~", "<method 'fetchall' of 'sqlite3.Cursor'"),
    ("              sqlite execute", "~", "<method 'execute' of 'sqlite3.Connection'"),
    ("              Item.model_validate_json", "~", "model_validate_json"),
    ("            item_page_json (serialise)", "studiolab/api/deps.py", "item_page_json"),
    ("          Response.to_dict", "chalice/app.py", "to_dict"),
    ("    server: _send (status, headers, body)", "runtime/server.py", "_send"),
    ("      send_response", "server.py", "send_response"),
    ("      end_headers (flush headers)", "server.py", "end_headers"),
    ("      socket writes (sendall)", "~", "<method 'sendall' of '_socket.socket'"),
)


def start(items: int) -> tuple[Any, str, str, Any]:
    from bench.api.list_latency import seed, serve

    tmp = tempfile.TemporaryDirectory(prefix="studiolab-list-profile-")
    stack, base = serve(Path(tmp.name) / "data")
    project_id, _ = seed(stack, base, items, 5, random.Random(7))
    return stack, base, project_id, tmp


def pipelined(base: str, target: str, n: int) -> int:
    """Send n GETs back to back on one connection; returns the reply bytes read."""
    parts = urlsplit(base)
    sock = socket.create_connection((parts.hostname, parts.port))
    host = f"{parts.hostname}:{parts.port}"
    request = f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: identity\r\n\r\n"
    last = f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    received = [0]

    def drain() -> None:
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                return
            received[0] += len(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    sock.sendall((request * (n - 1) + last).encode("ascii"))
    reader.join()
    sock.close()
    return received[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--query", default="colour=Red&limit=50")
    parser.add_argument("--pstats", type=Path)
    parser.add_argument("--top", type=int, default=0, help="also print the top N by tottime")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="empty the catalog's read caches before every request (every item validated)",
    )
    args = parser.parse_args(argv)

    from studiolab.runtime import server as server_module

    stack, base, project_id, tmp = start(args.items)
    target = f"/v1/projects/{project_id}/items?{args.query}"
    handler = server_module.RequestHandler
    original = handler.handle
    timing: dict[str, float] = {}
    profile: list[cProfile.Profile | None] = [None]

    caches = getattr(stack.context.catalog, "_caches", {}) if args.cold else {}
    if caches:
        original_one = handler.handle_one_request

        def cold_one(self: Any) -> None:
            for cache in caches.values():
                cache.clear()
            original_one(self)

        handler.handle_one_request = cold_one  # type: ignore[method-assign]

    def measured(self: Any) -> None:
        cpu, wall = time.thread_time(), time.perf_counter()
        prof = profile[0]
        if prof is not None:
            prof.enable()
        try:
            original(self)
        finally:
            if prof is not None:
                prof.disable()
            timing["cpu"] = time.thread_time() - cpu
            timing["wall"] = time.perf_counter() - wall

    handler.handle = measured  # type: ignore[method-assign]
    try:
        pipelined(base, target, 200)  # warm-up: per-thread SQLite connection, caches
        rounds = []
        for _ in range(3):
            size = pipelined(base, target, args.requests)
            rounds.append((timing["cpu"], timing["wall"]))
        cpu = min(r[0] for r in rounds) / args.requests * 1000
        wall = min(r[1] for r in rounds) / args.requests * 1000
        print(f"GET {target.replace(project_id, '{id}')}")
        print(f"reply size {size / args.requests:.0f} bytes; {args.requests} requests x 3")
        print(
            f"server connection thread, no profiler: {cpu:.3f} ms CPU, {wall:.3f} ms wall"
            " per request (best of 3)"
        )
        profile[0] = cProfile.Profile()
        pipelined(base, target, args.requests)
        prof = profile[0]
        profile[0] = None
    finally:
        handler.handle = original  # type: ignore[method-assign]
        if caches:
            handler.handle_one_request = original_one  # type: ignore[method-assign]
        stack.stop()
        tmp.cleanup()

    stats = pstats.Stats(prof)
    if args.pstats:
        stats.dump_stats(args.pstats)
    entries = stats.stats  # type: ignore[attr-defined]
    total = None
    print(f"\nunder cProfile ({args.requests} requests), inclusive time per request:")
    for label, file_part, name in STAGES:
        found = [
            (key, value)
            for key, value in entries.items()
            if (key[2] == name and (file_part == "~" or key[0].endswith(file_part)))
            or (file_part == "~" and name in key[2] and key[0] == "~")
        ]
        if not found:
            print(f"  {label:52s}      -")
            continue
        cumulative = sum(value[3] for _, value in found)
        calls = sum(value[1] for _, value in found)
        if total is None:
            total = cumulative
        print(
            f"  {label:52s} {cumulative / args.requests * 1000:7.3f} ms"
            f" {100 * cumulative / total:5.1f} %  ({calls / args.requests:.1f} calls)"
        )
    if args.top:
        print()
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
