"""Rows describing exported items: `manifest.csv` + `manifest.jsonl` (image projects) or
`items.csv` + `items.jsonl` (text projects).

Rows are spooled to temporary files while the images stream into the zip (a zip entry must
be written in one go, and the manifest can only be complete at the end), then added as the
last entries. Spooled files stay in memory up to SPOOL_BYTES, then live on disk: memory stays
bounded whatever the item count.

CSV cells are injection-safe: a text cell starting with = + - @ (or tab / carriage return,
which some spreadsheets strip before evaluating) is prefixed with a single quote.
The CSV has fixed columns (it is streamed): the palette is flattened to MAX_PALETTE_COLUMNS
colours; the JSONL rows carry the full palette and every field.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Mapping
from typing import IO, Any

from studiolab.domain.models import Item

SPOOL_BYTES = 1 << 20
MAX_PALETTE_COLUMNS = 10
PRODUCT_FIELDS = (
    "name",
    "brand",
    "price",
    "currency",
    "sku",
    "availability",
    "category",
    "colors_text",
    "sizes_text",
    "description",
)
TEXT_COLUMNS = ("title", "description")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def base_columns() -> list[str]:
    return [
        "id",
        "project_id",
        "crawler_id",
        "run_id",
        "attribute",
        "kind",
        "source_url",
        "product_url",
        *(f"product_{name}" for name in PRODUCT_FIELDS),
        "state",
        "error_code",
        "person_present",
        "person_confidence",
        "person_view",
        "person_framing",
        *(
            f"colour_{n}_{part}"
            for n in range(1, MAX_PALETTE_COLUMNS + 1)
            for part in ("hex", "name", "basic", "fraction")
        ),
        "created_at",
        "updated_at",
    ]


def image_columns() -> list[str]:
    return [*base_columns(), "file", "cutout_file", "note"]


def text_columns() -> list[str]:
    return [*base_columns(), *(f"text_{name}" for name in TEXT_COLUMNS), "texts_json", "note"]


def flat_row(item: Item) -> dict[str, Any]:
    """The item's metadata as flat CSV-able cells (None -> empty)."""
    row: dict[str, Any] = {
        "id": item.id,
        "project_id": item.project_id,
        "crawler_id": item.crawler_id,
        "run_id": item.run_id,
        "attribute": item.attribute,
        "kind": item.kind,
        "source_url": item.source_url,
        "product_url": item.product_url,
        "state": item.state,
        "error_code": item.error.code if item.error else None,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }
    product = item.product.model_dump()
    row.update({f"product_{name}": product.get(name) for name in PRODUCT_FIELDS})
    person = item.person
    row.update(
        {
            "person_present": None if person is None else person.present,
            "person_confidence": None if person is None else person.confidence,
            "person_view": None if person is None else person.view,
            "person_framing": None if person is None else person.framing,
        }
    )
    for n, colour in enumerate(item.palette[:MAX_PALETTE_COLUMNS], start=1):
        row[f"colour_{n}_hex"] = colour.hex
        row[f"colour_{n}_name"] = colour.name
        row[f"colour_{n}_basic"] = colour.basic
        row[f"colour_{n}_fraction"] = round(colour.fraction, 6)
    return row


def json_row(item: Item, extra: Mapping[str, Any]) -> dict[str, Any]:
    """Every field of the item (full palette, texts, blobs) plus export fields (file, note)."""
    return {**item.model_dump(mode="json", exclude={"version"}), **extra}


def json_line(item: Item, extra: Mapping[str, Any]) -> bytes:
    """json_row(item, extra) as one JSON line, serialized by pydantic-core in one pass (the
    item) plus the few export fields - the per-item hot path of an export."""
    body = item.model_dump_json(exclude={"version"})
    if not extra:
        return body.encode() + b"\n"
    tail = json.dumps(extra, ensure_ascii=False, separators=(",", ":"), default=str)
    if body == "{}":
        return tail.encode() + b"\n"
    return (body[:-1] + "," + tail[1:]).encode() + b"\n"


class RowSpool:
    """A CSV and a JSONL file written row by row into spooled temporary files."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.rows = 0
        self.csv_file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self.jsonl_file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self._csv_text = io.TextIOWrapper(
            self.csv_file, encoding="utf-8", newline="", write_through=True
        )
        self._index = {name: position for position, name in enumerate(columns)}
        self._writer = csv.writer(self._csv_text, lineterminator="\r\n")
        self._writer.writerow(columns)

    def add(self, cells: Mapping[str, Any], line: bytes) -> None:
        """One CSV row (`cells` by column name: missing or None -> empty; other names are
        ignored) and one JSONL line (`line`, newline included)."""
        row: list[object] = [None] * len(self.columns)
        index = self._index
        for name, value in cells.items():
            if value is not None and name in index:
                row[index[name]] = csv_safe(value)
        self._writer.writerow(row)
        self.jsonl_file.write(line)
        self.rows += 1

    def finish(self) -> tuple[IO[bytes], IO[bytes]]:
        self._csv_text.flush()
        self._csv_text.detach()
        return self.csv_file, self.jsonl_file

    def close(self) -> None:
        self.csv_file.close()
        self.jsonl_file.close()


class ItemRows:
    """The rows of one export: image projects -> manifest.*, text projects -> items.*."""

    def __init__(self, *, text: bool) -> None:
        self.text = text
        self.stem = "items" if text else "manifest"
        self.spool = RowSpool(text_columns() if text else image_columns())

    def add(
        self,
        item: Item,
        *,
        file: str | None = None,
        cutout_file: str | None = None,
        note: str | None = None,
    ) -> None:
        cells = flat_row(item)
        extra: dict[str, Any] = {"note": note}
        if self.text:
            for name in TEXT_COLUMNS:
                cells[f"text_{name}"] = item.texts.get(name)
            cells["texts_json"] = json.dumps(item.texts, ensure_ascii=False) if item.texts else None
        else:
            extra.update({"file": file, "cutout_file": cutout_file})
        cells.update(extra)
        self.spool.add(cells, json_line(item, extra))

    @property
    def rows(self) -> int:
        return self.spool.rows
