"""The shared error shape (bad JSON, 413, unknown parameters, 500) and local bearer auth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chalice.test import Client

from studiolab.api.routing import MAX_BODY_BYTES
from studiolab.domain.errors import ConfigError
from studiolab.runtime.server import load_api_app
from studiolab.runtime.settings import load_settings
from studiolab.runtime.wiring import AppContext, install
from tests.api.conftest import Api, assert_error, make_context

TOKEN = "test-token-0123456789abcdef"


def test_bad_json_is_400(api: Api) -> None:
    error = assert_error(api.call("POST", "/v1/projects", "{not json"), 400, "invalid_input")
    assert error["fields"] == {"body": "bad JSON"}
    assert_error(api.call("POST", "/v1/projects", "[1, 2]"), 400, "invalid_input")


def test_oversized_body_is_413(api: Api) -> None:
    body = '{"name": "' + "x" * MAX_BODY_BYTES + '"}'
    assert_error(api.call("POST", "/v1/projects", body), 413, "payload_too_large")


def test_unknown_query_parameter_is_400_and_named(api: Api) -> None:
    error = assert_error(api.get("/v1/projects?limit=5&colour=Red"), 400, "invalid_input")
    assert error["fields"] == {"colour": "unknown query parameter"}
    assert "colour" in error["message"]
    assert_error(api.get("/v1/items/it_1?x=1"), 400, "invalid_input")


def test_unexpected_error_is_500_without_internals(
    api: Api, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(ctx.catalog, "list_projects", explode)
    reply = api.get("/v1/projects")
    error = assert_error(reply, 500, "internal")
    assert "secret" not in reply.body["error"]["message"] and "fields" not in error


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Api]:
    context = make_context(tmp_path, token=TOKEN)
    try:
        with Client(load_api_app()) as client:
            yield Api(client)
    finally:
        install(None)
        context.close()


def test_token_required_when_configured(secured: Api) -> None:
    error = assert_error(secured.get("/v1/projects"), 401, "unauthorized")
    assert "Bearer" in error["message"]
    wrong = secured.call("GET", "/v1/projects", Authorization="Bearer wrong-token")
    assert_error(wrong, 401, "unauthorized")
    basic = secured.call("GET", "/v1/projects", Authorization=f"Basic {TOKEN}")
    assert_error(basic, 401, "unauthorized")
    good = secured.call("GET", "/v1/projects", Authorization=f"Bearer {TOKEN}")
    assert good.status == 200 and good.body == {"items": [], "next": None}
    post = secured.call("POST", "/v1/projects", {"name": "n"}, Authorization=f"Bearer {TOKEN}")
    assert_error(post, 400)  # past auth, into validation


def test_health_and_docs_are_public(secured: Api) -> None:
    assert secured.get("/health").status == 200
    assert secured.get("/docs").status == 200
    assert secured.get("/openapi.json").status == 200


def test_no_token_configured_means_no_auth(api: Api) -> None:
    assert api.get("/v1/projects").status == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::"])
def test_non_loopback_bind_needs_a_token(tmp_path: Path, host: str) -> None:
    with pytest.raises(ConfigError, match="STUDIOLAB_TOKEN"):
        load_settings(mode="local", host=host, data_dir=tmp_path)
    settings = load_settings(mode="local", host=host, data_dir=tmp_path, token=TOKEN)
    assert settings.token is not None and TOKEN not in repr(settings)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_bind_needs_no_token(tmp_path: Path, host: str) -> None:
    assert load_settings(mode="local", host=host, data_dir=tmp_path).token is None


def test_short_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="16"):
        load_settings(mode="local", data_dir=tmp_path, token="short")


def test_up_refuses_a_public_bind_without_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from studiolab.runtime.cli import main

    result = CliRunner().invoke(main, ["up", "--host", "0.0.0.0", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "STUDIOLAB_TOKEN" in result.output
    assert not (tmp_path / "catalog.sqlite").exists()
