"""Extraction and link results pinned: every product-page fixture and a demo-shop sample
(home, listings, product pages) must give exactly the analysis recorded in
fixtures/analysis_golden.json (product, links, method: `analyse(...).to_payload()`), so
speed work on the extractor cannot change what it finds. Regenerate only on purpose:
`python -m tests.crawl.test_extract_golden` (then review the diff)."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from studiolab.demo import start_demo_shop
from studiolab.services.crawl_extract import analyse

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = FIXTURES / "analysis_golden.json"
BASE = "https://shop.example/products/"
DEMO = "http://demo.shop"  # the demo shop's origin (its port changes) in the golden file
LISTINGS = ("/", "/collections/all", "/collections/all?page=2")  # + 12 product pages


def _fixture_pages() -> dict[str, tuple[bytes, str]]:
    return {
        path.name: (path.read_bytes(), BASE + path.stem.replace("_", "-"))
        for path in sorted(FIXTURES.glob("*.html"))
    }


def _demo_pages() -> dict[str, tuple[bytes, str]]:
    pages: dict[str, tuple[bytes, str]] = {}
    with start_demo_shop(products=40, port=0, crawl_delay=None) as shop:
        home = urllib.request.urlopen(shop.url + "/", timeout=10).read().decode()
        handles = re.findall(r'href="(/products/[a-z0-9-]+)"', home)
        paths = [*LISTINGS, *sorted(set(handles))[:12]]
        for path in paths:
            with urllib.request.urlopen(shop.url + path, timeout=10) as response:
                pages[path] = (response.read(), response.geturl())
        origin = shop.url
    return {
        path: (body.replace(origin.encode(), DEMO.encode()), url.replace(origin, DEMO))
        for path, (body, url) in pages.items()
    }


def _analyses(pages: dict[str, tuple[bytes, str]]) -> dict[str, Any]:
    return {
        name: json.loads(json.dumps(analyse(body, url, None).to_payload(), default=str))
        for name, (body, url) in pages.items()
    }


def _golden() -> dict[str, Any]:
    return dict(json.loads(GOLDEN.read_text()))


def test_fixture_pages_give_the_pinned_analysis() -> None:
    golden = _golden()["fixtures"]
    got = _analyses(_fixture_pages())
    assert len(got) >= 24 and set(got) == set(golden)
    for name in golden:
        assert got[name] == golden[name], name


@pytest.mark.usefixtures("socket_enabled")
def test_demo_pages_give_the_pinned_analysis() -> None:
    golden = _golden()["demo"]
    got = _analyses(_demo_pages())
    assert len(got) >= 12 and set(got) == set(golden)
    for name in golden:
        assert got[name] == golden[name], name


if __name__ == "__main__":
    data = {"fixtures": _analyses(_fixture_pages()), "demo": _analyses(_demo_pages())}
    GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"{GOLDEN}: {len(data['fixtures'])} fixtures, {len(data['demo'])} demo pages")
