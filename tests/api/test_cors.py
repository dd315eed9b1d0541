"""CORS: STUDIOLAB_CORS_ORIGINS lists exact origins; listed ones get Access-Control-* headers,
unlisted ones none. Actual requests through chalice.test.Client and real HTTP; preflights
through studiolab.api.cors.preflight over the app's own route table, and over real HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from studiolab.api.cors import preflight
from studiolab.domain.errors import ConfigError
from studiolab.runtime.server import MAX_API_BODY, load_api_app
from studiolab.runtime.settings import load_settings
from studiolab.runtime.wiring import install
from tests.api.conftest import make_context, serving

UI = "https://d111111abcdef8.cloudfront.net"
DEV = "http://localhost:5173"
ORIGINS = frozenset({UI, DEV})
TOKEN = "cors-token-0123456789abcdef"
ACAO = "access-control-allow-origin"


class Http:
    def __init__(self, client: Client) -> None:
        self.client = client

    def __call__(self, method: str, path: str, **headers: str) -> tuple[int, dict[str, str]]:
        reply = self.client.http.request(method, path, headers=headers, body=b"")
        return reply.status_code, {k.lower(): v for k, v in reply.headers.items()}


@pytest.fixture
def http(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Http]:
    settings: dict[str, Any] = {"cors_origins": f"{UI}, {DEV}/"} | getattr(request, "param", {})
    context = make_context(tmp_path, **settings)
    if not hasattr(request, "param"):  # the default: trailing "/" and blanks dropped
        assert context.settings.cors_origin_set == ORIGINS
    with Client(load_api_app()) as client:
        yield Http(client)
    install(None)
    context.close()


def asks(origin: str, method: str = "POST") -> dict[str, str]:
    """The headers of a browser's preflight (lower-case names)."""
    return {
        "origin": origin,
        "access-control-request-method": method,
        "access-control-request-headers": "authorization, content-type",
    }


def test_a_listed_origin_gets_its_origin_echoed(http: Http) -> None:
    for origin in (UI, DEV):
        status, headers = http("GET", "/v1/projects", Origin=origin)
        assert status == 200
        assert headers[ACAO] == origin and headers["vary"] == "Origin"
        assert "access-control-allow-methods" not in headers  # not a preflight


@pytest.mark.parametrize("origin", ["https://evil.example", UI + ".evil.example", UI.upper()])
def test_an_unlisted_origin_gets_no_cors_headers(http: Http, origin: str) -> None:
    status, got = http("GET", "/v1/projects", Origin=origin)
    assert status == 200 and got["vary"] == "Origin"
    assert not [name for name in got if name.startswith("access-control-")], got
    reply = preflight(load_api_app().routes, "/v1/projects", asks(origin), ORIGINS)
    assert reply is not None and reply[0] == 204
    assert not [name for name in reply[1] if name.lower().startswith("access-control-")]


def test_errors_carry_cors_headers_too(http: Http) -> None:
    status, headers = http("GET", "/v1/projects/pr_missing", Origin=UI)
    assert status == 404 and headers[ACAO] == UI
    status, headers = http("GET", "/v1/projects?bogus=1", Origin=UI)
    assert status == 400 and headers[ACAO] == UI


@pytest.mark.parametrize("http", [{"token": TOKEN}], indirect=True)
def test_a_401_carries_cors_headers_so_the_ui_can_read_it(http: Http) -> None:
    status, headers = http("GET", "/v1/projects", Origin=UI)
    assert status == 401 and headers[ACAO] == UI
    status, headers = http("GET", "/v1/projects", Origin=UI, Authorization=f"Bearer {TOKEN}")
    assert status == 200 and headers[ACAO] == UI


@pytest.mark.parametrize("http", [{"cors_origins": ""}], indirect=True)
def test_no_origins_configured_means_no_cors_headers(http: Http) -> None:
    status, got = http("GET", "/v1/projects", Origin=UI)
    assert status == 200
    assert "vary" not in got and not [n for n in got if n.startswith("access-control-")]
    reply = preflight(load_api_app().routes, "/v1/projects", asks(UI), frozenset())
    assert reply == (204, {"Allow": "GET, OPTIONS, POST"})


def test_preflight_lists_the_path_methods_and_allowed_headers() -> None:
    routes = load_api_app().routes
    reply = preflight(routes, "/v1/projects/pr_x", asks(UI, "PATCH"), ORIGINS)
    assert reply == (
        204,
        {
            "Allow": "DELETE, GET, OPTIONS, PATCH",
            "Access-Control-Allow-Origin": UI,
            "Vary": "Origin",
            "Access-Control-Allow-Methods": "DELETE, GET, OPTIONS, PATCH",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "600",
        },
    )
    items = preflight(routes, "/v1/projects/pr_x/items?x=1", asks(DEV, "GET"), ORIGINS)
    assert items is not None and items[1]["Access-Control-Allow-Methods"] == "GET, OPTIONS"
    delete = preflight(routes, "/v1/projects/pr_x/items/delete", asks(UI), ORIGINS)
    assert delete is not None and delete[1]["Allow"] == "OPTIONS, POST"
    # a plain OPTIONS (no Access-Control-Request-Method) is not a preflight
    plain = preflight(routes, "/v1/projects", {"origin": UI}, ORIGINS)
    assert plain is not None and "Access-Control-Allow-Methods" not in plain[1]


def test_preflight_of_an_unknown_path_is_left_to_the_router() -> None:
    routes = load_api_app().routes
    for path in ("/v1/nope", "/v1/projects//items", "/v1/projects/a/b/c/d/e"):
        assert preflight(routes, path, asks(UI), ORIGINS) is None, path


def test_every_route_path_has_a_preflight_reply() -> None:
    routes = load_api_app().routes
    for template, methods in routes.items():
        path = template.replace("{", "x").replace("}", "")
        reply = preflight(routes, path, asks(UI), ORIGINS)
        assert reply is not None, template
        assert reply[1]["Access-Control-Allow-Methods"].split(", ") == sorted({*methods, "OPTIONS"})


def test_origins_from_the_environment_as_a_list_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    for raw in (f"{UI},{DEV}", f" {UI}/ , {DEV.upper()} ,", f'["{UI}", "{DEV}"]'):
        monkeypatch.setenv("STUDIOLAB_CORS_ORIGINS", raw)
        assert load_settings(mode="local").cors_origin_set == ORIGINS, raw
    monkeypatch.setenv("STUDIOLAB_CORS_ORIGINS", "")
    assert load_settings(mode="local").cors_origins == []


def test_bad_origins_stop_start_up_naming_the_variable() -> None:
    bad_values = ("*", "https://ui.example/app", "ui.example", "https://a.example,ftp://b", "[1")
    for bad in bad_values:
        with pytest.raises(ConfigError, match="STUDIOLAB_CORS_ORIGINS"):
            load_settings(mode="local", cors_origins=bad)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with serving(tmp_path / "data", token=TOKEN, cors_origins=UI) as (_, base):
        yield base


def test_cors_over_real_http_with_a_token(served: str) -> None:
    status, headers = _request(served, "GET", "/v1/projects", {"Origin": UI})
    assert status == 401 and headers["Access-Control-Allow-Origin"] == UI
    auth = {"Origin": UI, "Authorization": f"Bearer {TOKEN}"}
    status, headers = _request(served, "GET", "/v1/projects", auth)
    assert status == 200 and headers["Access-Control-Allow-Origin"] == UI
    assert headers["Vary"] == "Origin"
    status, headers = _request(served, "GET", "/v1/projects", {"Origin": "https://x.example"})
    assert status == 401 and "Access-Control-Allow-Origin" not in headers


def test_preflight_over_real_http_needs_no_token(served: str) -> None:
    """runtime/server.py answers OPTIONS with studiolab.api.cors.preflight, before
    LocalGateway (which would short-circuit OPTIONS itself) and before the token check."""
    headers = {"Origin": UI, "Access-Control-Request-Method": "POST"}
    status, got = _request(served, "OPTIONS", "/v1/projects", headers)
    assert status == 204 and got["Access-Control-Allow-Origin"] == UI
    assert got["Access-Control-Allow-Methods"] == "GET, OPTIONS, POST"
    assert got["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
    status, got = _request(served, "OPTIONS", "/v1/projects", {"Origin": "https://x.example"})
    assert status == 204 and "Access-Control-Allow-Origin" not in got


def _request(base: str, method: str, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(base + path, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def _oversized_post(base: str, origin: str) -> tuple[int, Any, bytes]:
    """A POST announcing a body over the server's limit (the body is never sent: the
    server answers from the headers alone, before the Chalice app runs)."""
    host, port = urllib.parse.urlsplit(base).netloc.rsplit(":", 1)
    connection = HTTPConnection(host, int(port), timeout=10)
    try:
        connection.putrequest("POST", "/v1/projects")
        connection.putheader("Origin", origin)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(MAX_API_BODY + 1))
        connection.endheaders()
        reply = connection.getresponse()
        return reply.status, reply.headers, reply.read()
    finally:
        connection.close()


def test_the_servers_own_413_carries_cors_headers(served: str) -> None:
    """runtime/server.py refuses an oversized API body itself (before the Chalice app and
    its CORS middleware): a listed origin still gets its CORS headers, so the browser shows
    "too large" instead of an opaque CORS error; an unlisted one gets none."""
    status, headers, body = _oversized_post(served, UI)
    assert status == 413 and headers["Access-Control-Allow-Origin"] == UI
    assert headers["Vary"] == "Origin"
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    status, headers, _ = _oversized_post(served, "https://x.example")
    assert status == 413 and "Access-Control-Allow-Origin" not in headers
    assert headers["Vary"] == "Origin"


def _reply(base: str, method: str, path: str, headers: dict[str, str]) -> tuple[int, Any, Any]:
    request = urllib.request.Request(base + path, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.headers, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def test_an_unknown_path_is_a_404_in_the_api_error_shape(served: str) -> None:
    """Chalice's LocalGateway (like API Gateway) answers a path without a route with 403
    "Missing Authentication Token"; the server answers 404 in the API's error shape, with
    CORS headers, as the stack's gateway response does on AWS."""
    auth = {"Origin": UI, "Authorization": f"Bearer {TOKEN}"}
    for path in ("/v1/nonexistent", "/v1/exports/", "/v1/projects/p1/nothing"):
        status, headers, document = _reply(served, "GET", path, auth)
        assert status == 404, path
        assert document == {"error": {"code": "not_found", "message": f"no route for GET {path}"}}
        assert headers["Access-Control-Allow-Origin"] == UI
    status, _, document = _reply(served, "GET", "/v1/nonexistent", {})  # no token either
    assert status == 404 and document["error"]["code"] == "not_found"


def test_a_method_the_path_has_no_route_for_is_a_405_in_the_api_error_shape(served: str) -> None:
    auth = {"Origin": UI, "Authorization": f"Bearer {TOKEN}"}
    status, headers, document = _reply(served, "PUT", "/v1/projects", auth)
    assert status == 405
    assert document["error"]["code"] == "method_not_allowed"
    assert "PUT" in document["error"]["message"] and "/v1/projects" in document["error"]["message"]
    assert set(headers["Allow"].split(", ")) == {"GET", "POST"}
    assert headers["Access-Control-Allow-Origin"] == UI
