"""A deliberately hostile HTTP server on 127.0.0.1 for the fetcher tests.

Every endpoint is bounded (no handler runs longer than ~`MAX_HANDLER_S`, no loop is endless)
and the server shuts itself down after `max_life_s` even if a test forgets to stop it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from studiolab.crawl.fetch_types import FetchSettings

MAX_HANDLER_S = 20.0
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000105d3a3a0b0000000"
    "0049454e44ae426082"
)
HTML_OK = b"<!doctype html><html><head><title>ok</title></head><body>ok</body></html>"


@lru_cache(maxsize=1)
def gzip_bomb(size: int = 100 * 1024 * 1024) -> bytes:
    """`size` zero bytes, gzip-compressed (~100 KB for 100 MB), built in 1 MiB steps."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    parts.append(packer.flush())
    return b"".join(parts)


def gzip_bytes(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


class FakeClock:
    """Monotonic clock whose sleep just advances time (and records the sleep)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        hostile = self.server.hostile
        parts = urlsplit(self.path)
        hostile.record(parts.path, self)
        route = ROUTES.get(parts.path)
        if route is None and parts.path.startswith("/chain/"):
            route = _chain
        try:
            if route is None:
                self._send(404, b"not found", "text/plain")
            else:
                route(self, parse_qs(parts.query))
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            self.close_connection = True

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(
        self, location: str, status: int = 302, headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, b"", None, {"Location": location, **(headers or {})})


Route = Callable[[_Handler, dict[str, list[str]]], None]


def _robots(h: _Handler, q: dict[str, list[str]]) -> None:
    status, body = h.server.hostile.robots
    h._send(status, body.encode(), "text/plain")


def _page(h: _Handler, q: dict[str, list[str]]) -> None:
    headers = {"ETag": '"v1"', "Last-Modified": "Wed, 01 Oct 2025 10:00:00 GMT"}
    if h.headers.get("If-None-Match") == '"v1"':
        h._send(304, b"", None, headers)
        return
    h._send(200, HTML_OK, headers=headers)


def _slow_drip(h: _Handler, q: dict[str, list[str]]) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.send_header("Content-Length", "100")
    h.end_headers()
    interval = h.server.hostile.drip_interval_s
    for _ in range(min(100, int(MAX_HANDLER_S / interval))):
        h.wfile.write(b"x")
        h.wfile.flush()
        time.sleep(interval)


def _endless(h: _Handler, q: dict[str, list[str]]) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.send_header("Connection", "close")
    h.end_headers()
    block = b"<p>" + b"a" * (64 * 1024 - 7) + b"</p>\n"
    stop = time.monotonic() + MAX_HANDLER_S
    for _ in range(4096):  # at most 256 MB, and at most MAX_HANDLER_S
        if time.monotonic() > stop:
            break
        h.wfile.write(block)
    h.close_connection = True


def _declared_length(length: int) -> Route:
    def route(h: _Handler, q: dict[str, list[str]]) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", str(length))
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(b"<html>short</html>" * 5)
        h.close_connection = True

    return route


def _chain(h: _Handler, q: dict[str, list[str]]) -> None:
    step = int(h.path.split("?")[0].rsplit("/", 1)[1])
    if step >= 20:
        h._send(200, HTML_OK)
    else:
        h._redirect(f"/chain/{step + 1}", 301 if step % 2 else 302)


def _status(status: int, **headers: str) -> Route:
    def route(h: _Handler, q: dict[str, list[str]]) -> None:
        h._send(status, f"<h1>{status}</h1>".encode(), headers=headers)

    return route


def _flaky(h: _Handler, q: dict[str, list[str]]) -> None:
    key = q.get("id", ["flaky"])[0]
    if h.server.hostile.bump(key) <= int(q.get("fail", ["1"])[0]):
        h._send(500, b"<h1>oops</h1>")
    else:
        h._send(200, HTML_OK)


def _static(body: bytes, content_type: str | None, **headers: str) -> Route:
    def route(h: _Handler, q: dict[str, list[str]]) -> None:
        h._send(200, body, content_type, headers)

    return route


def _slow_headers(h: _Handler, q: dict[str, list[str]]) -> None:
    time.sleep(h.server.hostile.slow_headers_s)
    h._send(200, HTML_OK)


def _cookie_bounce(h: _Handler, q: dict[str, list[str]]) -> None:
    if "seen=1" in (h.headers.get("Cookie") or ""):
        h._send(200, HTML_OK)
    else:
        h._redirect("/cookie-set")


def _tracked(h: _Handler, q: dict[str, list[str]]) -> None:
    if q:  # strips its tracking parameters with a redirect, like many shops do
        h._redirect("/tracked", 301)
    else:
        h._send(200, HTML_OK)


def _host_echo(h: _Handler, q: dict[str, list[str]]) -> None:
    h._send(200, (h.headers.get("Host") or "").encode(), "text/plain")


LATIN1_HTML = "<html><body><p>Caf\u00e9 \u2013 d\u00e9j\u00e0 vu, 20 \u20ac</p></body></html>"

ROUTES: dict[str, Route] = {
    "/robots.txt": _robots,
    "/page": _page,
    "/page2": _page,
    "/page3": _page,
    "/slow-drip": _slow_drip,
    "/endless": _endless,
    "/huge-length": _declared_length(10**12),
    "/short-body": _declared_length(5000),
    "/loop/a": lambda h, q: h._redirect("/loop/b"),
    "/loop/b": lambda h, q: h._redirect("/loop/a", 301),
    "/to-metadata": lambda h, q: h._redirect("http://169.254.169.254/latest/meta-data/"),
    "/to-private": lambda h, q: h._redirect("http://10.0.0.1/admin"),
    "/to-named": lambda h, q: h._redirect("http://internal.test/secret"),
    "/to-ftp": lambda h, q: h._redirect("ftp://127.0.0.1/file"),
    "/to-host": lambda h, q: h._redirect(
        f"http://{q.get('host', ['127.0.0.1'])[0]}:{h.server.server_address[1]}"
        f"{q.get('then', ['/page'])[0]}"
    ),
    "/429": _status(429, **{"Retry-After": "1"}),
    "/503-long": _status(503, **{"Retry-After": "3600"}),
    "/always-500": _status(500),
    "/404": _status(404),
    "/flaky": _flaky,
    "/slow-headers": _slow_headers,
    "/malformed": _static(
        b"<html><body><div><p>unclosed <b>bold <table><tr><td>cell</div></i>\x00\x01"
        b"<<<>>> &bogus; <script>var x = '</p>'</html",
        "text/html",
    ),
    "/broken-jsonld": _static(
        b'<html><head><script type="application/ld+json">{"@type": "Product", "name": '
        b"</script></head><body>x</body></html>",
        "text/html",
    ),
    "/html-as-image": _static(HTML_OK, "text/html"),
    "/image.png": _static(PNG_1X1, "image/png"),
    "/octet-image": _static(PNG_1X1, "application/octet-stream"),
    "/octet-text": _static(b"just some text, not pixels", "application/octet-stream"),
    "/latin1": _static(LATIN1_HTML.encode("cp1252"), "text/html; charset=iso-8859-1"),
    "/meta-charset": _static(
        b'<html><head><meta charset="windows-1252"></head>' + LATIN1_HTML.encode("cp1252"),
        "text/html",
    ),
    "/bad-utf8": _static(b"<p>ok \xff\xfe broken \xc3\x28 end</p>", "text/html; charset=utf-8"),
    "/gzip-ok": _static(gzip_bytes(HTML_OK), "text/html", **{"Content-Encoding": "gzip"}),
    "/gzip-bomb": lambda h, q: h._send(200, gzip_bomb(), "text/html", {"Content-Encoding": "gzip"}),
    "/brotli": _static(b"\x8b\x03\x80hello\x03", "text/html", **{"Content-Encoding": "br"}),
    "/json": _static(b'{"products": []}', "application/json"),
    "/sitemap.xml.gz": _static(
        gzip_bytes(b'<?xml version="1.0"?><urlset><url><loc>/p</loc></url></urlset>'),
        "application/gzip",
    ),
    "/cookie-bounce": _cookie_bounce,
    "/cookie-set": lambda h, q: h._redirect(
        "/cookie-bounce", headers={"Set-Cookie": "seen=1; Path=/"}
    ),
    "/host-echo": _host_echo,
    "/tracked": _tracked,
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hostile: HostileServer


class HostileServer:
    """Start with `running_server()`; configure `robots`, `drip_interval_s`... per test."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, tls: ssl.SSLContext | None = None
    ) -> None:
        self.clock = clock
        self.robots: tuple[int, str] = (404, "")
        self.drip_interval_s = 1.0
        self.slow_headers_s = 3.0
        self.hits: list[tuple[float, str, dict[str, str]]] = []
        self.active = 0
        self.max_active = 0
        self.hold_s = 0.0  # keep each request open this long (concurrency tests)
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.hostile = self
        if tls is not None:
            self._server.socket = tls.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self.port = self._server.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def record(self, path: str, handler: _Handler) -> None:
        with self._lock:
            self.hits.append((self.clock(), path, dict(handler.headers.items())))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        if self.hold_s:
            time.sleep(self.hold_s)
        with self._lock:
            self.active -= 1

    def bump(self, key: str) -> int:
        with self._lock:
            self._counts[key] += 1
            return self._counts[key]

    def paths(self) -> list[str]:
        with self._lock:
            return [path for _, path, _ in self.hits]

    def serve(self, max_life_s: float) -> Iterator[HostileServer]:
        thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        watchdog = threading.Timer(max_life_s, self._server.shutdown)
        watchdog.daemon = True
        watchdog.start()
        try:
            yield self
        finally:
            watchdog.cancel()
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=5)


@contextlib.contextmanager
def running_server(
    clock: Callable[[], float] = time.monotonic,
    max_life_s: float = 120.0,
    tls: ssl.SSLContext | None = None,
) -> Iterator[HostileServer]:
    yield from HostileServer(clock, tls).serve(max_life_s)


_real_getaddrinfo = socket.getaddrinfo
LOOPBACK_NAMES = {"127.0.0.1", "::1", "localhost"}


def offline_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real DNS in these tests: only loopback literals resolve; `.invalid` and every
    other name fail like NXDOMAIN (RFC 6761 says `.invalid` never resolves anyway)."""

    def fake(host: object, *args: object, **kwargs: object) -> object:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.isdigit():  # "2130706433" is 127.0.0.1 to inet_aton: convert it ourselves
            name = str(ipaddress.IPv4Address(int(name)))
        if name == "localhost":
            name = "127.0.0.1"
        if name in LOOPBACK_NAMES:
            return _real_getaddrinfo(name, *args, **kwargs)  # type: ignore[arg-type]
        raise socket.gaierror(socket.EAI_NONAME, f"Name or service not known: {name}")

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def loopback_settings(**overrides: object) -> FetchSettings:
    """Settings for tests against the hostile server: 127.0.0.1 allow-listed, no pacing,
    fast backoff, short timeouts. Override anything per test."""
    base: dict[str, object] = {
        "allow_private_hosts": ["127.0.0.1"],
        "delay_s": 0.0,
        "retries": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "connect_timeout_s": 2.0,
        "read_timeout_s": 3.0,
        "total_timeout_s": 5.0,
    }
    base.update(overrides)
    return FetchSettings.model_validate(base)
