"""Value normalisation: prices, currencies, availability, image URLs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from studiolab.crawl.extract.normalize import (
    absolute_url,
    availability,
    currency_code,
    dedupe_images,
    format_decimal,
    parse_price,
    srcset_largest,
)


@pytest.mark.parametrize(
    ("raw", "price", "currency"),
    [
        ("1299.00", "1299.00", None),
        ("1299", "1299.00", None),
        (1299, "1299.00", None),
        (45.0, "45.00", None),
        (69.3, "69.30", None),
        ("12.5000", "12.50", None),
        ("0.995", "0.995", None),
        ("1.299,00 €", "1299.00", "EUR"),
        ("1.299,00", "1299.00", None),
        ("€ 39,90", "39.90", "EUR"),
        ("$1,299.99", "1299.99", "USD"),
        ("£59.00", "59.00", "GBP"),
        ("49,95 EUR", "49.95", "EUR"),
        ("CHF 120.\u2013", "120.00", "CHF"),
        ("1 299,00 zł", "1299.00", "PLN"),
        ("R$ 199,90", "199.90", "BRL"),
        ("US$ 45", "45.00", "USD"),
        ("12,-", "12.00", None),
        ("From £45", "45.00", "GBP"),
        ("kr 499,00", "499.00", None),  # SEK? NOK? DKK? unknown without a hint
        ("", None, None),
        ("free", "0.00", None),  # price-parser reads "free" as 0
        ("n/a", None, None),
        (None, None, None),
        (True, None, None),
        (-5, None, None),
        ("NaN", None, None),
    ],
)
def test_price_table(raw: object, price: str | None, currency: str | None) -> None:
    assert parse_price(raw) == (price, currency)


def test_cents_divide_integers_only() -> None:
    assert parse_price(8900, cents=True) == ("89.00", None)
    assert parse_price(4999, cents=True) == ("49.99", None)
    assert parse_price("89.00", cents=True) == ("89.00", None)  # strings are never cents


def test_format_decimal_is_plain() -> None:
    assert format_decimal(Decimal("1E+3")) == "1000.00"
    assert format_decimal(Decimal("Infinity")) is None
    assert format_decimal(Decimal("-1")) is None


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("EUR", "EUR"),
        ("eur", "EUR"),
        ("€", "EUR"),
        ("£", "GBP"),
        ("US$", "USD"),
        ("zł", "PLN"),
        ("XYZ", None),
        ("", None),
        (None, None),
    ],
)
def test_currency_codes(raw: str | None, code: str | None) -> None:
    assert currency_code(raw) == code


def test_currency_hint_resolves_ambiguous_symbols() -> None:
    assert currency_code("$", hint="CAD") == "CAD"
    assert currency_code("kr", hint="SEK") == "SEK"
    assert currency_code("kr") is None


@pytest.mark.parametrize(
    ("raw", "short"),
    [
        ("http://schema.org/InStock", "InStock"),
        ("https://schema.org/OutOfStock", "OutOfStock"),
        ("schema:PreOrder", "PreOrder"),
        ("InStock", "InStock"),
        ("in stock", "InStock"),
        ("in_stock", "InStock"),
        ("IN_STOCK", "InStock"),
        ("out of stock", "OutOfStock"),
        ("oos", "OutOfStock"),
        ("available for order", "BackOrder"),
        ("preorder", "PreOrder"),
        ("https://schema.org/LimitedAvailability", "LimitedAvailability"),
        ("SoldOut", "SoldOut"),
        ("Discontinued", "Discontinued"),
        (True, "InStock"),
        (False, "OutOfStock"),
        ("maybe", None),
        (None, None),
    ],
)
def test_availability_short_names(raw: object, short: str | None) -> None:
    assert availability(raw) == short


@pytest.mark.parametrize(
    ("srcset", "largest"),
    [
        ("a.jpg 493w, b.jpg 1946w, c.jpg 1100w", "b.jpg"),
        ("a.jpg 1x, b.jpg 2x", "b.jpg"),
        ("a.jpg", "a.jpg"),
        ("//cdn.x/a.jpg?v=1&width=493 493w,//cdn.x/a.jpg?v=1&width=1946 1946w", None),
        ("", None),
        (None, None),
    ],
)
def test_srcset_largest(srcset: str | None, largest: str | None) -> None:
    result = srcset_largest(srcset)
    if srcset and "cdn.x" in srcset:
        assert result == "//cdn.x/a.jpg?v=1&width=1946"
    else:
        assert result == largest


def test_relative_urls_become_absolute() -> None:
    base = "https://shop.example/de/p/dress?x=1"
    assert absolute_url("/img/a.jpg", base) == "https://shop.example/img/a.jpg"
    assert absolute_url("img/a.jpg", base) == "https://shop.example/de/p/img/a.jpg"
    assert absolute_url("//cdn.example/a.jpg", base) == "https://cdn.example/a.jpg"
    assert absolute_url("https://x.example/a.jpg#zoom", base) == "https://x.example/a.jpg"
    assert absolute_url("data:image/gif;base64,R0lGOD", base) is None
    assert absolute_url("javascript:void(0)", base) is None
    assert absolute_url("  ", base) is None


def test_image_dedup_ignores_cache_busters_and_scheme() -> None:
    images = [
        "https://cdn.example/a.jpg?v=1",
        "http://cdn.example/a.jpg?v=2",
        "https://cdn.example/a.jpg",
        "https://cdn.example/a.jpg?width=600",
        None,
        "https://cdn.example/b.jpg",
    ]
    assert dedupe_images(images) == [
        "https://cdn.example/a.jpg?v=1",
        "https://cdn.example/a.jpg?width=600",
        "https://cdn.example/b.jpg",
    ]
