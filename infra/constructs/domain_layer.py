"""The domain package and its third-party wheels as two Lambda layers, staged without Docker.

- `Dependencies`: pydantic, pydantic-settings, click, chalice (app module only), Powertools,
  the crawl extra and numpy as cp312 manylinux wheels (constructs/layer_deps.py), cached in
  `.cache/layer/<digest>` and given that digest as asset hash, so synth neither re-downloads
  nor re-hashes ~100 MB and the layer version only changes when the pins or their lock
  (infra/layer-requirements.lock) do.
- `Package`: layers/studiolab/studiolab, copied into a temporary `python/studiolab` tree (the
  layout Lambda puts on sys.path) and handed to `Code.from_asset`, which copies it into the
  cloud assembly while the LayerVersion is constructed.

Both ship for python3.12 x86_64. Synth fails if the layers could not fit Lambda's 250 MB
(unzipped, function code included) limit."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from aws_cdk import AssetHashType
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs.layer_deps import (
    LAMBDA_UNZIPPED_LIMIT,
    layer_pins,
    stage_dependencies,
    tree_size,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO_ROOT / "layers" / "studiolab" / "studiolab"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.egg-info")
# Head-room left for a function's own code (the zip functions are a few kB each).
FUNCTION_CODE_ALLOWANCE = 10 * 1024 * 1024


def stage_package(destination: Path, package_dir: Path = PACKAGE_DIR) -> Path:
    """Copy the package into `<destination>/layer/python/<name>`; return `<destination>/layer`."""
    layer_root = destination / "layer"
    shutil.copytree(package_dir, layer_root / "python" / package_dir.name, ignore=_IGNORED)
    return layer_root


class DomainLayer(Construct):
    """`self.layers`: [third-party wheels, studiolab package] for python3.12 x86_64 Lambdas."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        pins = layer_pins()
        dependencies_root = stage_dependencies(pins)
        self.dependencies_dir = dependencies_root
        self.unzipped_bytes = tree_size(dependencies_root)
        dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(
                str(dependencies_root),
                asset_hash=pins.digest,
                asset_hash_type=AssetHashType.CUSTOM,
            ),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
            compatible_architectures=[lambda_.Architecture.X86_64],
            description=f"studiolab third-party wheels (cp312 manylinux, pins {pins.digest})",
        )
        with tempfile.TemporaryDirectory(prefix="studiolab-layer-") as staging:
            layer_root = stage_package(Path(staging))
            self.unzipped_bytes += tree_size(layer_root)
            package = lambda_.LayerVersion(
                self,
                "Package",
                code=lambda_.Code.from_asset(str(layer_root)),
                compatible_runtimes=[lambda_.Runtime.PYTHON_3_12],
                compatible_architectures=[lambda_.Architecture.X86_64],
                description="studiolab domain package",
            )
        if self.unzipped_bytes + FUNCTION_CODE_ALLOWANCE > LAMBDA_UNZIPPED_LIMIT:
            raise ValueError(
                f"domain layers unzip to {self.unzipped_bytes / 1e6:.0f} MB: over Lambda's "
                f"{LAMBDA_UNZIPPED_LIMIT / 1e6:.0f} MB limit with function code"
            )
        self.layers: list[lambda_.ILayerVersion] = [dependencies, package]
