"""The domain layers: pins from pyproject.toml, staging mechanics (offline, from a local wheel),
and the real third-party layer (cp312 manylinux wheels, under Lambda's 250 MB)."""

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
    LayerBuildError,
    LayerPins,
    layer_pins,
    requirement_name,
    stage_dependencies,
    tree_size,
)
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


def test_digest_follows_the_pins() -> None:
    a = LayerPins(resolve=("a==1",))
    assert a.digest == LayerPins(resolve=("a==1",)).digest
    assert a.digest != LayerPins(resolve=("a==2",)).digest
    assert a.digest != LayerPins(resolve=("a==1",), alone=("b==1",)).digest


def test_loose_pins_are_refused(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\ndependencies = ["pydantic>=2"]\n'
        "[project.optional-dependencies]\napi = []\ncrawl = []\nvision = []\n"
    )
    with pytest.raises(ValueError, match="exact pins"):
        layer_pins(pyproject)


def _fake_wheel(directory: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel, built by hand (no build backend, no network)."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
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
