"""The domain layers: pins from pyproject.toml, the lock of their whole dependency set,
staging mechanics (offline, from local wheels), and the real third-party layer (cp312
manylinux wheels, exactly the locked set, under Lambda's 250 MB)."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from infra.constructs.layer_deps import (
    LAMBDA_UNZIPPED_LIMIT,
    LOCK_COMMAND,
    LOCK_FILE,
    PYPROJECT,
    LayerBuildError,
    LayerLockError,
    LayerPins,
    layer_pins,
    lock_problems,
    read_lock,
    render_lock,
    requirement_name,
    resolve_lock,
    stage_dependencies,
    tree_size,
)
from infra.lock_layer import main as lock_main
from tests.infra.conftest import REPO_ROOT


def test_pins_come_from_pyproject_and_exclude_the_image_and_local_only_packages() -> None:
    pins = layer_pins()
    names = {requirement_name(r) for r in (*pins.resolve, *pins.alone)}
    assert {"pydantic", "pydantic-settings", "click", "aws-lambda-powertools"} <= names
    assert {"httpx", "parsel", "extruct", "protego", "w3lib", "price-parser"} <= names
    assert "numpy" in names  # the API's near-colour filter (studiolab.vision.naming)
    assert not names & {"rembg", "onnxruntime", "mediapipe", "opencv-python-headless", "moto"}
    assert not names & {"boto3", "botocore"}  # provided by the Lambda runtime
    assert pins.alone == ("chalice==1.34.0",)  # chalice.app only: none of its CLI deps
    assert all("==" in r for r in (*pins.resolve, *pins.alone))


def test_digest_follows_the_pins_and_the_lock() -> None:
    a = LayerPins(resolve=("a==1",))
    assert a.digest == LayerPins(resolve=("a==1",)).digest
    assert a.digest != LayerPins(resolve=("a==2",)).digest
    assert a.digest != LayerPins(resolve=("a==1",), alone=("b==1",)).digest
    locked = LayerPins(resolve=("a==1",), locked=("a==1", "c==1"))
    assert locked.digest != a.digest  # the lock is part of the cache key ...
    assert locked.digest != LayerPins(resolve=("a==1",), locked=("a==1", "c==2")).digest
    assert locked.inputs_digest == a.inputs_digest  # ... but not of what a lock is made from


# -- the lock ----------------------------------------------------------------------------------
def test_the_lock_covers_the_pins_in_pyproject() -> None:
    """Fails when a layer pin in pyproject.toml changes without re-locking."""
    assert LOCK_FILE.is_file(), f"missing: run `{LOCK_COMMAND}`"
    pins = layer_pins(lock=None)
    lock = read_lock()
    assert lock_problems(pins, lock) == [], f"re-lock with `{LOCK_COMMAND}`"
    locked = set(lock.requirements)
    for pin in (*pins.resolve, *pins.alone):
        name, version = pin.split("==")
        assert f"{requirement_name(name)}=={version}" in locked, pin
    assert layer_pins().locked == lock.requirements  # what staging uses
    # the transitive dependencies are locked too (pydantic's core, lxml under parsel, ...)
    names = {requirement_name(r) for r in lock.requirements}
    assert {"pydantic-core", "lxml", "typing-extensions", "anyio", "idna"} <= names
    assert not names & {"boto3", "botocore", "moto", "pip", "setuptools"}
    assert [r.split("==")[0] for r in lock.requirements] == sorted(names)


def _pyproject(tmp_path: Path, old: str, new: str) -> Path:
    text = PYPROJECT.read_text()
    assert old in text
    changed = tmp_path / "pyproject.toml"
    changed.write_text(text.replace(old, new, 1))
    return changed


def test_a_pin_bump_without_relocking_is_refused(tmp_path: Path) -> None:
    (pydantic,) = [r for r in layer_pins(lock=None).resolve if r.startswith("pydantic==")]
    bumped = _pyproject(tmp_path, f'"{pydantic}"', '"pydantic==99.0.0"')
    with pytest.raises(LayerLockError, match=r"pydantic==99.0.0 is locked at pydantic==") as err:
        layer_pins(bumped)
    assert LOCK_COMMAND in str(err.value)
    assert lock_problems(layer_pins(bumped, lock=None), read_lock())


def test_a_new_pin_or_a_dropped_one_needs_a_new_lock(tmp_path: Path) -> None:
    added = _pyproject(tmp_path, '"click==', '"studiolab-new-dependency==1.0", "click==')
    with pytest.raises(LayerLockError, match=r"studiolab-new-dependency==1\.0 is not in the lock"):
        layer_pins(added)
    (tmp_path / "dropped").mkdir()
    (numpy,) = [r for r in layer_pins(lock=None).resolve if r.startswith("numpy==")]
    dropped = _pyproject(tmp_path / "dropped", f'"{numpy}"', '"numpy>=1"')
    # a loose pin is refused outright; a dropped one leaves the inputs digest stale
    with pytest.raises(ValueError, match="exact pins"):
        layer_pins(dropped)
    pins = layer_pins(lock=None)
    fewer = LayerPins(resolve=tuple(r for r in pins.resolve if r != numpy), alone=pins.alone)
    (problem,) = lock_problems(fewer, read_lock())
    assert "changed since it was resolved" in problem


def test_a_missing_lock_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LayerLockError, match="missing"):
        layer_pins(lock=tmp_path / "none.lock")


def test_lock_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert lock_main(["--check"]) == 0
    pins = layer_pins(lock=None)
    stale = tmp_path / "stale.lock"
    stale.write_text(render_lock(pins, ["pydantic==0.1"]))
    assert lock_main(["--check", "--lock", str(stale)]) == 1
    assert LOCK_COMMAND in capsys.readouterr().err
    assert lock_main(["--check", "--lock", str(tmp_path / "none.lock")]) == 1


def test_render_and_read_round_trip(tmp_path: Path) -> None:
    pins = LayerPins(resolve=("a==1",))
    path = tmp_path / "layer.lock"
    path.write_text(render_lock(pins, ["a==1", "b==2"]))
    lock = read_lock(path)
    assert lock.requirements == ("a==1", "b==2") and lock.inputs == pins.inputs_digest
    assert lock_problems(pins, lock) == []
    path.write_text(path.read_text() + "c>=1\n")
    with pytest.raises(LayerLockError, match="not an exact pin"):
        read_lock(path)


def test_loose_pins_are_refused(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\ndependencies = ["pydantic>=2"]\n'
        "[project.optional-dependencies]\napi = []\ncrawl = []\nvision = []\n"
    )
    with pytest.raises(ValueError, match="exact pins"):
        layer_pins(pyproject)


def _fake_wheel(directory: Path, name: str, version: str, *requires: str) -> Path:
    """A minimal pure-Python wheel, built by hand (no build backend, no network)."""
    dist = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist}/METADATA": metadata,
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def test_staging_builds_once_per_pin_set_offline(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _fake_wheel(wheels, "studiolabfake", "1.0")
    _fake_wheel(wheels, "studiolabalone", "2.0")
    pins = LayerPins(resolve=("studiolabfake==1.0",), alone=("studiolabalone==2.0",))
    offline = ["--no-index", "--find-links", str(wheels)]
    root = tmp_path / "cache"

    layer = stage_dependencies(pins, root, index_args=offline)

    assert layer == root / pins.digest / "layer"
    python = layer / "python"
    assert (python / "studiolabfake" / "__init__.py").is_file()
    assert (python / "studiolabalone" / "__init__.py").is_file()
    assert not (root / pins.digest / "wheels").exists()
    assert (root / pins.digest / "installed.txt").read_text().split() == [
        "studiolabalone-2.0",
        "studiolabfake-1.0",
    ]
    assert (root / ".gitignore").read_text().splitlines()[-1] == "*"
    assert not [p for p in root.iterdir() if p.name.endswith(".partial")]
    # a cache hit never runs pip again
    assert stage_dependencies(pins, root, pip=["false"], index_args=offline) == layer


def test_staging_applies_the_lock_and_refuses_unlocked_packages(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _fake_wheel(wheels, "studiolabapp", "1.0", "studiolabdep>=1")
    _fake_wheel(wheels, "studiolabdep", "1.0")
    _fake_wheel(wheels, "studiolabdep", "2.0")  # newest: what an unlocked resolution takes
    offline = ["--no-index", "--find-links", str(wheels)]
    resolve = ("studiolabapp==1.0",)

    assert resolve_lock(LayerPins(resolve=resolve), index_args=offline) == (
        "studiolabapp==1.0",
        "studiolabdep==2.0",
    )
    locked = LayerPins(resolve=resolve, locked=("studiolabapp==1.0", "studiolabdep==1.0"))
    layer = stage_dependencies(locked, tmp_path / "cache", index_args=offline)
    assert (layer / "python" / "studiolabdep" / "__init__.py").read_text() == "VERSION = '1.0'\n"
    entry = layer.parent
    assert (entry / "constraints.txt").read_text().split() == list(locked.locked)
    assert (entry / "installed.txt").read_text().split() == [
        "studiolabapp-1.0",
        "studiolabdep-1.0",
    ]

    incomplete = LayerPins(resolve=resolve, locked=("studiolabapp==1.0",))
    with pytest.raises(LayerBuildError, match=r"lock does not list \(studiolabdep-2.0\)"):
        stage_dependencies(incomplete, tmp_path / "cache", index_args=offline)
    assert not (tmp_path / "cache" / incomplete.digest).exists()


def test_a_failed_build_leaves_no_cache_entry(tmp_path: Path) -> None:
    pins = LayerPins(resolve=("studiolab-does-not-exist==0.0.1",))
    offline = ["--no-index", "--find-links", str(tmp_path)]
    with pytest.raises(LayerBuildError, match="pip wheel failed"):
        stage_dependencies(pins, tmp_path / "cache", index_args=offline)
    assert not (tmp_path / "cache" / pins.digest).exists()
    assert list((tmp_path / "cache").iterdir()) == [tmp_path / "cache" / ".gitignore"]


@pytest.mark.pypi
def test_dependency_layer_holds_cp312_manylinux_wheels(synthesized: tuple[Any, Any, Path]) -> None:
    _, _, outdir = synthesized
    manifest = json.loads((outdir / "Studiolab.assets.json").read_text())
    staged = [outdir / f["source"]["path"] for f in manifest["files"].values()]
    (layer,) = [d for d in staged if (d / "python" / "pydantic_core").is_dir()]
    python = layer / "python"
    (core,) = (python / "pydantic_core").glob("_pydantic_core.*.so")
    assert core.name == "_pydantic_core.cpython-312-x86_64-linux-gnu.so"
    wheel = (next(python.glob("pydantic_core-*.dist-info")) / "WHEEL").read_text()
    assert "Tag: cp312-cp312-manylinux" in wheel
    for module in ("pydantic", "pydantic_settings", "click", "chalice", "httpx", "parsel"):
        assert (python / module).is_dir(), module
    for module in ("extruct", "protego", "w3lib", "price_parser", "lxml", "numpy"):
        assert (python / module).is_dir(), module
    assert list((python / "lxml").glob("etree.cpython-312-x86_64-linux-gnu.so"))
    # only the stdlib-only app module of chalice, none of its CLI dependencies
    for absent in ("botocore", "boto3", "yaml", "inquirer", "pip", "rembg", "onnxruntime", "cv2"):
        assert not (python / absent).exists(), absent
    assert not list(python.rglob("*.cpython-311*.so"))
    assert not list(python.rglob("__pycache__"))
    assert not (python / "bin").exists()
    # exactly the locked set: every package at its locked version, nothing else
    staged_set = {
        f"{requirement_name(name)}=={version}"
        for name, version in (
            d.name.removesuffix(".dist-info").rsplit("-", 1) for d in python.glob("*.dist-info")
        )
    }
    assert staged_set == set(read_lock().requirements)


@pytest.mark.pypi
def test_layers_fit_lambdas_unzipped_limit(synthesized: tuple[Any, Any, Path]) -> None:
    """Function code + every layer, unzipped, must stay under 250 MB (262,144,000 bytes)."""
    stack, _, outdir = synthesized
    manifest = json.loads((outdir / "Studiolab.assets.json").read_text())
    staged = [outdir / f["source"]["path"] for f in manifest["files"].values()]
    (wheels,) = [d for d in staged if (d / "python" / "pydantic_core").is_dir()]
    (package,) = [d for d in staged if (d / "python" / "studiolab").is_dir()]
    layers = tree_size(wheels) + tree_size(package)
    assert layers == stack.domain_layer.unzipped_bytes  # what synth itself checked
    biggest_function = max(
        tree_size(REPO_ROOT / "functions" / name) for name in ("api", "crawl_steps", "export")
    )
    assert 20_000_000 < layers + biggest_function < LAMBDA_UNZIPPED_LIMIT
