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
The result goes to `.cache/layer/<digest>/layer` (the digest hashes the pins, the lock and
the target platform), written under a temporary name and renamed when complete, so an
interrupted run leaves no half-built cache and a later synth with the same pins does no
network call.

Lock (`infra/layer-requirements.lock`, checked in): the layer's *whole* dependency set, the
pins and every transitive dependency as `name==version`, resolved once for cp312 manylinux by
`python -m infra.lock_layer` (`resolve_lock`: the same two pip steps, the second one a
`--dry-run --report`). Staging passes it to every pip call as a constraints file (`-c`) and
refuses a result holding a package the lock does not list, so a pin set always stages the same
wheels; its content is part of the cache key. The lock records a digest of what it was resolved
from (`# inputs:`): `layer_pins()` refuses a lock that no longer matches the pins in
pyproject.toml (a pin bumped without re-locking), with the command to re-lock."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = REPO_ROOT / "pyproject.toml"
LOCK_FILE = REPO_ROOT / "infra" / "layer-requirements.lock"
LOCK_COMMAND = "python -m infra.lock_layer"
DEFAULT_CACHE = REPO_ROOT / ".cache" / "layer"
CACHE_ENV = "STUDIOLAB_LAYER_CACHE"

# Lambda's own limit: function code + all its layers, unzipped.
LAMBDA_UNZIPPED_LIMIT = 262_144_000

PLATFORM = "manylinux2014_x86_64"
PYTHON_VERSION = "3.12"
ABI = "cp312"
_SCHEME = 2  # bump when the staging steps change (invalidates every cache entry)

# extra -> packages of that extra the layer takes (None: all but EXCLUDED).
LAYER_EXTRAS: dict[str, tuple[str, ...] | None] = {"api": None, "crawl": None, "vision": ("numpy",)}
EXCLUDED = frozenset({"moto"})
WITHOUT_DEPENDENCIES = frozenset({"chalice"})


class LayerBuildError(RuntimeError):
    """pip failed while staging (or locking) the layer's wheels."""


class LayerLockError(ValueError):
    """The lock file is missing or does not match the layer's pins in pyproject.toml."""


@dataclass(frozen=True)
class LayerPins:
    """Exact requirement strings: `resolve` installed with their dependencies, `alone` not;
    `locked`: the whole dependency set (`name==version`, pip constraints), () for none."""

    resolve: tuple[str, ...]
    alone: tuple[str, ...] = ()
    locked: tuple[str, ...] = ()

    @property
    def inputs_digest(self) -> str:
        """What a lock is resolved from: the pins and the target platform."""
        return _sha256(
            {
                "resolve": sorted(self.resolve),
                "alone": sorted(self.alone),
                "platform": PLATFORM,
                "python": PYTHON_VERSION,
                "abi": ABI,
            }
        )

    @property
    def digest(self) -> str:
        """The cache key: the inputs, the locked set and the staging scheme."""
        return _sha256(
            {"inputs": self.inputs_digest, "locked": sorted(self.locked), "scheme": _SCHEME}
        )


@dataclass(frozen=True)
class Lock:
    """A parsed lock file: the inputs digest it was resolved from and its requirements."""

    inputs: str | None
    requirements: tuple[str, ...]


def _sha256(key: object) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def requirement_name(requirement: str) -> str:
    """`moto[s3]==5.2.5` -> `moto` (normalised as in PEP 503)."""
    name = requirement
    for stop in "[=<>!~; ":
        name = name.split(stop, 1)[0]
    return name.strip().lower().replace("_", "-").replace(".", "-")


def pinned_version(requirement: str) -> str:
    """`numpy==1.26.4` -> `1.26.4`."""
    return requirement.split("==", 1)[1].split(";", 1)[0].strip()


def layer_pins(pyproject: Path = PYPROJECT, lock: Path | None = LOCK_FILE) -> LayerPins:
    """The layer's requirements, taken from pyproject.toml; each must be an exact `==` pin.

    With `lock` (the default: the checked-in lock file), `locked` is its content, and a lock
    that is missing or no longer matches the pins raises LayerLockError."""
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
    pins = LayerPins(resolve=resolve, alone=alone)
    if lock is None:
        return pins
    if not lock.is_file():
        raise LayerLockError(f"{lock} is missing: create it with `{LOCK_COMMAND}`")
    parsed = read_lock(lock)
    problems = lock_problems(pins, parsed)
    if problems:
        raise LayerLockError(
            f"{lock.name} does not match the layer's pins in {pyproject.name}: "
            f"{'; '.join(problems)}. Re-lock with `{LOCK_COMMAND}` and commit the result."
        )
    return LayerPins(resolve=resolve, alone=alone, locked=parsed.requirements)


def read_lock(path: Path = LOCK_FILE) -> Lock:
    """Requirements (`name==version` lines) and the `# inputs: <digest>` header of a lock."""
    inputs = None
    requirements = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("# inputs:"):
            inputs = line.removeprefix("# inputs:").strip()
        elif line and not line.startswith("#"):
            if "==" not in line:
                raise LayerLockError(f"{path.name}: {line!r} is not an exact pin (name==version)")
            requirements.append(line)
    return Lock(inputs=inputs, requirements=tuple(requirements))


def lock_problems(pins: LayerPins, lock: Lock) -> list[str]:
    """Why `lock` does not fit `pins` (empty: it does): a pin missing from the lock or locked at
    another version, or pins/platform changed since the lock was resolved."""
    locked = {requirement_name(r): pinned_version(r) for r in lock.requirements}
    problems = []
    for pin in (*pins.resolve, *pins.alone):
        name, version = requirement_name(pin), pinned_version(pin)
        if name not in locked:
            problems.append(f"{pin} is not in the lock")
        elif locked[name] != version:
            problems.append(f"{pin} is locked at {name}=={locked[name]}")
    if not problems and lock.inputs != pins.inputs_digest:
        problems.append(
            f"the pins or the target platform changed since it was resolved (inputs "
            f"{lock.inputs} != {pins.inputs_digest})"
        )
    return problems


def render_lock(pins: LayerPins, requirements: Sequence[str]) -> str:
    """The lock file's text: a header (with the inputs digest), then one pin per line."""
    header = [
        "# The domain layer's whole third-party dependency set (a pip constraints file),",
        f"# resolved for CPython {PYTHON_VERSION} {PLATFORM} ({ABI}; Lambda python3.12 x86_64)",
        "# from the pins in pyproject.toml that infra/constructs/layer_deps.py selects.",
        f"# Generated - do not edit: after changing those pins run `{LOCK_COMMAND}`.",
        f"# inputs: {pins.inputs_digest}",
    ]
    return "\n".join([*header, *requirements]) + "\n"


def resolve_lock(
    pins: LayerPins,
    *,
    pip: Sequence[str] = (sys.executable, "-m", "pip"),
    index_args: Sequence[str] = (),
) -> tuple[str, ...]:
    """Resolve the whole dependency set of `pins` for the target platform (no lock applied):
    sorted `name==version` (PEP 503 names). The `alone` pins are taken as they are."""
    with tempfile.TemporaryDirectory(prefix="studiolab-layer-lock-") as tmp:
        wheels, report = Path(tmp) / "wheels", Path(tmp) / "report.json"
        quiet = ["--quiet", "--disable-pip-version-check", "--no-input", *index_args]
        # host wheels first: the sdist-only packages (jstyleson) become pure wheels
        _pip(pip, ["wheel", *quiet, "--wheel-dir", str(wheels), *pins.resolve], "locking")
        resolution = [
            "install",
            *quiet,
            "--dry-run",
            "--ignore-installed",
            "--report",
            str(report),
            *_platform_args(),
            "--find-links",
            str(wheels),
            *pins.resolve,
        ]
        _pip(pip, resolution, "locking")
        installed = json.loads(report.read_text())["install"]
    found = {requirement_name(i["metadata"]["name"]): i["metadata"]["version"] for i in installed}
    for pin in pins.alone:
        found[requirement_name(pin)] = pinned_version(pin)
    return tuple(f"{name}=={version}" for name, version in sorted(found.items()))


def _platform_args() -> list[str]:
    return [
        "--platform",
        PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        "--abi",
        ABI,
        "--only-binary=:all:",
    ]


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
    if pins.locked:
        constraints = build / "constraints.txt"
        build.mkdir(parents=True, exist_ok=True)
        constraints.write_text("\n".join(pins.locked) + "\n")
        quiet += ["--constraint", str(constraints)]
    _pip(pip, ["wheel", *quiet, "--wheel-dir", str(wheels), *pins.resolve])
    if pins.alone:
        _pip(pip, ["wheel", *quiet, "--no-deps", "--wheel-dir", str(wheels), *pins.alone])
    platform = [
        *_platform_args(),
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
    if pins.locked:
        # `-c` pins the version of every package it lists; it cannot keep others out
        locked = {requirement_name(r) for r in pins.locked}
        unlocked = [d for d in installed if requirement_name(d.rsplit("-", 1)[0]) not in locked]
        if unlocked:
            raise LayerBuildError(
                f"the layer needs packages its lock does not list ({', '.join(unlocked)}): "
                f"re-lock with `{LOCK_COMMAND}`"
            )
    (build / "installed.txt").write_text("\n".join(installed) + "\n")
    (build / "pins.json").write_text(
        json.dumps({"resolve": pins.resolve, "alone": pins.alone}, indent=2) + "\n"
    )
    (build / "complete").write_text(pins.digest + "\n")


def _pip(pip: Sequence[str], args: list[str], task: str = "staging") -> None:
    result = subprocess.run(
        [*pip, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    if result.returncode != 0:
        raise LayerBuildError(
            f"pip {' '.join(args[:1])} failed ({result.returncode}) while {task} the domain "
            f"layer's wheels (needs PyPI once per pin set):\n{result.stderr[-3000:]}"
        )
