"""schema.org nodes of a page: JSON-LD (each `<script>` alone, tolerant) and microdata (extruct),
both as JSON-LD-shaped dicts, `@graph` and top-level lists flattened, `@id` references indexed."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from typing import Any

from extruct.w3cmicrodata import MicrodataExtractor
from parsel import Selector

from studiolab.crawl.extract.dom import element_image
from studiolab.crawl.extract.jsonparse import loads_tolerant, salvage_product
from studiolab.crawl.extract.page import Page

log = logging.getLogger(__name__)
MAX_NODES = 5_000
MAX_DEPTH = 40


def short_type(value: Any) -> str:
    text = str(value)
    for separator in ("/", "#", ":"):
        text = text.rsplit(separator, 1)[-1]
    return text


def type_names(node: Any) -> set[str]:
    if not isinstance(node, dict):
        return set()
    raw = node.get("@type", node.get("type"))
    values = raw if isinstance(raw, list) else [raw]
    return {short_type(v) for v in values if isinstance(v, str)}


def _flatten(value: Any, out: list[dict[str, Any]], depth: int = 0) -> None:
    if depth > 4 or len(out) >= MAX_NODES:
        return
    if isinstance(value, list):
        for item in value:
            _flatten(item, out, depth + 1)
    elif isinstance(value, dict):
        graph = value.get("@graph")
        if isinstance(graph, list | dict):
            _flatten(graph, out, depth + 1)
            rest = {k: v for k, v in value.items() if k not in {"@graph", "@context"}}
            if type_names(rest):
                out.append(rest)
        else:
            out.append(value)


def jsonld_nodes(page: Page) -> list[dict[str, Any]]:
    """Top-level nodes of every JSON-LD block; a broken block is repaired or salvaged alone."""
    cached = page.cache.get("jsonld")
    if cached is not None:
        return list(cached)
    nodes: list[dict[str, Any]] = []
    for index, script in enumerate(
        page.selector.xpath(
            "//script[contains(translate(@type, 'JSONLD+', 'jsonld+'), 'ld+json')]/text()"
        ).getall()
    ):
        try:
            _flatten(loads_tolerant(script), nodes)
        except ValueError:
            rescued = salvage_product(script)
            log.debug("JSON-LD block %d is broken (%s); salvaged: %s", index, page.url, rescued)
            if rescued:
                nodes.append(rescued)
    page.cache["jsonld"] = nodes
    return list(nodes)


def _from_microdata(value: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, list):
        return [_from_microdata(v, depth + 1) for v in value]
    if isinstance(value, dict) and "properties" in value:
        node: dict[str, Any] = {}
        kind = value.get("type")
        if kind:
            node["@type"] = [short_type(k) for k in kind] if isinstance(kind, list) else kind
        if value.get("id"):
            node["@id"] = value["id"]
        for key, item in (value.get("properties") or {}).items():
            node[key] = _from_microdata(item, depth + 1)
        if "value" in value and "name" not in node and not value.get("properties"):
            return value["value"]
        return node
    return value


def microdata_nodes(page: Page) -> list[dict[str, Any]]:
    cached = page.cache.get("microdata")
    if cached is not None:
        return list(cached)
    nodes: list[dict[str, Any]] = []
    if "itemscope" not in page.lowered:  # no item without the attribute (names are ASCII)
        page.cache["microdata"] = nodes
        return []
    try:
        root = copy.deepcopy(page.selector.root)
        for img in root.xpath("//img[@itemprop] | //source[@itemprop]"):
            # extruct reads `src`; point it at the largest candidate (srcset, zoom attrs).
            best = element_image(Selector(root=img))
            if best:
                img.set("src", best)
        items = MicrodataExtractor().extract_items(root, base_url=page.base_url)
        for item in items[:MAX_NODES]:
            converted = _from_microdata(item)
            if isinstance(converted, dict):
                nodes.append(converted)
    except Exception as error:  # extruct on hostile markup: lose microdata, keep the page
        log.debug("microdata failed on %s: %s", page.url, error)
    page.cache["microdata"] = nodes
    return list(nodes)


class Graph:
    """Nodes plus an `@id` index, so `{"@id": "#offer"}` references resolve."""

    def __init__(self, nodes: list[dict[str, Any]]) -> None:
        self.nodes = nodes
        self.ids: dict[str, dict[str, Any]] = {}
        for node in self.walk():
            node_id = node.get("@id")
            if isinstance(node_id, str) and len(node) > 1:
                self.ids.setdefault(node_id, node)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) <= {"@id", "@type"} and "@id" in value:
            return self.ids.get(str(value["@id"]), value)
        return value

    def items(self, value: Any) -> list[Any]:
        """A property as a list of resolved values (scalars, dicts)."""
        if value is None:
            return []
        values = value if isinstance(value, list) else [value]
        return [self.resolve(v) for v in values if v is not None]

    def walk(self) -> Iterator[dict[str, Any]]:
        stack: list[tuple[Any, int]] = [(node, 0) for node in reversed(self.nodes)]
        seen = 0
        while stack and seen < MAX_NODES * 4:
            value, depth = stack.pop()
            if depth > MAX_DEPTH:
                continue
            if isinstance(value, dict):
                seen += 1
                yield value
                stack.extend((v, depth + 1) for v in reversed(list(value.values())))
            elif isinstance(value, list):
                stack.extend((v, depth + 1) for v in reversed(value))
