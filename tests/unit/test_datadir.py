from __future__ import annotations

import json
from pathlib import Path

import pytest

from studiolab.domain.errors import AlreadyRunning, DataDirError
from studiolab.runtime.datadir import MARKER, DataDir


def test_fresh_dir_gets_marker_and_blobs(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "new").prepare()
    assert json.loads((data_dir.root / MARKER).read_text()) == {"format": 1}
    assert data_dir.blobs_path.is_dir()
    DataDir(tmp_path / "new").prepare()  # idempotent


def test_foreign_non_empty_dir_is_refused_untouched(tmp_path: Path) -> None:
    (tmp_path / "thesis.docx").write_bytes(b"precious")
    with pytest.raises(DataDirError, match="not a studiolab data dir"):
        DataDir(tmp_path).prepare()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.docx"]


def test_a_file_is_not_a_data_dir(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(DataDirError, match="not a directory"):
        DataDir(target).prepare()


@pytest.mark.parametrize("content", ["{not json", json.dumps({"format": 99}), json.dumps([1])])
def test_corrupt_or_newer_marker_is_refused(tmp_path: Path, content: str) -> None:
    (tmp_path / MARKER).write_text(content)
    (tmp_path / "catalog.sqlite").write_bytes(b"data")
    with pytest.raises(DataDirError):
        DataDir(tmp_path).prepare()
    assert (tmp_path / MARKER).read_text() == content
    assert (tmp_path / "catalog.sqlite").read_bytes() == b"data"


def test_second_lock_on_same_dir_fails_with_holder_pid(tmp_path: Path) -> None:
    first = DataDir(tmp_path).prepare()
    first.lock()
    try:
        with pytest.raises(AlreadyRunning, match=r"already running .*pid \d+"):
            DataDir(tmp_path).prepare().lock()
    finally:
        first.unlock()
    second = DataDir(tmp_path).prepare()
    second.lock()
    second.unlock()
