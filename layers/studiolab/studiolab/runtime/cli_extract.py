"""`studiolab extract URL|FILE...`: the product on each page, one JSON result per input.

FILE is a saved HTML page, or a Shopify storefront document (`/products/<handle>.js`,
`/products.json`: one result per product, source `FILE#<index>`). URL is fetched with one
plain GET (the polite crawler fetcher lives in `crawl/fetch.py`; this one is for trying a page
by hand). Results, in input order:

    {"source": ..., "ok": true, "method": "jsonld+og", "product": {12 keys, missing = null}}
    {"source": ..., "ok": false, "error": {"code": ..., "message": ...}}

Exit code 1 when any input failed (including "no_product": nothing product-like found), 2 for
bad options (invalid selectors)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from studiolab import __version__
from studiolab.domain.errors import StudiolabError

MAX_BYTES = 5 * 1024 * 1024
MAX_FILE_BYTES = 50 * 1024 * 1024
TIMEOUT_S = 10.0
TOTAL_S = 30.0
MAX_REDIRECTS = 5
USER_AGENT = f"studiolab-extract/{__version__} (+https://github.com/studiolab)"
NO_PRODUCT = (
    "no product data found (tried Shopify JSON, JSON-LD, microdata, Open Graph, embedded "
    "state, heuristics)"
)


class InputError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Fetched:
    body: bytes
    url: str  # after redirects
    content_type: str | None
    charset: str | None


def fetch(url: str) -> Fetched:
    """One GET: 10 s connect/read timeouts, 30 s in total, ≤ 5 redirects, ≤ 5 MB body."""
    import httpx

    deadline = time.monotonic() + TOTAL_S
    try:
        with (
            httpx.Client(
                timeout=httpx.Timeout(TIMEOUT_S),
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                headers={"User-Agent": USER_AGENT, "Accept": "text/html,application/json;q=0.9"},
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise InputError("http_error", f"HTTP {response.status_code} for {url}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BYTES:
                raise InputError("payload_too_large", f"{declared} bytes > {MAX_BYTES} allowed")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise InputError("payload_too_large", f"body over {MAX_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise InputError("timeout", f"no complete response within {TOTAL_S:.0f} s")
                chunks.append(chunk)
            return Fetched(
                body=b"".join(chunks),
                url=str(response.url),
                content_type=response.headers.get("content-type"),
                charset=response.charset_encoding,
            )
    except httpx.TooManyRedirects:
        raise InputError("too_many_redirects", f"more than {MAX_REDIRECTS} redirects") from None
    except httpx.TimeoutException as error:
        raise InputError("timeout", f"{type(error).__name__}: {url}") from None
    except httpx.InvalidURL as error:
        raise InputError("invalid_url", str(error)) from None
    except httpx.HTTPError as error:
        raise InputError("fetch_error", f"{type(error).__name__}: {error}") from None


def _looks_json(body: bytes, name: str, content_type: str | None) -> bool:
    if name.lower().endswith((".json", ".js")) or "json" in (content_type or "").lower():
        return True
    return body.lstrip()[:1] in (b"{", b"[")


def _ok(source: str, extraction: Any) -> dict[str, Any]:
    if not extraction.ok:
        return failure(source, "no_product", NO_PRODUCT)
    return {
        "source": source,
        "ok": True,
        "method": extraction.method,
        "product": extraction.product.output(),
    }


def failure(source: str, code: str, message: str) -> dict[str, Any]:
    return {"source": source, "ok": False, "error": {"code": code, "message": message}}


def _results(
    source: str,
    body: bytes,
    url: str,
    *,
    content_type: str | None,
    charset: str | None,
    selectors: dict[str, str],
) -> Iterator[dict[str, Any]]:
    from studiolab.crawl.extract import extract, extract_shopify

    if _looks_json(body, url.split("?")[0], content_type):
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if doc is not None:
            found = extract_shopify(doc, url)
            if isinstance(found, list):
                if not found:
                    yield failure(source, "no_product", "a products.json without products")
                for index, extraction in enumerate(found):
                    yield _ok(f"{source}#{index}", extraction)
                return
            if found.ok:
                yield _ok(source, found)
                return
            if body.lstrip()[:1] in (b"{", b"["):
                yield failure(source, "no_product", "JSON, but not a Shopify product document")
                return
    yield _ok(source, extract(body, url, selectors=selectors or None, encoding=charset))


def process(
    source: str, original_url: str | None, selectors: dict[str, str]
) -> Iterator[dict[str, Any]]:
    """All results of one input; never raises."""
    try:
        if source.startswith(("http://", "https://")):
            fetched = fetch(source)
            yield from _results(
                source,
                fetched.body,
                fetched.url,
                content_type=fetched.content_type,
                charset=fetched.charset,
                selectors=selectors,
            )
            return
        path = Path(source)
        if not path.is_file():
            raise InputError("not_found", f"no such file: {source}")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError("payload_too_large", f"file over {MAX_FILE_BYTES} bytes: {source}")
        body = path.read_bytes()
        url = original_url or path.resolve().as_uri()
        yield from _results(source, body, url, content_type=None, charset=None, selectors=selectors)
    except InputError as error:
        yield failure(source, error.code, error.message)
    except OSError as error:
        yield failure(source, "unreadable", f"{error.strerror or error}: {source}")
    except StudiolabError as error:
        yield failure(source, error.code, error.message)
    except Exception as error:  # one bad input never stops the batch
        yield failure(source, "internal", f"{type(error).__name__}: {error}")


def _parse_selectors(values: tuple[str, ...]) -> dict[str, str]:
    from studiolab.crawl.extract import validate_selectors

    pairs: dict[str, str] = {}
    for value in values:
        key, sep, query = value.partition("=")
        if not sep:
            raise click.BadParameter(
                f"expected KEY=SELECTOR, got {value!r}", param_hint="--selector"
            )
        pairs[key.strip()] = query.strip()
    try:
        return validate_selectors(pairs)
    except StudiolabError as error:
        raise click.BadParameter(
            "; ".join(f"{k}: {v}" for k, v in error.fields.items()) or error.message,
            param_hint="--selector",
        ) from None


@click.command("extract")
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--url",
    "original_url",
    default=None,
    help="The page's original URL, for FILE inputs (resolves relative links, picks variants).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["jsonl", "json"]),
    default="jsonl",
    show_default=True,
)
@click.option(
    "--selector",
    "selector_options",
    multiple=True,
    metavar="KEY=CSS",
    help="Per-crawler selector (name, price, sku, image, ...); `xpath:` prefix for XPath.",
)
def extract_command(
    inputs: tuple[str, ...],
    original_url: str | None,
    output_format: str,
    selector_options: tuple[str, ...],
) -> None:
    """The product on pages (URLs or saved HTML / Shopify JSON files), as JSON."""
    selectors = _parse_selectors(selector_options)
    collected: list[dict[str, Any]] = []
    failed = False
    for source in inputs:
        for result in process(source, original_url, selectors):
            failed = failed or not result["ok"]
            if output_format == "jsonl":
                click.echo(json.dumps(result, ensure_ascii=False))
            else:
                collected.append(result)
    if output_format == "json":
        click.echo(json.dumps(collected, indent=2, ensure_ascii=False))
    if failed:
        sys.exit(1)
