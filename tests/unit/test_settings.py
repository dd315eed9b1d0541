from __future__ import annotations

from pathlib import Path

import pytest

from studiolab.domain.errors import ConfigError
from studiolab.runtime.settings import load_settings


def test_defaults_are_local(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STUDIOLAB_MODE", "STUDIOLAB_PORT", "STUDIOLAB_DATA_DIR", "STUDIOLAB_HOST"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.mode == "local"
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.data_dir == Path(".studiolab")


def test_environment_then_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIOLAB_PORT", "9001")
    monkeypatch.setenv("STUDIOLAB_DATA_DIR", "/tmp/sl")
    assert load_settings().port == 9001
    settings = load_settings(port=9100, host=None)
    assert settings.port == 9100 and settings.data_dir == Path("/tmp/sl")


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIOLAB_PORT", "eighty")
    with pytest.raises(ConfigError, match="STUDIOLAB_PORT"):
        load_settings()


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_api_concurrency_must_be_a_positive_number(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("STUDIOLAB_API_CONCURRENCY", value)
    with pytest.raises(ConfigError, match="STUDIOLAB_API_CONCURRENCY"):
        load_settings()
    monkeypatch.setenv("STUDIOLAB_API_CONCURRENCY", "2")
    assert load_settings().api_concurrency == 2


def test_aws_mode_needs_table_and_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIOLAB_MODE", "aws")
    monkeypatch.delenv("STUDIOLAB_TABLE_NAME", raising=False)
    monkeypatch.delenv("STUDIOLAB_BUCKET_NAME", raising=False)
    with pytest.raises(ConfigError, match="STUDIOLAB_TABLE_NAME, STUDIOLAB_BUCKET_NAME"):
        load_settings()
    monkeypatch.setenv("STUDIOLAB_TABLE_NAME", "t")
    monkeypatch.setenv("STUDIOLAB_BUCKET_NAME", "b")
    monkeypatch.setenv("STUDIOLAB_FUNCTIONS", '{"export.run": "studiolab-export"}')
    settings = load_settings()
    assert settings.functions == {"export.run": "studiolab-export"}


def test_unknown_mode_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIOLAB_MODE", "cloud")
    with pytest.raises(ConfigError, match="STUDIOLAB_MODE"):
        load_settings()
