"""The export's JSONL line (one pydantic-core pass + the export fields) says exactly what
json_row, the reference definition, says - for every kind of item."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from studiolab.domain.models import Item
from studiolab.exports.manifest import json_line, json_row

NOW = datetime(2026, 11, 28, 12, 30, 1, 123456, tzinfo=UTC)
ITEMS: list[dict[str, Any]] = [
    {},
    {
        "crawler_id": "cr_1",
        "attribute": "skirt.flare",
        "product": {"name": "Jupe «été» ✓ 👗", "price": "49.90", "description": 'a "b"\n\tc'},
        "texts": {"title": "=cmd|' /C calc'!A0", "note": "\u2028line"},
        "palette": [
            {
                "hex": "#C81E28",
                "rgb": [200, 30, 40],
                "lab": [43.1, 65.0000001, 1e-05],
                "fraction": 0.3333333333333333,
                "name": "vivid red",
                "basic": "Red",
                "delta_e": 0.0,
            }
        ],
        "person": {"present": True, "confidence": 0.5, "view": "back", "framing": "detail"},
        "error": {"code": "decode", "message": "bad"},
        "state": "failed",
        "version": 7,
    },
]
EXTRAS: list[dict[str, Any]] = [
    {},
    {"note": None},
    {"file": "images/skirt.flare/it_1.jpg", "cutout_file": None, "note": 'ä "q"'},
]


@pytest.mark.parametrize("fields", ITEMS)
@pytest.mark.parametrize("extra", EXTRAS)
def test_json_line_is_json_row(fields: dict[str, Any], extra: dict[str, Any]) -> None:
    item = Item.model_validate(
        {"id": "it_1", "project_id": "pr_1", "created_at": NOW, "updated_at": NOW, **fields}
    )
    line = json_line(item, extra)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == json_row(item, extra)
    assert "version" not in json.loads(line)
