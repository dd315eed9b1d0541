"""Every fixture page against its hand-written expectations (fixtures/expected.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from studiolab.crawl.extract import extract

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED: dict[str, dict[str, Any]] = json.loads((FIXTURES / "expected.json").read_text())["pages"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_page(name: str) -> None:
    expected = EXPECTED[name]
    result = extract((FIXTURES / name).read_bytes(), expected["url"])
    product = result.product
    for field, value in expected.items():
        if field == "url":
            continue
        got = getattr(product, field)
        if isinstance(value, list):
            assert got == value, field
        elif value is None:
            assert got in (None, []), field
        else:
            assert got == value, field
    has_truth = any(expected.get(k) for k in ("price", "sku", "availability"))
    assert result.ok is has_truth
    assert all(url.startswith(("http://", "https://")) for url in product.images)
    assert len(product.images) == len(set(product.images))
    if has_truth:
        assert product.url and product.url.startswith("https://")


def test_latin1_bytes_decode_from_the_declared_charset() -> None:
    body = (FIXTURES / "latin1.html").read_bytes()
    assert b"pliss\xe9e" in body  # really Latin-1 on disk
    product = extract(body, "https://elegance.example/jupe").product
    assert product.name == "Jupe plissée midi"
    assert product.description and "Lavage à 30°" in product.description
    wrong = extract(body, "https://elegance.example/jupe", encoding="utf-8").product
    assert wrong.name != "Jupe plissée midi"  # an explicit encoding is obeyed
    assert wrong.price == "49.95"


def test_undeclared_latin1_falls_back_from_utf8() -> None:
    body = "<h1 itemprop='name'>Cœur</h1>".encode("cp1252")
    assert extract(body, "https://x.example/").product.name == "Cœur"
