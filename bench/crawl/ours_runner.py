"""`python -m bench.crawl.ours_runner URL PRODUCTS CONCURRENCY WORKDIR`: one `run_ours` of
whichever `studiolab` is first on the path (bench/crawl/throughput.py sets PYTHONPATH to
compare two engines); prints its result as one JSON line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.crawl.throughput import run_ours


def main() -> None:
    url, products, concurrency, work = sys.argv[1:5]
    Path(work).mkdir(parents=True, exist_ok=True)
    result = run_ours(url, int(products), int(concurrency), Path(work))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
