"""`studiolab extract`: output schema, exit codes, FILE and URL inputs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from studiolab.runtime.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
PRODUCT_KEYS = [
    "name",
    "brand",
    "price",
    "currency",
    "sku",
    "availability",
    "images",
    "colors",
    "sizes",
    "category",
    "description",
    "url",
]


def run(*args: str) -> tuple[int, list[dict[str, Any]]]:
    result = CliRunner().invoke(main, ["extract", *args])
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, lines


def check_schema(result: dict[str, Any]) -> None:
    if result["ok"]:
        assert list(result) == ["source", "ok", "method", "product"]
        assert list(result["product"]) == PRODUCT_KEYS
    else:
        assert list(result) == ["source", "ok", "error"]
        assert set(result["error"]) == {"code", "message"}


def test_files_jsonl_and_exit_zero() -> None:
    code, results = run(
        str(FIXTURES / "og_only.html"),
        str(FIXTURES / "magento_graph.html"),
        "--url",
        "https://northgate.example/ines-wide-leg-trousers-wsh12.html",
    )
    assert code == 0
    assert [r["ok"] for r in results] == [True, True]
    for result in results:
        check_schema(result)
    og, magento = results
    assert og["method"] == "og" and og["product"]["sizes"] is None
    assert magento["product"]["price"] == "45.00" and magento["product"]["currency"] == "GBP"


def test_failures_exit_one_and_batch_goes_on(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.html"
    garbage.write_bytes(b"\x00\xff<html>nothing here")
    code, results = run(
        str(garbage), str(tmp_path / "missing.html"), str(FIXTURES / "og_only.html")
    )
    assert code == 1
    assert [r.get("error", {}).get("code") for r in results] == ["no_product", "not_found", None]
    for result in results:
        check_schema(result)


def test_shopify_json_files() -> None:
    code, results = run(
        str(FIXTURES / "shopify_products.json"), str(FIXTURES / "shopify_product.js")
    )
    assert code == 0
    assert [r["source"].rsplit("/", 1)[-1] for r in results] == [
        "shopify_products.json#0",
        "shopify_products.json#1",
        "shopify_product.js",
    ]
    assert results[2]["method"] == "shopify" and results[2]["product"]["price"] == "89.00"


def test_json_format_is_one_array() -> None:
    result = CliRunner().invoke(
        main, ["extract", str(FIXTURES / "og_only.html"), "--format", "json"]
    )
    assert result.exit_code == 0
    parsed = json.loads(result.stdout)
    assert isinstance(parsed, list) and parsed[0]["ok"] is True


def test_bad_selector_is_a_usage_error() -> None:
    result = CliRunner().invoke(
        main, ["extract", str(FIXTURES / "og_only.html"), "--selector", "price=div[["]
    )
    assert result.exit_code == 2
    result = CliRunner().invoke(
        main, ["extract", str(FIXTURES / "price_text_only.html"), "--selector", "sku=h1::text"]
    )
    assert json.loads(result.stdout)["product"]["sku"] == "Merino Crew Neck"


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def do_GET(self) -> None:
        status, headers, body = self.routes.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the client hanging up mid-body (the 5 MB cap) is the point of that route


@pytest.fixture
def local_shop(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    latin1 = (FIXTURES / "latin1.html").read_bytes()
    _Handler.routes = {
        "/p/jupe": (200, {"Content-Type": "text/html; charset=iso-8859-1"}, latin1),
        "/old": (301, {"Location": "/p/jupe"}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
        "/products/aria.js": (
            200,
            {"Content-Type": "application/javascript"},
            (FIXTURES / "shopify_product.js").read_bytes(),
        ),
        "/big": (200, {"Content-Type": "text/html"}, b"<p>" + b"x" * (5 * 1024 * 1024 + 10)),
    }
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_url_inputs_over_http(local_shop: str) -> None:
    code, results = run(
        f"{local_shop}/old",
        f"{local_shop}/products/aria.js",
        f"{local_shop}/missing",
        f"{local_shop}/loop",
        f"{local_shop}/big",
    )
    assert code == 1
    for result in results:
        check_schema(result)
    jupe, aria, missing, loop, big = results
    assert jupe["ok"] and jupe["product"]["name"] == "Jupe plissée midi"
    assert jupe["product"]["images"] == [f"{local_shop}/photos/jupe-plissee-midi-bordeaux.jpg"]
    assert aria["ok"] and aria["product"]["sku"] == "ARIA-BLK-S"
    assert missing["error"]["code"] == "http_error"
    assert loop["error"]["code"] == "too_many_redirects"
    assert big["error"]["code"] == "payload_too_large"
