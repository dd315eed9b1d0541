"""The streaming zip writer: ZIP64 by entry count and by size, unknown sizes, safe unique
names, and the pipe's failure semantics."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import IO, Any, cast

import pytest

from studiolab.exports.manifest import csv_safe
from studiolab.exports.zipstream import (
    ExportAborted,
    UniqueNames,
    ZipStreamWriter,
    check_entry_name,
    safe_extension,
    safe_segment,
    stream_into,
)

UNZIP = shutil.which("unzip")


def unzip_ok(path: Path) -> None:
    if UNZIP is None:
        return
    result = subprocess.run([UNZIP, "-tqq", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


class Unseekable(io.RawIOBase):
    """A write-only, non-seekable file (like a pipe) that appends to `path`."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._handle = path.open("wb")

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._handle.write(data)

    def close(self) -> None:
        self._handle.close()
        super().close()


def test_more_than_65535_entries_use_zip64_end_records(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    sink = Unseekable(path)
    writer = ZipStreamWriter(cast(IO[bytes], sink))
    count = 65_540
    for n in range(count):
        writer.add_chunks(f"f/{n}.bin", [bytes([n % 256])])
    writer.close()
    sink.close()

    data = path.read_bytes()
    assert b"PK\x06\x06" in data[-200:]  # ZIP64 end of central directory record
    with zipfile.ZipFile(path) as archive:
        assert len(archive.infolist()) == count
        assert archive.read("f/65539.bin") == bytes([65539 % 256])
        assert archive.testzip() is None
    unzip_ok(path)


def test_zip64_sizes_and_offsets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """4 GiB is too big for a test: lower zipfile's ZIP64 threshold to 4 KiB instead, so
    entries and offsets past it take the very same ZIP64 code paths."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 4096)
    path = tmp_path / "big.zip"
    sink = Unseekable(path)
    writer = ZipStreamWriter(cast(IO[bytes], sink))
    blob = bytes(range(256)) * 64  # 16 KiB
    for n in range(6):  # known sizes (one chunk), then unknown, then asked for
        writer.add_chunks(f"known/{n}.bin", [blob])
        writer.add_chunks(f"unknown/{n}.bin", [blob[:8000], blob[8000:]])
        writer.add_chunks(f"sized/{n}.bin", [blob[:100], blob[100:]], size_of=lambda: len(blob))
    writer.close()
    sink.close()
    monkeypatch.undo()

    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        infos = archive.infolist()
        assert len(infos) == 18 and all(info.file_size == len(blob) for info in infos)
        assert archive.read("unknown/5.bin") == blob
        assert any(info.header_offset > 4096 for info in infos)
    data = path.read_bytes()
    assert b"\x01\x00" in data  # ZIP64 extended information extra field tag
    unzip_ok(path)


def test_unknown_size_entries_read_everywhere(tmp_path: Path) -> None:
    path = tmp_path / "unknown.zip"
    sink = Unseekable(path)
    writer = ZipStreamWriter(cast(IO[bytes], sink))
    writer.add_chunks("a.jpg", [b"a" * 100, b"b" * 100])
    writer.add_bytes("m.csv", b"x,y\r\n" * 1000)
    writer.close()
    sink.close()
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None and archive.read("a.jpg") == b"a" * 100 + b"b" * 100
        assert archive.getinfo("m.csv").compress_type == zipfile.ZIP_DEFLATED
        assert archive.getinfo("a.jpg").compress_type == zipfile.ZIP_STORED
    unzip_ok(path)


def test_names() -> None:
    assert safe_segment("../../etc") == "etc"
    assert safe_segment("..") == "_" and safe_segment(None, "unknown") == "unknown"
    assert safe_segment("a/b\\c\x00d e") == "a_b_c_d_e"
    assert len(safe_segment("x" * 500)) == 100
    assert safe_extension("raw/p/i/image.JPEG") == "jpeg"
    assert safe_extension("raw/p/i/image") == "bin" and safe_extension("x.j/pg") == "bin"
    names = UniqueNames()
    assert [names.claim(n) for n in ("a/x.jpg", "a/x.jpg", "a/X.jpg", "a/x")] == [
        "a/x.jpg",
        "a/x-2.jpg",
        "a/X-3.jpg",
        "a/x",
    ]
    for bad in ("", "/a", "a/../b", "a//b", "a\\b", "a\nb"):
        with pytest.raises(ValueError):
            check_entry_name(bad)
    assert [csv_safe(v) for v in ("=1+1", "+x", "-x", "@x", "\tx", "ok", 3)] == [
        "'=1+1",
        "'+x",
        "'-x",
        "'@x",
        "'\tx",
        "ok",
        3,
    ]


def test_stream_into_delivers_full_reads_and_the_whole_stream() -> None:
    reads: list[int] = []

    def put(source: IO[bytes]) -> bytes:
        out = bytearray()
        while chunk := source.read(5 * 1024 * 1024):
            reads.append(len(chunk))
            out += chunk
        return bytes(out)

    def produce(sink: IO[bytes]) -> None:
        for n in range(12_000):
            sink.write(bytes([n % 256]) * 1000)

    result = stream_into(put, produce)
    assert len(result) == 12_000_000 and result[-1] == 11_999 % 256
    assert reads[:-1] == [5 * 1024 * 1024] * (len(reads) - 1)  # no short multipart part


def test_producer_failure_aborts_the_consumer() -> None:
    seen: list[BaseException] = []

    def put(source: IO[bytes]) -> None:
        try:
            while source.read(1 << 16):
                pass
        except BaseException as error:
            seen.append(error)
            raise

    def produce(sink: IO[bytes]) -> None:
        sink.write(b"x" * (3 << 20))
        raise RuntimeError("catalog down")

    with pytest.raises(RuntimeError, match="catalog down"):
        stream_into(put, produce)
    assert len(seen) == 1 and isinstance(seen[0], ExportAborted)


def test_consumer_failure_stops_the_producer() -> None:
    def put(source: IO[bytes]) -> None:
        source.read(1 << 20)
        raise OSError("disk full")

    def produce(sink: IO[bytes]) -> None:
        while True:  # would block forever on a full pipe if the consumer's end stayed open
            sink.write(b"y" * (1 << 20))

    with pytest.raises(OSError, match="disk full"):
        stream_into(put, produce)
