from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from studiolab.adapters.aws.table_schema import create_table
from studiolab.runtime.server import load_api_app
from studiolab.runtime.settings import load_settings
from studiolab.runtime.wiring import build_context, install


@pytest.fixture
def api() -> Iterator[Client]:
    with Client(load_api_app()) as client:
        yield client
    install(None)


def test_health_local(api: Client, tmp_path: Path) -> None:
    context = build_context(load_settings(mode="local", data_dir=tmp_path / "d"))
    install(context)
    try:
        reply = api.http.get("/health")
    finally:
        context.close()
    assert reply.status_code == 200
    assert json.loads(reply.body) == {"status": "ok", "version": "0.1.0", "mode": "local"}


def test_health_aws_wiring_builds_from_environment(
    api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDIOLAB_MODE", "aws")
    monkeypatch.setenv("STUDIOLAB_TABLE_NAME", "studiolab")
    monkeypatch.setenv("STUDIOLAB_BUCKET_NAME", "studiolab-blobs")
    with mock_aws():
        create_table(boto3.client("dynamodb"), "studiolab")
        install(None)  # as on a Lambda cold start: the context is built from the environment
        from studiolab.runtime import settings

        settings.settings_from_env.cache_clear()
        reply = api.http.get("/health")
        settings.settings_from_env.cache_clear()
    assert reply.status_code == 200
    assert json.loads(reply.body)["mode"] == "aws"
