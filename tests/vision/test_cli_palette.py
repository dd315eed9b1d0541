"""`studiolab palette`: the result schema, formats, folders, bad files, exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from studiolab.runtime.cli import main
from tests.support.images import cutout_png

RESULT_KEYS = {
    "path",
    "ok",
    "width",
    "height",
    "model",
    "garment_fraction",
    "colors",
    "timings_ms",
    "person",
}
COLOR_KEYS = {"hex", "rgb", "lab", "fraction", "name", "basic", "delta_e"}


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a_red.png").write_bytes(cutout_png([(200, 20, 30)]))
    (folder / "sub" / "b_split.png").write_bytes(cutout_png([(20, 40, 190), (240, 240, 240)]))
    (folder / "notes.txt").write_text("not an image, and not picked up from a folder")
    return folder


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["palette", *args])
    return result.exit_code, result.stdout, result.stderr


def test_jsonl_schema_for_a_folder(images: Path) -> None:
    code, out, _ = run(str(images), "--model", "none")
    assert code == 0
    results = [json.loads(line) for line in out.splitlines()]
    assert [Path(r["path"]).name for r in results] == ["a_red.png", "b_split.png"]
    for result in results:
        assert set(result) == RESULT_KEYS and result["ok"] is True
        assert set(result["timings_ms"]) == {"decode", "segment", "palette"}
        assert result["model"] == "none" and (result["width"], result["height"]) == (100, 100)
        assert abs(sum(c["fraction"] for c in result["colors"]) - 1) < 1e-3
        for color in result["colors"]:
            assert set(color) == COLOR_KEYS
    red, split = results
    assert red["colors"][0]["hex"] == "#c8141e" and red["colors"][0]["basic"] == "Red"
    assert red["garment_fraction"] == pytest.approx(0.25, abs=0.01)
    assert sorted(c["basic"] for c in split["colors"]) == ["Blue", "White"]


def test_one_bad_file_never_stops_the_batch(images: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_text("this is text named .jpg")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    code, out, err = run(
        str(bad),
        str(images / "a_red.png"),
        str(empty),
        str(tmp_path / "absent.jpg"),
        "--model",
        "none",
    )
    assert code == 1
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["ok"] for r in results] == [False, True, False, False]
    assert results[0] == {
        "path": str(bad),
        "ok": False,
        "error": {"code": "not_an_image", "message": results[0]["error"]["message"]},
    }
    assert results[2]["error"]["code"] == "empty_file"
    assert results[3]["error"]["code"] == "unreadable"
    assert "3 of 4 files failed" in err


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_other_formats(images: Path, fmt: str) -> None:
    code, out, _ = run(str(images), "--model", "none", "--format", fmt)
    assert code == 0
    if fmt == "json":
        assert [r["ok"] for r in json.loads(out)] == [True, True]
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert {row["hex"] for row in rows} >= {"#c8141e"}
        assert len(rows) == 3  # one per colour: 1 + 2
    else:
        assert "a_red.png" in out and "Red" in out


def test_explain_writes_masks_and_overview(images: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "explain"
    code, _, _ = run(str(images), "--model", "none", "--explain", str(out_dir), "--workers", "2")
    assert code == 0
    names = sorted(p.name for p in out_dir.iterdir())
    assert "0000-a_red.overview.png" in names and "0000-a_red.color0.png" in names
    assert {"0001-b_split.color0.png", "0001-b_split.color1.png"} <= set(names)


def test_missing_model_stops_before_any_file(
    images: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("U2NET_HOME", str(tmp_path / "no-models"))
    code, out, err = run(str(images), "--model", "u2net")
    assert code == 2 and out == ""
    assert "make models" in err or "fetch_models" in err


def test_max_colors_is_respected(tmp_path: Path) -> None:
    path = tmp_path / "stripes.png"
    path.write_bytes(cutout_png([(200, 20, 30), (20, 160, 40), (20, 40, 190), (240, 220, 30)]))
    code, out, _ = run(str(path), "--model", "none", "--max-colors", "2")
    assert code == 0 and len(json.loads(out)["colors"]) <= 2
