"""Politeness adherence: crawl the demo shop with DEFAULT settings and read its arrival log.

Defaults = a new crawler's Politeness() (1 request/s per domain, concurrency 2, robots.txt
obeyed) through `studiolab crawl`'s driver, i.e. the engine and HttpxFetcher the state
machine uses. Two shops: robots.txt Crawl-delay 1 s (the shop's default) and Crawl-delay 2 s
(must slow us below our own 1 req/s). Each crawl is bounded by max_pages so it lasts ~20 s.
Reported from the shop's own log: most requests in any 1 s window and in any Crawl-delay
window, the smallest gap between two requests, and the mean rate - over all requests and
from the moment robots.txt had been read (its Crawl-delay cannot be known before).
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from studiolab.demo import Arrival, max_in_window, politeness, start_demo_shop
from studiolab.domain.models.crawler import Politeness
from studiolab.runtime.site_crawl import CrawlOptions, SiteCrawl

# Requests leave our throttle exactly `limit` apart; the shop logs them when it has read the
# request line, a millisecond or two later or earlier (thread scheduling). Windows are
# therefore `limit - 10 ms` wide; the raw 1 s count is reported beside.
JITTER_S = 0.010


def one(crawl_delay: float, seconds: float) -> dict[str, Any]:
    defaults = Politeness()
    limit = max(defaults.delay_s, crawl_delay)
    with (
        start_demo_shop(products=240, crawl_delay=crawl_delay) as shop,
        tempfile.TemporaryDirectory() as temp,
    ):
        site = SiteCrawl(
            shop.url + "/",
            Path(temp),
            CrawlOptions(
                max_pages=int(seconds / limit),
                delay_s=defaults.delay_s,
                concurrency=defaults.concurrency,
                obey_robots=defaults.obey_robots,
                allow_hosts=("127.0.0.1",),
                images=False,
                batch_pages=5,
            ),
        )
        timer = threading.Timer(seconds * 2, site.stop.set)  # a safety net, not the bound
        timer.start()
        try:
            summary = site.run()
        finally:
            timer.cancel()
        arrivals = shop.arrivals()
    times = [arrival.t for arrival in arrivals]
    robots = [n for n, arrival in enumerate(arrivals) if arrival.path == "/robots.txt"]
    steady = arrivals[robots[-1] :] if robots else arrivals  # once robots.txt has been read
    every, after = _measure(arrivals, limit), _measure(steady, limit)
    result: dict[str, Any] = {
        "crawl_delay_s": crawl_delay,
        "default_delay_s": defaults.delay_s,
        "default_concurrency": defaults.concurrency,
        "limit_interval_s": limit,
        "requests": len(times),
        "robots_txt_requests": len(robots),
        "duration_s": (max(times) - min(times)) if times else 0.0,
        "items": summary.items,
        "all": every,
        "after_robots": after,
        "met": after["met"] and every["max_per_1s"] <= 1,
        "met_including_bootstrap": every["met"],
    }
    return result


def _measure(arrivals: list[Arrival], limit: float) -> dict[str, Any]:
    times = [arrival.t for arrival in arrivals]
    stats = politeness(arrivals)
    jitter = max_in_window(times, limit - JITTER_S)
    return {
        "requests": len(times),
        "max_per_1s_raw": stats.max_in_window,
        "max_per_1s": max_in_window(times, 1.0 - JITTER_S),
        "max_per_limit_window": jitter,
        "min_interval_s": stats.min_interval,
        "mean_rate_per_s": stats.mean_rate,
        "met": jitter <= 1,
    }


def run(seconds: float = 20.0) -> list[dict[str, Any]]:
    return [one(1.0, seconds), one(2.0, seconds)]
