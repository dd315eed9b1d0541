"""Extraction-pool workers for tests/crawl/test_extract_pool.py: module-level functions (a
process pool pickles them by name) that misbehave on chosen URLs and analyse the rest."""

from __future__ import annotations

import os
import time
from typing import Any

from studiolab.services.crawl_extract import analyse_payload


def hostile_worker(body: bytes, url: str, selectors: dict[str, str] | None) -> dict[str, Any]:
    if "crash" in url:
        os._exit(13)  # the worker process dies mid-page (as a segfault in lxml would)
    if "hang" in url:
        time.sleep(120)  # never answers in time
    return analyse_payload(body, url, selectors)


def demo_hostile_worker(body: bytes, url: str, selectors: dict[str, str] | None) -> dict[str, Any]:
    """On the demo shop: product 0003's page kills its worker, product 0005's hangs it."""
    if url.endswith("-0003"):
        os._exit(13)
    if url.endswith("-0005"):
        time.sleep(120)
    return analyse_payload(body, url, selectors)
