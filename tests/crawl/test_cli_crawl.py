"""`studiolab crawl URL --out DIR` against the demo shop on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from studiolab.demo import DemoShop, start_demo_shop
from studiolab.runtime.cli import main
from studiolab.runtime.site_crawl import CrawlOptions, SiteCrawl, safe_name

PRODUCTS = 20


@pytest.fixture(scope="module")
def shop() -> Iterator[DemoShop]:
    with start_demo_shop(products=PRODUCTS, crawl_delay=0, image_size=(120, 150)) as demo:
        yield demo


def crawl(shop: DemoShop, out: Path, *extra: str) -> tuple[int, list[dict[str, object]]]:
    args = ["crawl", shop.url + "/", "--out", str(out), "--allow-host", "127.0.0.1"]
    args += ["--delay", "0", "--concurrency", "4", "--no-progress", *extra]
    result = CliRunner().invoke(main, args)
    lines = (out / "products.jsonl").read_text(encoding="utf-8").splitlines()
    return result.exit_code, [json.loads(line) for line in lines]


def test_crawls_every_product_with_names_prices_and_images(shop: DemoShop, tmp_path: Path) -> None:
    code, rows = crawl(shop, tmp_path / "out")
    assert code == 0
    assert len(rows) == PRODUCTS
    urls = {row["product"]["url"] for row in rows}  # type: ignore[index]
    assert urls == set(shop.product_urls())
    for row in rows:
        product = row["product"]
        assert isinstance(product, dict)
        assert set(product) == {
            "name", "brand", "price", "currency", "sku", "availability", "images",
            "colors", "sizes", "category", "description", "url",
        }  # fmt: skip
        assert product["name"] and product["price"] and product["currency"]
        files = row["image_files"]
        assert isinstance(files, list) and files
        for name in files:
            path = tmp_path / "out" / name
            assert path.read_bytes()[:2] == b"\xff\xd8"  # JPEG
    expected = {shop.url + p.path(): shop.expected(p.handle)["price"] for p in shop.products()}
    for row in rows:
        product = row["product"]
        assert isinstance(product, dict)
        assert product["price"] == expected[str(product["url"])]
    assert not (tmp_path / "out" / ".state").exists()


def test_max_items_and_no_images(shop: DemoShop, tmp_path: Path) -> None:
    code, rows = crawl(shop, tmp_path / "out", "--max-items", "5", "--no-images")
    assert code == 0
    assert len(rows) == 5
    assert all(row["image_files"] == [] for row in rows)
    assert list((tmp_path / "out" / "images").iterdir()) == []


def test_unreachable_site_exits_1(tmp_path: Path) -> None:
    # loopback, but not allowed: the SSRF guard refuses every request
    result = CliRunner().invoke(
        main, ["crawl", "http://127.0.0.1:9/", "--out", str(tmp_path), "--no-progress"]
    )
    assert result.exit_code == 1
    assert (tmp_path / "products.jsonl").read_text() == ""
    # the user is told why, and what to change
    assert "last page failure: ssrf_blocked" in result.output
    assert "127.0.0.1" in result.output and "--allow-host" in result.output


def test_stop_keeps_what_was_saved(shop: DemoShop, tmp_path: Path) -> None:
    site = SiteCrawl(
        shop.url + "/",
        tmp_path,
        CrawlOptions(delay_s=0, allow_hosts=("127.0.0.1",), images=False, batch_pages=5),
    )
    seen: list[int] = []

    def progress(summary: object) -> None:
        seen.append(getattr(summary, "items", 0))
        site.stop.set()

    summary = site.run(progress)
    assert summary.interrupted and len(seen) == 1
    lines = (tmp_path / "products.jsonl").read_text().splitlines()
    assert len(lines) == summary.items


def test_safe_name() -> None:
    name = safe_name("http://x.test/products/../Ünsafe name?.html", 2, "jpg")
    assert "/" not in name and " " not in name
    assert name.endswith("-2.jpg")
