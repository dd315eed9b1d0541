"""One parsed page: decoded text, a parsel selector, the base URL. Never raises on bad input."""

from __future__ import annotations

import codecs
import contextlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from parsel import Selector
from w3lib.encoding import html_body_declared_encoding, read_bom, resolve_encoding

from studiolab.crawl.extract.normalize import absolute_url

MAX_HTML_CHARS = 10_000_000  # larger inputs are cut (pages are capped at a few MB upstream)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    resolved = resolve_encoding(name) or name
    try:
        return codecs.lookup(resolved).name
    except LookupError:
        return None


def decode_html(body: str | bytes, encoding: str | None = None) -> str:
    """Text of an HTML body: explicit encoding, else BOM, else the declared charset (meta),
    else UTF-8, else Windows-1252 (which decodes any byte). Undecodable bytes are replaced."""
    if isinstance(body, str):
        return body
    explicit = _codec(encoding)
    if explicit:
        return body.decode(explicit, errors="replace")
    bom_encoding, bom = read_bom(body)
    if bom_encoding and bom:
        return body[len(bom) :].decode(_codec(bom_encoding) or "utf-8", errors="replace")
    declared = _codec(html_body_declared_encoding(body))
    candidates = [declared] if declared else []
    candidates += ["utf-8", "cp1252"]
    for candidate in candidates:
        with contextlib.suppress(UnicodeDecodeError):
            return body.decode(candidate)
    return body.decode("utf-8", errors="replace")


@dataclass
class Page:
    url: str
    text: str
    selector: Selector
    base_url: str
    # The parsed JSON-LD / microdata nodes, filled lazily by the structured-data source.
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.url).query))

    @property
    def lowered(self) -> str:
        """`text.lower()`, computed once (cheap "is this word on the page at all?" tests:
        ASCII letters always lower to ASCII, so a miss is certain)."""
        lowered = self.cache.get("lowered")
        if lowered is None:
            lowered = self.cache["lowered"] = self.text.lower()
        return str(lowered)

    def canonical(self) -> str | None:
        href = self.selector.xpath(
            "//link[contains(concat(' ', normalize-space(translate(@rel, 'CANOIL', "
            "'canoil')), ' '), ' canonical ')]/@href"
        ).get()
        return absolute_url(href, self.base_url) if href else None

    def absolute(self, value: Any) -> str | None:
        return absolute_url(value, self.base_url)


def load_page(html: str | bytes, url: str, encoding: str | None = None) -> Page:
    text = decode_html(html, encoding)[:MAX_HTML_CHARS].replace("\x00", "")
    try:
        selector = Selector(text=text or "<html></html>", type="html")
    except Exception:  # lxml refuses some inputs outright; treat as an empty page
        selector = Selector(text="<html></html>", type="html")
    base = url
    base_href = selector.xpath("//head/base/@href").get()
    if base_href:
        base = absolute_url(base_href, url) or url
    return Page(url=url, text=text, selector=selector, base_url=base)
