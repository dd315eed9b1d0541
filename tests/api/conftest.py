"""A local AppContext on a tmp dir, installed for the Chalice app, and a JSON test client;
`serving` for tests over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from studiolab.runtime.local_stack import LocalStack
from studiolab.runtime.server import load_api_app
from studiolab.runtime.settings import load_settings
from studiolab.runtime.wiring import AppContext, build_context, install


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class Api:
    """JSON calls through chalice.test.Client."""

    def __init__(self, client: Client, headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.headers = headers or {}

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> Reply:
        all_headers = self.headers | headers
        kwargs: dict[str, Any] = {"headers": all_headers}
        if body is not None:
            all_headers.setdefault("Content-Type", "application/json")
            kwargs["body"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
        reply = getattr(self.client.http, method.lower())(path, **kwargs)
        text = reply.body.decode("utf-8") if isinstance(reply.body, bytes) else reply.body
        is_json = reply.headers.get("Content-Type", "").startswith("application/json")
        parsed = json.loads(text) if text and is_json else text
        return Reply(reply.status_code, parsed, dict(reply.headers))

    def get(self, path: str) -> Reply:
        return self.call("GET", path)

    def post(self, path: str, body: Any = None) -> Reply:
        return self.call("POST", path, {} if body is None else body)

    def patch(self, path: str, body: Any) -> Reply:
        return self.call("PATCH", path, body)

    def delete(self, path: str) -> Reply:
        return self.call("DELETE", path)

    def project(self, name: str = "Maxi dresses", **fields: Any) -> dict[str, Any]:
        body = {"name": name, "shop": "Demo shop", "attribute": "dress.maxi"} | fields
        reply = self.post("/v1/projects", body)
        assert reply.status == 201, reply.body
        return dict(reply.body)


@pytest.fixture(autouse=True)
def _no_token_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STUDIOLAB_TOKEN", "STUDIOLAB_HOST", "STUDIOLAB_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)


def make_context(tmp_path: Path, **settings: Any) -> AppContext:
    context = build_context(
        load_settings(mode="local", data_dir=tmp_path / "data", segment_model="none", **settings)
    )
    install(context)
    return context


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AppContext]:
    context = make_context(tmp_path)
    yield context
    install(None)
    context.close()


@pytest.fixture
def api(ctx: AppContext) -> Iterator[Api]:
    with Client(load_api_app()) as client:
        yield Api(client)


def assert_error(reply: Reply, status: int, code: str | None = None) -> dict[str, Any]:
    assert reply.status == status, reply.body
    error = reply.body["error"]
    assert set(error) <= {"code", "message", "fields"} and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


@contextmanager
def serving(data_dir: Path, **settings: Any) -> Iterator[tuple[LocalStack, str]]:
    """`studiolab up`'s stack on a free 127.0.0.1 port (no segmentation model, no workers
    unless `settings` say otherwise), served in the background; its base URL."""
    chosen = {"workers": 0, "segment_model": "none"} | settings
    running = LocalStack(load_settings(mode="local", data_dir=data_dir, port=0, **chosen))
    base = running.start()
    running.serve_in_background()
    try:
        yield running, base
    finally:
        running.stop()
