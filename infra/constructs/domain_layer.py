"""The domain package (layers/studiolab/studiolab) as a Lambda layer, staged without Docker.

At synth time the package is copied into a temporary `layer/python/studiolab` tree (the layout
Lambda puts on sys.path) and handed to `Code.from_asset`, which copies it into the cloud
assembly while the LayerVersion is constructed; the temporary tree is removed right after.

Pure Python only: the third-party dependencies of the package (pydantic, pydantic-settings,
click; pydantic-core is a binary wheel) are NOT in this layer yet - bundling manylinux wheels
for python3.12 x86_64 without Docker (`pip download --platform ... --only-binary=:all:`) is
the next step of the Infrastructure issue."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO_ROOT / "layers" / "studiolab" / "studiolab"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.egg-info")


def stage_package(destination: Path, package_dir: Path = PACKAGE_DIR) -> Path:
    """Copy the package into `<destination>/layer/python/<name>`; return `<destination>/layer`."""
    layer_root = destination / "layer"
    shutil.copytree(package_dir, layer_root / "python" / package_dir.name, ignore=_IGNORED)
    return layer_root


class DomainLayer(Construct):
    """`self.layer`: the studiolab package for python3.12 (x86_64) Lambdas."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        with tempfile.TemporaryDirectory(prefix="studiolab-layer-") as staging:
            layer_root = stage_package(Path(staging))
            self.layer = lambda_.LayerVersion(
                self,
                "Layer",
                code=lambda_.Code.from_asset(str(layer_root)),
                compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
                compatible_architectures=[lambda_.Architecture.X86_64],
                description="studiolab domain package (pure Python; third-party wheels: TODO)",
            )
