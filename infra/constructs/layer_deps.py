"""Third-party wheels for the domain layer, staged without Docker and cached by pin set.

The zip Lambdas (API, crawl steps, export, reconciler) run the studiolab package from the
layer, so the layer must also hold what that code imports. The pins come from pyproject.toml
(the one source of truth), selected here:

- `[project].dependencies` (pydantic, pydantic-settings, click);
- the `api` extra (chalice - installed WITHOUT its dependencies: Lambda only runs
  `chalice.app`, which imports the standard library only; its CLI deps (botocore, pip,
  inquirer, ...) stay out - and aws-lambda-powertools);
- the `crawl` extra but moto (moto runs the local mode's workflows only);
- numpy from the `vision` extra: the API's `near=` colour filter converts the colour with
  studiolab.vision.naming (numpy). rembg, onnxruntime, mediapipe & co. live in the images.

boto3/botocore are not bundled: the python3.12 Lambda runtime provides them.

Staging (`stage_dependencies`), for Lambda python3.12 x86_64:
1. `pip wheel` on this machine: fetches the wheels and builds the few pure-Python packages
   published as sdists only (jstyleson), which `--only-binary=:all:` below would refuse;
2. `pip install --platform manylinux2014_x86_64 --implementation cp --python-version 3.12
   --abi cp312 --only-binary=:all: --find-links <step 1> --target <dir>/python <pins>`:
   the resolver only accepts cp312 manylinux or pure wheels, so a host (cp311) binary from
   step 1 can never land in the layer.
The result goes to `.cache/layer/<digest>/layer` (the digest hashes the pins and the target
platform), written under a temporary name and renamed when complete, so an interrupted run
leaves no half-built cache and a later synth with the same pins does no network call."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = REPO_ROOT / "pyproject.toml"
DEFAULT_CACHE = REPO_ROOT / ".cache" / "layer"
CACHE_ENV = "STUDIOLAB_LAYER_CACHE"

# Lambda's own limit: function code + all its layers, unzipped.
LAMBDA_UNZIPPED_LIMIT = 262_144_000

PLATFORM = "manylinux2014_x86_64"
PYTHON_VERSION = "3.12"
ABI = "cp312"
_SCHEME = 1  # bump when the staging steps change (invalidates every cache entry)

# extra -> packages of that extra the layer takes (None: all but EXCLUDED).
LAYER_EXTRAS: dict[str, tuple[str, ...] | None] = {"api": None, "crawl": None, "vision": ("numpy",)}
EXCLUDED = frozenset({"moto"})
WITHOUT_DEPENDENCIES = frozenset({"chalice"})


class LayerBuildError(RuntimeError):
    """pip failed while staging the layer's wheels."""


@dataclass(frozen=True)
class LayerPins:
    """Exact requirement strings: `resolve` installed with their dependencies, `alone` not."""

    resolve: tuple[str, ...]
    alone: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        key = {
            "resolve": sorted(self.resolve),
            "alone": sorted(self.alone),
            "platform": PLATFORM,
            "python": PYTHON_VERSION,
            "abi": ABI,
            "scheme": _SCHEME,
        }
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def requirement_name(requirement: str) -> str:
    """`moto[s3]==5.2.5` -> `moto` (normalised as in PEP 503)."""
    name = requirement
    for stop in "[=<>!~; ":
        name = name.split(stop, 1)[0]
    return name.strip().lower().replace("_", "-").replace(".", "-")


def layer_pins(pyproject: Path = PYPROJECT) -> LayerPins:
    """The layer's requirements, taken from pyproject.toml; each must be an exact `==` pin."""
    project = tomllib.loads(pyproject.read_text())["project"]
    chosen: list[str] = list(project["dependencies"])
    extras: dict[str, list[str]] = project["optional-dependencies"]
    for extra, only in LAYER_EXTRAS.items():
        for requirement in extras[extra]:
            name = requirement_name(requirement)
            if name in EXCLUDED or (only is not None and name not in only):
                continue
            chosen.append(requirement)
    loose = [r for r in chosen if "==" not in r]
    if loose:
        raise ValueError(f"layer requirements must be exact pins (==): {loose}")
    alone = tuple(r for r in chosen if requirement_name(r) in WITHOUT_DEPENDENCIES)
    resolve = tuple(r for r in chosen if r not in alone)
    return LayerPins(resolve=resolve, alone=alone)


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def tree_size(path: Path) -> int:
    """Bytes of the regular files under `path` (what Lambda counts once unzipped)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def stage_dependencies(
    pins: LayerPins,
    root: Path | None = None,
    *,
    pip: Sequence[str] = (sys.executable, "-m", "pip"),
    index_args: Sequence[str] = (),
) -> Path:
    """`<root>/<digest>/layer` holding `python/<packages>`; built once per pin set.

    `index_args` go to every pip call (tests: `--no-index --find-links <dir>`)."""
    root = root or cache_root()
    entry = root / pins.digest
    layer = entry / "layer"
    if (entry / "complete").is_file():
        return layer
    root.mkdir(parents=True, exist_ok=True)
    ignore = root.parent / ".gitignore" if root == DEFAULT_CACHE else root / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# build cache (infra/constructs/layer_deps.py)\n*\n")
    build = root / f".{pins.digest}.{os.getpid()}.partial"
    shutil.rmtree(build, ignore_errors=True)
    try:
        _build(pins, build, [*pip], [*index_args])
        try:
            build.rename(entry)
        except OSError:  # another process finished the same entry first
            if not (entry / "complete").is_file():
                raise
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return layer


def _build(pins: LayerPins, build: Path, pip: list[str], index_args: list[str]) -> None:
    wheels = build / "wheels"
    target = build / "layer" / "python"
    quiet = ["--quiet", "--disable-pip-version-check", "--no-input", *index_args]
    _pip(pip, ["wheel", *quiet, "--wheel-dir", str(wheels), *pins.resolve])
    if pins.alone:
        _pip(pip, ["wheel", *quiet, "--no-deps", "--wheel-dir", str(wheels), *pins.alone])
    platform = [
        "--platform",
        PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        "--abi",
        ABI,
        "--only-binary=:all:",
        "--no-compile",
        "--find-links",
        str(wheels),
        "--target",
        str(target),
    ]
    _pip(pip, ["install", *quiet, *platform, *pins.resolve])
    if pins.alone:
        _pip(pip, ["install", *quiet, *platform, "--no-deps", "--upgrade", *pins.alone])
    shutil.rmtree(wheels)
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts: no use in Lambda
    for cache in target.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    installed = sorted(
        p.name.removesuffix(".dist-info") for p in target.glob("*.dist-info") if p.is_dir()
    )
    (build / "installed.txt").write_text("\n".join(installed) + "\n")
    (build / "pins.json").write_text(
        json.dumps({"resolve": pins.resolve, "alone": pins.alone}, indent=2) + "\n"
    )
    (build / "complete").write_text(pins.digest + "\n")


def _pip(pip: Sequence[str], args: list[str]) -> None:
    result = subprocess.run(
        [*pip, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    if result.returncode != 0:
        raise LayerBuildError(
            f"pip {' '.join(args[:1])} failed ({result.returncode}) while staging the domain "
            f"layer's wheels (needs PyPI once per pin set):\n{result.stderr[-3000:]}"
        )
