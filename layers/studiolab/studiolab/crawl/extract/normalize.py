"""Value normalisation shared by every source: prices, currencies, availability, URLs, text."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from price_parser import Price
from w3lib.html import remove_tags, replace_entities

# Active ISO 4217 codes (plus a few still seen on shops).
_ISO_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
    KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
    MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
    SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
    UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL
"""
ISO_4217 = frozenset(_ISO_CODES.split())
# Symbols and local spellings price-parser reports, mapped to ISO codes. "$" alone means USD and
# "kr" alone is left unknown (SEK, NOK, DKK, ISK) unless the page states the code elsewhere.
CURRENCY_SYMBOLS: dict[str, str] = {
    "€": "EUR",
    "£": "GBP",
    "$": "USD",
    "us$": "USD",
    "usd$": "USD",
    "a$": "AUD",
    "au$": "AUD",
    "c$": "CAD",
    "ca$": "CAD",
    "nz$": "NZD",
    "hk$": "HKD",
    "s$": "SGD",
    "r$": "BRL",
    "mx$": "MXN",
    "¥": "JPY",
    "円": "JPY",
    "元": "CNY",
    "₹": "INR",
    "rs": "INR",
    "₩": "KRW",
    "₽": "RUB",
    "\u0440\u0443\u0431": "RUB",
    "₺": "TRY",
    "tl": "TRY",
    "₪": "ILS",
    "₫": "VND",
    "฿": "THB",
    "₱": "PHP",
    "₴": "UAH",
    "zł": "PLN",
    "zl": "PLN",
    "kč": "CZK",
    "ft": "HUF",
    "lei": "RON",
    "лв": "BGN",
    "rm": "MYR",
    "fr.": "CHF",
    "sfr": "CHF",
    "chf": "CHF",
    "eur": "EUR",
}
_AVAILABILITY = {
    "instock": "InStock",
    "available": "InStock",
    "availableinstock": "InStock",
    "true": "InStock",
    "yes": "InStock",
    "onlineonly": "OnlineOnly",
    "instoreonly": "InStoreOnly",
    "limitedavailability": "LimitedAvailability",
    "lowstock": "LimitedAvailability",
    "fewleft": "LimitedAvailability",
    "outofstock": "OutOfStock",
    "oos": "OutOfStock",
    "unavailable": "OutOfStock",
    "notavailable": "OutOfStock",
    "false": "OutOfStock",
    "no": "OutOfStock",
    "soldout": "SoldOut",
    "discontinued": "Discontinued",
    "preorder": "PreOrder",
    "availableforpreorder": "PreOrder",
    "presale": "PreSale",
    "backorder": "BackOrder",
    "availableforbackorder": "BackOrder",
    "availablefororder": "BackOrder",
    "pending": "BackOrder",
    "madetoorder": "MadeToOrder",
    "reserved": "Reserved",
}
IN_STOCK_LIKE = frozenset({"InStock", "LimitedAvailability", "OnlineOnly", "InStoreOnly"})
_PLAIN_DECIMAL = re.compile(r"^\s*\d+(\.\d+)?\s*$")
_WHITESPACE = re.compile(r"\s+")
_SRCSET_ITEM = re.compile(r"\s*(\S+?)(?:\s+([\d.]+)([wx]))?\s*(?:,|$)")


def text(value: Any) -> str | None:
    """A clean one-line string: tags removed, entities decoded, whitespace collapsed."""
    if value is None or isinstance(value, dict | list | bool):
        return None
    raw = str(value)
    if len(raw) <= _CACHED_TEXT:
        return _clean_text(raw)
    return _clean_text.__wrapped__(raw)


_CACHED_TEXT = 300  # short strings repeat (labels, codes, names): cleaned once


@functools.lru_cache(maxsize=16384)
def _clean_text(raw: str) -> str | None:
    if "<" in raw:
        raw = remove_tags(raw)
    if "&" in raw:
        raw = replace_entities(raw)
    cleaned = _WHITESPACE.sub(" ", raw).strip()
    return cleaned or None


def currency_code(value: Any, hint: str | None = None) -> str | None:
    """ISO 4217 code for "EUR", "eur", "€", "US$"...; None when unknown or ambiguous."""
    raw = text(value)
    if raw is None:
        return None
    upper = raw.upper()
    if upper in ISO_4217:
        return upper
    mapped = CURRENCY_SYMBOLS.get(raw.lower())
    if mapped == "USD" and raw == "$" and hint and hint.endswith("D") and hint in ISO_4217:
        return hint  # "$" on a page that says AUD/CAD/... elsewhere
    if mapped is None and raw.lower() == "kr" and hint in {"SEK", "NOK", "DKK", "ISK"}:
        return hint
    return mapped


def format_decimal(amount: Decimal) -> str | None:
    """Plain dot-decimal string with at least two decimals ("1299" -> "1299.00", "0.995" kept)."""
    try:
        if not amount.is_finite() or amount < 0:
            return None
        exponent = amount.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < -2:
            formatted = format(amount.normalize(), "f")
        else:
            formatted = format(amount.quantize(Decimal("0.01")), "f")
    except InvalidOperation:
        return None
    return formatted if re.fullmatch(r"\d+(\.\d+)?", formatted) else None


def parse_price(value: Any, *, cents: bool = False) -> tuple[str | None, str | None]:
    """(decimal string, ISO currency or None) from a number or price text.

    Numbers and plain "1299.00" strings are taken as is (schema.org says dot decimals);
    anything else ("1.299,00 €", "$1,299.99", "49,95 EUR") goes through price-parser.
    `cents=True` divides integer amounts by 100 (Shopify `.js` documents)."""
    if value is None or isinstance(value, bool):
        return None, None
    currency: str | None = None
    try:
        if isinstance(value, int | float):
            amount = Decimal(str(value))
        elif isinstance(value, str) and _PLAIN_DECIMAL.match(value):
            amount = Decimal(value.strip())
        else:
            raw = text(value)
            if raw is None:
                return None, None
            parsed = Price.fromstring(raw)
            if parsed.amount is None:
                return None, None
            amount = parsed.amount
            currency = currency_code(parsed.currency)
    except (InvalidOperation, ValueError):
        return None, None
    if cents and isinstance(value, int):
        amount = amount / 100
    return format_decimal(amount), currency


def availability(value: Any) -> str | None:
    """schema.org short name from "http://schema.org/InStock", "in stock", "in_stock", True..."""
    if isinstance(value, bool):
        return "InStock" if value else "OutOfStock"
    raw = text(value)
    if raw is None:
        return None
    tail = raw.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    key = re.sub(r"[^a-z]", "", tail.lower())
    return _AVAILABILITY.get(key)


def absolute_url(value: Any, base: str) -> str | None:
    """Absolute http(s) URL (fragment dropped) or None for data:, javascript:, junk."""
    raw = text(value)
    if raw is None or raw.startswith(("data:", "javascript:", "mailto:", "#", "blob:")):
        return None
    if raw.startswith(("/", "http://", "https://")):
        # An absolute-path ("/x"), network-path ("//host/x") or http(s) reference resolves
        # the same against every URL of the base's scheme and host: resolved once per site
        # (the same navigation links on every page), not once per page.
        base = _origin(base) or base
    return _resolve(raw, base)


@functools.lru_cache(maxsize=4096)
def _origin(base: str) -> str | None:
    """`scheme://host/` of an http(s) base URL; None for others (kept whole)."""
    try:
        parts = urlsplit(base)
    except ValueError:
        return None
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}/"
    return None


@functools.lru_cache(maxsize=32768)  # pure; see absolute_url
def _resolve(raw: str, base: str) -> str | None:
    try:
        joined = urljoin(base, raw.replace(" ", "%20"))
        parts = urlsplit(joined)
    except ValueError:
        return None
    if parts.scheme not in {"http", "https", "file"} or (
        parts.scheme != "file" and not parts.netloc
    ):
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


def srcset_largest(srcset: str | None) -> str | None:
    """The widest (or highest density) candidate of a `srcset` value."""
    if not srcset:
        return None
    best: tuple[float, str] | None = None
    for match in _SRCSET_ITEM.finditer(srcset.strip()):
        url = match.group(1)
        if not url or url == ",":
            continue
        size = float(match.group(2)) if match.group(2) else 1.0
        if match.group(3) == "x":
            size *= 1_000_000  # a density beats any width only when no widths are given
        if best is None or size > best[0]:
            best = (size, url.rstrip(","))
    return best[1] if best else None


def image_key(url: str) -> str:
    """Dedup key: the URL without scheme, fragment and Shopify-style `v=` cache busters."""
    parts = urlsplit(url)
    query = "&".join(
        sorted(p for p in parts.query.split("&") if p and not p.startswith(("v=", "_=")))
    )
    return f"{parts.netloc.lower()}{parts.path}?{query}"


def dedupe_images(urls: Iterable[str | None]) -> list[str]:
    seen: set[str] = set()
    unique: list[str] = []
    for url in urls:
        if not url:
            continue
        key = image_key(url)
        if key not in seen:
            seen.add(key)
            unique.append(url)
    return unique


def unique_texts(values: Iterable[Any]) -> list[str]:
    """Cleaned, non-empty, case-insensitively unique strings in first-seen order."""
    seen: set[str] = set()
    result: list[str] = []
    for value in values:
        cleaned = text(value)
        if cleaned and cleaned.casefold() not in seen:
            seen.add(cleaned.casefold())
            result.append(cleaned)
    return result


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
