"""/docs works wherever the API is mounted: at the host root (`studiolab up`) and under the
API Gateway stage path (`https://<api>.execute-api.<region>.amazonaws.com/api/docs`).

The page's URLs are resolved here as a browser would (urljoin against the page's address) and
the OpenAPI `servers` entry as Swagger UI's client does (resolved against the document's
address, trailing slash dropped, then the operation path appended)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

import studiolab.api.docs as docs_module
from studiolab.api.docs import DEFAULT_SWAGGER_UI_URL, SWAGGER_UI_ENV, render_docs
from studiolab.runtime.local_stack import LocalStack
from studiolab.runtime.server import API_APP_PATH
from studiolab.runtime.settings import load_settings
from studiolab.runtime.wiring import AppContext

STAGE = "api"
API_HOST = "abc123defg.execute-api.eu-west-1.amazonaws.com"
CLOUDFRONT = "https://d111111abcdef8.cloudfront.net"
VENDOR = API_APP_PATH.parents[2] / "web" / "vendor" / "swagger-ui"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("href", "src"):
            if found.get(name):
                self.links.append(str(found[name]))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.scripts.append(data)


def page_urls(page_html: str) -> tuple[list[str], str]:
    """(stylesheet/script URLs, the OpenAPI document URL the Swagger UI config names)."""
    parser = _Links()
    parser.feed(page_html)
    (config,) = parser.scripts
    match = re.search(r'url: new URL\("([^"]+)", document\.baseURI\)\.href', config)
    assert match, config
    return parser.links, match.group(1)


def resolve_page(page_url: str, page_html: str) -> tuple[list[str], str]:
    links, spec = page_urls(page_html)
    return [urljoin(page_url, link) for link in links], urljoin(page_url, spec)


def operation_url(spec_url: str, document: dict[str, Any], path: str) -> str:
    """What Swagger UI's "Try it out" requests (swagger-client's buildOas3UrlWithContext)."""
    server: str = document["servers"][0]["url"]
    base = urljoin(spec_url, server).rstrip("/")
    return base + path


def proxy_event(path: str, stage: str = STAGE) -> dict[str, Any]:
    """An API Gateway REST (Lambda proxy) event for GET <path> on a stage."""
    headers = {"Host": API_HOST, "Accept": "text/html", "X-Forwarded-Proto": "https"}
    return {
        "resource": path,
        "path": path,
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "GET",
            "path": f"/{stage}{path}",
            "stage": stage,
            "domainName": API_HOST,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "203.0.113.9"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def invoke(app: Any, path: str) -> dict[str, Any]:
    reply: dict[str, Any] = app(proxy_event(path), None)
    return reply


def page_url_on_aws(event: dict[str, Any]) -> str:
    """The address the browser shows: https://<host>/<stage><resource path>."""
    context = event["requestContext"]
    return f"https://{context['domainName']}/{context['stage']}{context['resourcePath']}"


@pytest.fixture
def docs_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Re-render docs.DOCS_HTML (computed at import) under a patched environment."""
    yield monkeypatch
    monkeypatch.undo()
    importlib.reload(docs_module)


def aws_app(docs_env: pytest.MonkeyPatch, swagger_ui_url: str | None) -> Any:
    if swagger_ui_url is None:
        docs_env.delenv(SWAGGER_UI_ENV, raising=False)
    else:
        docs_env.setenv(SWAGGER_UI_ENV, swagger_ui_url)
    importlib.reload(docs_module)
    # a fresh, uncached app module (runtime.wiring.load_module caches): the re-rendered page
    spec = importlib.util.spec_from_file_location("studiolab_test_docs_app", API_APP_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def test_the_page_uses_only_page_relative_urls_by_default() -> None:
    links, spec = page_urls(render_docs())
    assert spec == "./openapi.json"
    assert links == [
        f"{DEFAULT_SWAGGER_UI_URL}/swagger-ui.css",
        f"{DEFAULT_SWAGGER_UI_URL}/swagger-ui-bundle.js",
    ]
    for url in (*links, spec):
        assert not urlsplit(url).scheme and not url.startswith("/"), url


def test_an_explicit_asset_url_is_escaped() -> None:
    links, _ = page_urls(render_docs('https://cdn.example/x"><script>'))
    assert links[0] == 'https://cdn.example/x"><script>/swagger-ui.css'  # one attribute value
    assert "<script>/" not in render_docs('https://cdn.example/x"><script>')


def test_on_api_gateway_the_page_and_the_document_resolve_under_the_stage(
    ctx: AppContext, docs_env: pytest.MonkeyPatch
) -> None:
    app = aws_app(docs_env, f"{CLOUDFRONT}/vendor/swagger-ui/")  # trailing slash tolerated
    event = proxy_event("/docs")
    reply = app(event, None)
    assert reply["statusCode"] == 200
    assert reply["headers"]["Content-Type"].startswith("text/html")
    page = page_url_on_aws(event)
    assert page == f"https://{API_HOST}/api/docs"

    assets, spec_url = resolve_page(page, reply["body"])
    assert spec_url == f"https://{API_HOST}/api/openapi.json"
    # the Swagger UI files come from the web UI's CloudFront distribution (CDK sets the env)
    assert assets == [
        f"{CLOUDFRONT}/vendor/swagger-ui/swagger-ui.css",
        f"{CLOUDFRONT}/vendor/swagger-ui/swagger-ui-bundle.js",
    ]
    for asset in assets:
        assert (VENDOR / urlsplit(asset).path.rsplit("/", 1)[-1]).is_file()

    # the document the page loads, through the same stage; "Try it out" stays under /api/
    spec_event = proxy_event(urlsplit(spec_url).path.removeprefix(f"/{STAGE}"))
    assert spec_event["requestContext"]["resourcePath"] == "/openapi.json"
    spec_reply = app(spec_event, None)
    assert spec_reply["statusCode"] == 200
    document = json.loads(spec_reply["body"])
    assert operation_url(spec_url, document, "/v1/projects") == (
        f"https://{API_HOST}/api/v1/projects"
    )
    assert operation_url(spec_url, document, "/health") == f"https://{API_HOST}/api/health"


def test_without_the_cdk_setting_every_link_stays_under_the_stage(
    ctx: AppContext, docs_env: pytest.MonkeyPatch
) -> None:
    app = aws_app(docs_env, None)
    event = proxy_event("/docs")
    reply = app(event, None)
    assert reply["statusCode"] == 200
    assets, spec_url = resolve_page(page_url_on_aws(event), reply["body"])
    for url in (*assets, spec_url):
        assert url.startswith(f"https://{API_HOST}/api/"), url
    assert spec_url == f"https://{API_HOST}/api/openapi.json"


def test_locally_the_page_its_files_and_try_it_out_resolve_at_the_root(tmp_path: Path) -> None:
    """Real HTTP against `studiolab up`'s server: every URL the page names answers 200."""
    settings = load_settings(mode="local", data_dir=tmp_path / "data", port=0, workers=0)
    running = LocalStack(settings)
    base = running.start()
    running.serve_in_background()
    try:
        page = f"{base}/docs"
        with urllib.request.urlopen(page, timeout=10) as reply:
            assert reply.status == 200
            page_html = reply.read().decode()
        assets, spec_url = resolve_page(page, page_html)
        assert spec_url == f"{base}/openapi.json"
        assert [urlsplit(a).path for a in assets] == [
            "/vendor/swagger-ui/swagger-ui.css",
            "/vendor/swagger-ui/swagger-ui-bundle.js",
        ]
        for url in assets:
            with urllib.request.urlopen(url, timeout=10) as reply:
                assert reply.status == 200 and reply.read(64), url
        with urllib.request.urlopen(spec_url, timeout=10) as reply:
            document = json.loads(reply.read())
        assert operation_url(spec_url, document, "/health") == f"{base}/health"
        with urllib.request.urlopen(operation_url(spec_url, document, "/health")) as reply:
            assert json.loads(reply.read())["status"] == "ok"
    finally:
        running.stop()


def test_the_settings_accept_only_an_absolute_swagger_ui_url() -> None:
    assert load_settings(swagger_ui_url=f"{CLOUDFRONT}/vendor/swagger-ui").swagger_ui_url
    with pytest.raises(Exception, match="SWAGGER_UI_URL"):
        load_settings(swagger_ui_url="/vendor/swagger-ui")
