"""Fixtures for the demo shop tests: one shared shop (faults off) and a tiny HTTP client."""

from __future__ import annotations

import gzip
import http.client
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from studiolab.demo import DemoShop, start_demo_shop


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """A keep-alive HTTP/1.1 client for one shop (stdlib only, no proxies)."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._conn: http.client.HTTPConnection | None = None

    def get(self, target: str, headers: dict[str, str] | None = None, method: str = "GET") -> Reply:
        if target.startswith("http"):
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
            try:
                self._conn.request(method, target, headers=headers or {})
                response = self._conn.getresponse()
                body = response.read()
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                self.close()
                if attempt:
                    raise
                continue
            reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
            if response.will_close:
                self.close()
            return reply
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@pytest.fixture(scope="package")
def shop() -> Iterator[DemoShop]:
    with start_demo_shop(240, seed=7) as running:
        yield running


@pytest.fixture
def client(shop: DemoShop) -> Iterator[Client]:
    c = Client(shop.url)
    yield c
    c.close()


LD_JSON = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


def json_ld(html: str) -> list[Any]:
    return [json.loads(block) for block in LD_JSON.findall(html)]


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object, through @graph, lists and nested values."""
    if isinstance(node, list):
        for item in node:
            yield from walk(item)
    elif isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)


def ungzip(body: bytes) -> bytes:
    return gzip.decompress(body)
