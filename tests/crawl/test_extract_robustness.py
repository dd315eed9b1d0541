"""Broken, hostile and garbage inputs: extraction never raises, and salvages what it can."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from studiolab.crawl.extract import extract
from studiolab.crawl.extract.jsonparse import json_at, loads_tolerant, salvage_product

FIXTURES = Path(__file__).parent / "fixtures"
URL = "https://shop.example/p/1"

GARBAGE: list[str | bytes] = [
    "",
    b"",
    b"\x00\x01\x02\xff\xfe",
    b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 20,  # a JPEG
    "<<<>>>" * 1000,
    "<html><head><script type='application/ld+json'>",
    "<script type='application/ld+json'>{{{{</script>",
    "<script type='application/ld+json'>" + "[" * 5000 + "</script>",
    "<script id='__NEXT_DATA__' type='application/json'>" + '{"a":' * 3000 + "</script>",
    "<script>window.__INITIAL_STATE__ = {not json};</script>",
    "<script>var meta = JSON.parse('broken</script>",
    "<div>" * 20000,
    "<html><body><h1>" + "x" * 1_000_000 + "</h1></body></html>",
    "<meta property='og:price:amount' content='∞'><meta property='og:type' content='product'>",
    "<img srcset=', , 0w, ,'><img src='javascript:alert(1)'>",
    '<script type=\'application/ld+json\'>{"@type": "Product", "offers": '
    '{"price": {"nested": true}, "priceCurrency": [1]}, "image": {"url": 5}}</script>',
    '<script type=\'application/ld+json\'>{"@type": "Product", "offers": {"@id": "#x"},'
    ' "brand": [], "name": {"@value": "V"}}</script>',
    "\ud800 lone surrogate <h1>x</h1>",
]


@pytest.mark.parametrize("html", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_never_raises(html: str | bytes) -> None:
    result = extract(html, URL)
    assert result.method
    assert isinstance(result.ok, bool)


def test_garbage_gives_an_empty_product() -> None:
    result = extract(b"\x00\xff garbage", "file:///tmp/x.html")
    assert not result.ok and result.product.is_empty() and result.method == "none"


def test_one_broken_jsonld_block_does_not_hide_the_others() -> None:
    html = (FIXTURES / "broken_jsonld_first.html").read_text()
    result = extract(html, "https://fenwick.example/coats/wool-blend-coat")
    assert result.method == "jsonld"
    assert (result.product.sku, result.product.price) == ("BRK-100", "72.00")
    assert result.product.images == [
        "https://fenwick.example/media/coats/wool-blend-coat-camel.jpg"
    ]


def test_unparseable_product_block_is_salvaged() -> None:
    html = (FIXTURES / "broken_jsonld_product.html").read_text()
    product = extract(html, "https://loomandlark.example/products/jumper").product
    assert (product.price, product.currency, product.availability) == ("59.00", "GBP", "PreOrder")
    assert (product.sku, product.brand) == ("KNIT-404", "Loom & Lark")


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ('{"a": 1,}', {"a": 1}),
        ('<!-- {"a": 1} -->', {"a": 1}),
        ('//<![CDATA[\n{"a": 1}\n//]]>', {"a": 1}),
        ('{"a": 1} // trailing comment', {"a": 1}),
        ('{"a": "x\\\'y"}', {"a": "x'y"}),
        ('{"a": "line\nbreak"}', {"a": "line\nbreak"}),
        ('{"a": 1}{"b": 2}', [{"a": 1}, {"b": 2}]),
        ('{"a": [1, {"b": "c"', {"a": [1, {"b": "c"}]}),
        ('{"a": 1};', {"a": 1}),
    ],
)
def test_tolerant_json_repairs(raw: str, parsed: object) -> None:
    assert loads_tolerant(raw) == parsed


def test_tolerant_json_gives_up_cleanly() -> None:
    with pytest.raises(ValueError):
        loads_tolerant("")
    with pytest.raises(ValueError):
        loads_tolerant('{"a": "b" "c": ]]]')


def test_salvage_needs_a_product_type() -> None:
    assert salvage_product('{"@type": "Organization", "name": "x" "y"}') is None
    rescued = salvage_product('{"@type":"Product","name":"N","brand":{"name":"B"},"price":"5"')
    assert rescued == {
        "@type": "Product",
        "name": "N",
        "brand": "B",
        "offers": {"@type": "Offer", "price": "5"},
    }


def test_json_at_assignments() -> None:
    text = 'x = {"a": [1, 2]}; y = JSON.parse("{\\"b\\": 3}"); z = JSON.parse(\'{"c": "it\\\'s"}\')'
    assert json_at(text, text.index("=") + 1) == {"a": [1, 2]}
    assert json_at(text, text.index("y =") + 3) == {"b": 3}
    assert json_at(text, text.index("z =") + 3) == {"c": "it's"}
    assert json_at("x = function() {}", 3) is None
    assert json_at("x = {broken", 3) is None


def test_deeply_nested_state_is_bounded() -> None:
    state: dict[str, Any] = {"a": {}}
    cursor = state["a"]
    for _ in range(500):
        cursor["b"] = {}
        cursor = cursor["b"]
    cursor.update({"name": "Deep", "price": 5, "sku": "D"})
    html = f"<script>window.__STATE__ = {json.dumps(state)};</script>"
    extract(html, URL)  # found or not, bounded and no RecursionError
