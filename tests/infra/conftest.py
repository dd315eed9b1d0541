"""One synth per session, built with the context from cdk.json (feature flags included).

The domain layer's third-party wheels are staged by `infra.constructs.layer_deps` into
`.cache/layer/<digest>/`. When that entry is missing (a fresh clone), the first synth runs pip
against PyPI once (a subprocess: pytest-socket does not apply) - the tests that synthesise are
marked `pypi` for that reason; `-m "not pypi"` deselects them on a machine without PyPI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "pypi: stages the domain layer's wheels from PyPI when .cache/layer has no entry for "
        "the current pins (once per pin set)",
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Path]:
    cdk = pytest.importorskip("aws_cdk", reason="aws-cdk-lib is not installed: '.[infra]'")
    pytest.importorskip("cdk_nag", reason="cdk-nag is not installed: pip install -e '.[infra]'")
    pytest.importorskip("chalice", reason="the API routes come from the Chalice app: '.[api]'")
    from aws_cdk import assertions

    from infra.app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = build_app(cdk.App(context=CDK_CONTEXT, outdir=str(outdir)))
    assembly = app.synth()  # raises ValidationFailed on any unacknowledged cdk-nag finding
    return stack, assertions.Template.from_stack(stack), Path(assembly.directory)


@pytest.fixture(scope="session")
def template(synthesized: tuple[Any, Any, Path]) -> Any:
    return synthesized[1]


@pytest.fixture(scope="session")
def template_json(synthesized: tuple[Any, Any, Path]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((synthesized[2] / "Studiolab.template.json").read_text())
    return document


def resources(template: Any, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = template.find_resources(kind)
    return found


def statements(template: Any) -> list[dict[str, Any]]:
    found = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::Role"):
        for resource in resources(template, kind).values():
            props = resource["Properties"]
            documents = [props.get("PolicyDocument")] + [
                p["PolicyDocument"] for p in props.get("Policies", [])
            ]
            for document in filter(None, documents):
                found.extend(document["Statement"])
    return found
