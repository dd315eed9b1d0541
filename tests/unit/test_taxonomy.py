from __future__ import annotations

import json
from pathlib import Path

import pytest

from studiolab.domain.errors import ConfigError, InvalidInput
from studiolab.domain.taxonomy import load_taxonomy


def test_shipped_taxonomy_is_rich_enough() -> None:
    taxonomy = load_taxonomy()
    assert len(taxonomy) >= 40
    for category in ("skirt", "dress", "top", "pants", "outerwear", "knitwear"):
        assert category in taxonomy.categories()
    for slug in ("flare", "pencil", "pleated", "a-line", "mini", "midi", "maxi"):
        assert f"skirt.{slug}" in taxonomy
    assert taxonomy.get("skirt.flare").name == "Flare skirt"


def test_unknown_attribute_is_a_field_error() -> None:
    with pytest.raises(InvalidInput) as caught:
        load_taxonomy().get("skirt.hovercraft")
    assert caught.value.fields == {"attribute": "unknown attribute"}


def test_extra_file_adds_and_renames(tmp_path: Path) -> None:
    extra = tmp_path / "extra.json"
    extra.write_text(
        json.dumps(
            {
                "format": 1,
                "categories": {
                    "skirt": {"attributes": {"flare": "Skater skirt", "tulip": "Tulip skirt"}},
                    "lingerie": {"attributes": {"bra": "Bra"}},
                },
            }
        )
    )
    taxonomy = load_taxonomy(extra)
    assert taxonomy.get("skirt.flare").name == "Skater skirt"
    assert "skirt.tulip" in taxonomy and "lingerie.bra" in taxonomy
    assert "dress.maxi" in taxonomy
    assert len(taxonomy) == len(load_taxonomy()) + 2


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"categories": {}}),
        json.dumps({"format": 1, "categories": []}),
        json.dumps({"format": 1, "categories": {"skirt": {"attributes": {"Bad Slug": "x"}}}}),
    ],
)
def test_bad_extra_file_is_a_config_error(tmp_path: Path, content: str) -> None:
    extra = tmp_path / "extra.json"
    extra.write_text(content)
    with pytest.raises(ConfigError, match=r"extra\.json"):
        load_taxonomy(extra)


def test_missing_extra_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_taxonomy(tmp_path / "absent.json")
