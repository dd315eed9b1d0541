"""The Scrapy side of the throughput benchmark: a plain SitemapSpider doing our job.

robots.txt -> Sitemap: lines -> sitemap index -> product sitemaps (.xml and .xml.gz) ->
every /products/<handle> page -> the schema.org Product in its JSON-LD (name, sku, price,
currency, availability). Run by bench.crawl.throughput with

    scrapy runspider bench/crawl/scrapy_spider.py -a start=<shop url> -a stats=<file> \
        -s CONCURRENT_REQUESTS=8 -s CONCURRENT_REQUESTS_PER_DOMAIN=8 -O <items.jsonl>

(`-a extract=studiolab` runs our generic extractor on each product page instead of the minimal
JSON-LD parse: the same crawl cost as Scrapy, the same extraction cost as ours.)
`closed()` writes Scrapy's own stats (start/finish time, response count) to `stats`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapy.http import Response
from scrapy.spiders import SitemapSpider


def _product(data: Any) -> dict[str, Any] | None:
    nodes = data if isinstance(data, list) else [data]
    for node in nodes:
        if not isinstance(node, dict):
            continue
        if "@graph" in node:
            found = _product(node["@graph"])
            if found:
                return found
        kind = node.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "Product" in kinds or "ProductGroup" in kinds:
            return node
    return None


class ShopSpider(SitemapSpider):
    name = "shop"
    sitemap_rules = [("/products/", "parse_product")]
    custom_settings = {
        "ROBOTSTXT_OBEY": True,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "USER_AGENT": "scrapy-bench (+local demo shop)",
    }

    def __init__(self, start: str, stats: str, extract: str = "jsonld", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.generic = extract == "studiolab"
        self.sitemap_urls = [start.rstrip("/") + "/robots.txt"]
        self.stats_path = Path(stats)
        self.cpu_started = time.process_time()  # the crawl's CPU (all threads), not start-up

    def parse_product(self, response: Response) -> Iterator[dict[str, Any]]:
        if self.generic:
            yield self._generic(response)
            return
        for raw in response.css('script[type="application/ld+json"]::text').getall():
            try:
                product = _product(json.loads(raw))
            except ValueError:
                continue
            if product is None:
                continue
            variants = product.get("hasVariant") or [{}]
            offers = product.get("offers") or (variants[0] or {}).get("offers") or {}
            if isinstance(offers, list):
                offers = offers[0] if offers else {}
            yield {
                "url": response.url,
                "name": product.get("name"),
                "sku": product.get("sku"),
                "price": offers.get("price"),
                "currency": offers.get("priceCurrency"),
                "availability": offers.get("availability"),
            }
            return

    @staticmethod
    def _generic(response: Response) -> dict[str, Any]:
        """`-a extract=studiolab`: the page through our generic extractor instead."""
        from studiolab.crawl.extract import extract

        product = extract(response.body, response.url).product
        return {
            "url": response.url,
            "name": product.name,
            "sku": product.sku,
            "price": product.price,
            "currency": product.currency,
            "availability": product.availability,
        }

    def closed(self, reason: str) -> None:
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        data = {
            key: (str(value) if not isinstance(value, int | float) else value)
            for key, value in stats.items()
        }
        data["reason"] = reason
        data["bench_cpu_s"] = time.process_time() - self.cpu_started
        started = stats.get("start_time")
        if isinstance(started, datetime):
            data["bench_elapsed_s"] = (datetime.now(started.tzinfo) - started).total_seconds()
        self.stats_path.write_text(json.dumps(data, indent=1, sort_keys=True))
