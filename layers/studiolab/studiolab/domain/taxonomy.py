"""The garment attribute taxonomy: a shipped JSON file, extendable by a user file of the same
shape (STUDIOLAB_ATTRIBUTES_FILE) whose categories and attributes are added or renamed."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from studiolab.domain.errors import ConfigError, InvalidInput
from studiolab.domain.models import Attribute

TAXONOMY_FORMAT = 1


class Taxonomy:
    def __init__(self, attributes: Mapping[str, Attribute]) -> None:
        self._by_id = dict(sorted(attributes.items()))

    def __iter__(self) -> Iterator[Attribute]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, attribute_id: object) -> bool:
        return attribute_id in self._by_id

    def get(self, attribute_id: str) -> Attribute:
        try:
            return self._by_id[attribute_id]
        except KeyError:
            raise InvalidInput(
                f"unknown attribute {attribute_id!r}; see GET /v1/attributes",
                fields={"attribute": "unknown attribute"},
            ) from None

    def categories(self) -> list[str]:
        return sorted({attribute.category for attribute in self})


def _parse(document: Any, source: str) -> dict[str, Attribute]:
    if not isinstance(document, dict) or document.get("format") != TAXONOMY_FORMAT:
        raise ConfigError(f"{source}: not a taxonomy file (expected {{'format': 1, ...}})")
    categories = document.get("categories")
    if not isinstance(categories, dict):
        raise ConfigError(f"{source}: 'categories' must be an object")
    parsed: dict[str, Attribute] = {}
    for category, body in categories.items():
        attributes = body.get("attributes") if isinstance(body, dict) else None
        if not isinstance(attributes, dict):
            raise ConfigError(f"{source}: category {category!r} needs an 'attributes' object")
        for slug, name in attributes.items():
            attribute_id = f"{category}.{slug}"
            try:
                parsed[attribute_id] = Attribute(id=attribute_id, category=category, name=name)
            except ValueError as error:
                raise ConfigError(f"{source}: bad attribute {attribute_id!r}: {error}") from error
    return parsed


def load_taxonomy(extra_file: Path | None = None) -> Taxonomy:
    """The shipped taxonomy, plus `extra_file` if given."""
    shipped = resources.files("studiolab.data").joinpath("attributes.json").read_text("utf-8")
    attributes = _parse(json.loads(shipped), "attributes.json")
    if extra_file is not None:
        try:
            document = json.loads(extra_file.read_text("utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigError(f"cannot read attributes file {extra_file}: {error}") from error
        attributes.update(_parse(document, str(extra_file)))
    return Taxonomy(attributes)
