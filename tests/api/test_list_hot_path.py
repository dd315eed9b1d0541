"""The items-list hot path: a handler parses its own request (not another thread's), the page
JSON is what pydantic writes for the list, and the local server's replies (one write each)."""

from __future__ import annotations

import gc
import http.client
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from chalice.app import Chalice, Request, Response
from chalice.test import Client
from pydantic import BaseModel, TypeAdapter

from studiolab.api.deps import item_page_json
from studiolab.api.routing import Api
from studiolab.domain.models import Item, PaletteColor, ProductFields
from studiolab.runtime.local_stack import LocalStack
from tests.api.conftest import serving

NOW = datetime(2026, 11, 28, tzinfo=UTC)
PROJECT = {"name": "P", "shop": "Demo shop", "attribute": "dress.maxi"}


class EchoQuery(BaseModel):
    word: str


def test_a_handler_parses_its_own_request_not_app_current_request() -> None:
    """Chalice's `app.current_request` is one attribute shared by the local server's threads;
    here another request overwrites it while this one passes the middlewares."""
    app = Chalice(app_name="race")
    api = Api(app)

    @app.middleware("http")
    def clobber(event: Any, get_response: Callable[[Any], Response]) -> Response:
        other = dict(event.to_original_event())
        other["multiValueQueryStringParameters"] = {"word": ["theirs"]}
        app.current_request = Request(other)  # what a concurrent request's thread does
        return get_response(event)

    @api.route("/echo", "GET", tag="t", query=EchoQuery, public=True)
    def echo(query: EchoQuery) -> dict[str, str]:
        """Echo."""
        return {"word": query.word}

    with Client(app) as client:
        reply = client.http.get("/echo?word=mine")
    assert reply.status_code == 200
    assert json.loads(reply.body) == {"word": "mine"}


def _item(index: int, **fields: Any) -> Item:
    red = PaletteColor(
        hex="#C81E28",
        rgb=(200, 30, 40),
        lab=(43.1, 65.2, 43.9),
        fraction=0.7,
        name="red",
        basic="Red",
        delta_e=1.5,
    )
    return Item(
        id=f"it_{index:04d}",
        project_id="pr_1",
        product=ProductFields(name=f"Grüne Jacke 👗 {index}", price="49.90", currency="EUR"),
        texts={"note": 'quotes " and \\ backslash\nnewline \x1f unit separator'},
        palette=[red],
        created_at=NOW + timedelta(seconds=index),
        updated_at=NOW,
        **fields,
    )


def test_item_page_json_is_the_list_serialization() -> None:
    items = [_item(i) for i in range(5)]
    expected = TypeAdapter(list[Item]).dump_json(items).decode()
    for _ in range(2):  # the second call joins remembered item JSON
        body = item_page_json(items, "c1")
        assert body == f'{{"items":{expected},"next":"c1"}}'
        assert json.loads(body)["items"][0]["product"]["name"] == "Grüne Jacke 👗 0"
    assert item_page_json([], None) == '{"items":[],"next":null}'


def test_item_page_json_follows_new_item_objects() -> None:
    first = _item(1, state="pending")
    assert json.loads(item_page_json([first], None))["items"][0]["state"] == "pending"
    del first
    gc.collect()
    second = _item(1, state="done")  # same id, new object (may reuse the address)
    assert json.loads(item_page_json([second], None))["items"][0]["state"] == "done"
    changed = second.model_copy(update={"state": "failed"})
    assert json.loads(item_page_json([changed], None))["items"][0]["state"] == "failed"


# -- real HTTP ---------------------------------------------------------------------------------
@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[LocalStack, str]]:
    with serving(tmp_path / "data") as running:
        yield running


def _connect(base: str) -> http.client.HTTPConnection:
    parts = urlsplit(base)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)


def test_replies_over_keep_alive_http(served: tuple[LocalStack, str]) -> None:
    stack, base = served
    conn = _connect(base)
    conn.request("POST", "/v1/projects", json.dumps(PROJECT))
    reply = conn.getresponse()
    project = json.loads(reply.read())
    assert reply.status == 201
    for index in range(3):
        stack.context.catalog.create_item(
            _item(index).model_copy(update={"project_id": project["id"]})
        )
    for _ in range(2):  # the same connection, twice: the second page comes from the caches
        conn.request("GET", f"/v1/projects/{project['id']}/items?colour=Red&limit=2")
        reply = conn.getresponse()
        body = reply.read()
        assert reply.status == 200
        assert reply.getheader("Content-Length") == str(len(body))
        assert reply.getheader("Content-Type") == "application/json"
        assert reply.getheader("Date", "").endswith(" GMT")
        assert reply.getheader("Server", "").startswith("BaseHTTP/")
        page = json.loads(body)
        assert [item["id"] for item in page["items"]] == ["it_0002", "it_0001"]
        assert page["items"][0]["texts"]["note"].endswith("\x1f unit separator")
        conn.request("GET", f"/v1/projects/{project['id']}/items?limit=2&cursor={page['next']}")
        reply = conn.getresponse()
        assert reply.status == 400  # the cursor of another listing (colour=Red)
        assert json.loads(reply.read())["error"]["fields"] == {
            "cursor": "not a cursor of this listing"
        }
    conn.request("HEAD", "/health")  # no HEAD route: 405, its length but no body on the wire
    reply = conn.getresponse()
    assert reply.status == 405
    assert int(reply.getheader("Content-Length", "0")) > 0
    assert reply.read() == b""
    conn.request("GET", "/health")  # the connection is still in step
    reply = conn.getresponse()
    assert reply.status == 200
    assert json.loads(reply.read())["status"] == "ok"
    conn.close()


def test_concurrent_listings_get_their_own_filters(served: tuple[LocalStack, str]) -> None:
    stack, base = served
    conn = _connect(base)
    conn.request("POST", "/v1/projects", json.dumps(PROJECT))
    project = json.loads(conn.getresponse().read())
    conn.close()
    states = ("pending", "done", "failed", "skipped")
    for index in range(40):
        item = _item(index, state=states[index % 4])
        stack.context.catalog.create_item(item.model_copy(update={"project_id": project["id"]}))
    wrong: list[str] = []

    def client(state: str) -> None:
        mine = _connect(base)
        for _ in range(40):
            mine.request("GET", f"/v1/projects/{project['id']}/items?state={state}&limit=5")
            reply = mine.getresponse()
            page = json.loads(reply.read())
            if reply.status != 200 or any(i["state"] != state for i in page["items"]):
                wrong.append(f"{state}: {reply.status} {page}")
        mine.close()

    threads = [threading.Thread(target=client, args=(s,)) for s in states * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
