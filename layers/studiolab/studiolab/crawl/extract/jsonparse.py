"""Tolerant JSON for what shops embed: JSON-LD blocks, state blobs. One bad block never kills
the page: each is parsed alone, repaired when it can be, salvaged key by key when it cannot."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import jstyleson

MAX_BLOCK_CHARS = 3_000_000
_WRAPPERS = re.compile(r"^\s*(?:<!--|//\s*<!\[CDATA\[|<!\[CDATA\[|/\*\s*<!\[CDATA\[\s*\*/)")
_TRAILERS = re.compile(r"(?:-->|//\s*\]\]>|\]\]>|/\*\s*\]\]>\s*\*/)\s*$")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_BAD_ESCAPE = re.compile(r"\\([^\"\\/bfnrtu])")
_STRING = r'"(?:[^"\\\n]|\\.)*"'
_SALVAGE = re.compile(
    rf'"(@type|name|sku|mpn|price|lowPrice|priceCurrency|availability)"\s*:\s*'
    rf"({_STRING}|-?\d+(?:\.\d+)?)"
)
_SALVAGE_BRAND = re.compile(rf'"brand"\s*:\s*(?:\{{[^{{}}]*?"name"\s*:\s*)?({_STRING})')


def _strip_wrappers(raw: str) -> str:
    return _TRAILERS.sub("", _WRAPPERS.sub("", raw)).strip().rstrip(";").strip()


def _close_truncated(raw: str) -> str:
    """Append the brackets a truncated document still owes (strings respected)."""
    stack: list[str] = []
    in_string = False
    escaped = False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]" and stack:
            stack.pop()
    tail = '"' if in_string else ""
    body = (raw + tail).rstrip().rstrip(",")
    return body + "".join(reversed(stack))


def _all_values(raw: str) -> list[Any]:
    """Several JSON values written back to back (`{...}{...}`) -> all of them; junk after
    at least one complete value is ignored."""
    decoder = json.JSONDecoder(strict=False)
    values: list[Any] = []
    index = 0
    while index < len(raw):
        while index < len(raw) and raw[index] in " \t\r\n,;":
            index += 1
        if index >= len(raw):
            break
        try:
            value, index = decoder.raw_decode(raw, index)
        except ValueError:
            if values:
                break  # trailing junk (a comment, a stray `)`) after complete values
            raise
        values.append(value)
    return values


def loads_tolerant(raw: str) -> Any:
    """Parse JSON, repairing comments, wrappers, trailing commas, bad escapes, concatenated
    values and truncation. Raises ValueError when nothing helps."""
    raw = _strip_wrappers(raw[:MAX_BLOCK_CHARS])
    if not raw:
        raise ValueError("empty")
    with contextlib.suppress(ValueError, RecursionError):
        return json.loads(raw, strict=False)
    with contextlib.suppress(ValueError, RecursionError):
        return jstyleson.loads(raw, strict=False)
    repaired = _BAD_ESCAPE.sub(r"\1", _TRAILING_COMMA.sub(r"\1", raw))
    with contextlib.suppress(ValueError, RecursionError):
        return json.loads(repaired, strict=False)
    with contextlib.suppress(ValueError, RecursionError):
        values = _all_values(repaired)
        if values:
            return values if len(values) > 1 else values[0]
    with contextlib.suppress(ValueError, RecursionError):
        return json.loads(_close_truncated(repaired), strict=False)
    raise ValueError("not JSON, even after repairs")


def salvage_product(raw: str) -> dict[str, Any] | None:
    """Key-by-key rescue of a JSON-LD Product block that no repair could parse.

    Only flat scalars are kept (first occurrence of each key); the name is kept only when it
    appears before any nested object opens (otherwise it may be the brand's or a review's)."""
    found: dict[str, Any] = {}
    for match in _SALVAGE.finditer(raw):
        key, literal = match.group(1), match.group(2)
        try:
            value = json.loads(literal, strict=False)
        except ValueError:
            continue
        if key == "@type":
            found.setdefault("@types", []).append(value)
            continue
        if key == "name" and "{" in raw[raw.find("{") + 1 : match.start()]:
            continue
        found.setdefault(key, value)
    if not any(t in {"Product", "ProductGroup"} for t in found.pop("@types", [])):
        return None
    offer = {
        k: found.pop(k)
        for k in ("price", "lowPrice", "priceCurrency", "availability")
        if k in found
    }
    if offer:
        found["offers"] = {"@type": "Offer", **offer}
    brand = _SALVAGE_BRAND.search(raw)
    if brand:
        with contextlib.suppress(ValueError):
            found["brand"] = json.loads(brand.group(1), strict=False)
    found["@type"] = "Product"
    return found if len(found) > 1 else None


def json_at(text: str, start: int) -> Any:
    """The JSON value that starts at `start` (just after `=` in a JS assignment), or None.
    `JSON.parse("...")` / `JSON.parse('...')` wrappers are unwrapped."""
    decoder = json.JSONDecoder(strict=False)
    index = start
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    try:
        if text.startswith("JSON.parse(", index):
            index += len("JSON.parse(")
            quote = text[index : index + 1]
            if quote == "'":  # a JS single-quoted literal: re-quote it for the JSON decoder
                end = re.compile(r"(?<!\\)'").search(text, index + 1)
                if end is None:
                    return None
                inner = text[index + 1 : end.start()].replace("\\'", "'").replace('"', '\\"')
                literal = json.loads(f'"{inner}"', strict=False)
            else:
                literal, _ = decoder.raw_decode(text, index)
            return json.loads(literal, strict=False) if isinstance(literal, str) else None
        if index >= len(text) or text[index] not in "{[":
            return None
        value, _ = decoder.raw_decode(text, index)
    except (ValueError, RecursionError):
        return None
    return value
