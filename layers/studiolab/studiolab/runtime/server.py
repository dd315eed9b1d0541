"""The local server of `studiolab up`: one process serving the Chalice API (through Chalice's
LocalGateway, so routes are the same as on API Gateway), the static UI, and signed blob URLs;
plus the worker threads of the durable job table.

One thread per connection reads requests and writes replies (socket waits, GIL released), but
at most `api_concurrency` of them run the API app at a time, admitted first come first served
(FifoGate). The app is CPU work under one GIL: 50 connection threads all inside it hand the
GIL around in no particular order, so every request is slower and the unlucky ones much
slower (items list, 50 back-to-back clients, medians of 3 runs: p95 70 ms at 1,290 req/s;
behind a 4-slot gate 40 ms at 1,550 req/s - bench/results/api-list.md)."""

from __future__ import annotations

import collections
import email.utils
import json
import logging
import mimetypes
import shutil
import threading
import time
from collections.abc import Collection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from studiolab.domain.errors import InvalidInput, NotFound, PayloadTooLarge, StudiolabError
from studiolab.runtime.wiring import REPO_ROOT, load_module

log = logging.getLogger(__name__)

API_APP_PATH = REPO_ROOT / "functions" / "api" / "app.py"
DEFAULT_WEB_DIR = REPO_ROOT / "web"
API_PREFIXES = ("/v1/", "/health", "/openapi.json", "/docs")
MAX_API_BODY = 1024 * 1024


def load_api_app(path: Path = API_APP_PATH) -> Any:
    """Import functions/api/app.py (a Chalice project, not a package) and return `app`."""
    return load_module(path).app


class FifoGate:
    """At most `slots` holders at once; the others wait and are let in in arrival order (a
    leaving holder hands its slot straight to the longest waiter, so a newcomer cannot
    overtake it, unlike a Semaphore)."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a gate needs at least one slot")
        self._free = slots
        self._lock = threading.Lock()
        self._waiters: collections.deque[threading.Lock] = collections.deque()

    def __enter__(self) -> None:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        turn.acquire()  # released by the holder that hands us its slot

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._free += 1


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # listen() backlog: socketserver's default of 5 drops the SYNs of a burst of new
    # connections (a browser opening several, 50 clients starting at once) into 1 s retries
    request_queue_size = 128

    def __init__(self, host: str, port: int) -> None:
        super().__init__((host, port), RequestHandler)
        self.gateway: Any = None
        self.api_routes: Any = {}
        self.blobs: Any = None
        self.web_dir: Path = DEFAULT_WEB_DIR
        self.max_upload_bytes = 50 * 1024 * 1024
        self.api_gate = FifoGate(1)  # until attach() sets the configured size

    def attach(
        self,
        *,
        api_app: Any,
        blobs: Any,
        web_dir: Path,
        max_upload_bytes: int,
        api_concurrency: int,
    ) -> None:
        from chalice.config import Config
        from chalice.local import LocalGateway

        self.gateway = LocalGateway(api_app, Config.create())
        self.api_routes = api_app.routes
        self.blobs = blobs
        self.web_dir = web_dir
        self.max_upload_bytes = max_upload_bytes
        self.api_gate = FifoGate(api_concurrency)


class RequestHandler(BaseHTTPRequestHandler):
    server: LocalServer
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: a reply is sent when it is written (in one write, see _send), never held
    # back by Nagle's algorithm waiting for the client's (delayed) ACK of the previous one.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        if log.isEnabledFor(logging.INFO):  # called for every reply: format only if logged
            log.info("%s %s", self.address_string(), format % args)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header, formatted once per second (the same text http.server writes)."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        global _date_cache
        second = int(time.time())
        cached = _date_cache
        if cached[0] != second:
            cached = _date_cache = (second, email.utils.formatdate(second, usegmt=True))
        return cached[1]

    # -- dispatch -----------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        try:
            if path.startswith("/blobs/"):
                self._blob(method)
            elif path.startswith(API_PREFIXES):
                self._api(method)
            elif method in ("GET", "HEAD"):
                self._static(path, head=method == "HEAD")
            else:
                raise NotFound(f"no route for {method} {path}")
        except StudiolabError as error:
            self.close_connection = True  # the request body may be unread
            self._json(error.http_status, {"error": error.to_dict()})
        except Exception:
            log.exception("unhandled error on %s %s", method, self.path)
            self.close_connection = True
            self._json(500, {"error": {"code": "internal", "message": "internal error"}})

    # -- API through Chalice's LocalGateway --------------------------------------------
    def _api(self, method: str) -> None:
        from chalice.local import ForbiddenError, LocalGatewayException

        from studiolab.runtime.wiring import get_context

        headers = {key.lower(): value for key, value in self.headers.items()}
        origins = get_context().settings.cors_origin_set
        try:
            length = self._content_length()
            if length > MAX_API_BODY:
                raise PayloadTooLarge(f"request body over {MAX_API_BODY} bytes")
        except StudiolabError as error:
            self.close_connection = True  # the request body is left unread
            self._refuse(error, headers, origins)
            return
        body = self.rfile.read(length) if length else None
        if method == "OPTIONS":  # CORS preflight: LocalGateway would short-circuit it
            from studiolab.api.cors import preflight

            answer = preflight(self.server.api_routes, self.path, headers, origins)
            if answer is not None:
                self._send(answer[0], answer[1], b"")
                return
        try:
            with self.server.api_gate:
                response = self.server.gateway.handle_request(method, self.path, headers, body)
        except ForbiddenError:
            # LocalGateway's "Missing Authentication Token" 403: no route at this path (as
            # API Gateway says it; the stack maps it to the same 404 there)
            path = urlsplit(self.path).path
            self._refuse(NotFound(f"no route for {method} {path}"), headers, origins)
            return
        except LocalGatewayException as error:
            self._send(error.CODE, dict(error.headers), error.body or b"")
            return
        payload = response["body"]
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        self._send(response["statusCode"], response["headers"], payload or b"")

    def _refuse(
        self, error: StudiolabError, headers: dict[str, str], origins: Collection[str]
    ) -> None:
        """An error answered here, outside the Chalice app (and its CORS middleware): the
        reply carries the CORS headers itself, so a browser on a listed origin can read it
        instead of reporting an opaque CORS failure."""
        from studiolab.api.cors import cors_headers

        document = json.dumps({"error": error.to_dict()}).encode("utf-8")
        reply_headers = {"Content-Type": "application/json"}
        self._send(error.http_status, reply_headers | cors_headers(origins, headers), document)

    # -- signed blob URLs --------------------------------------------------------------
    def _blob(self, method: str) -> None:
        blobs = self.server.blobs
        key, query = blobs.signer.parse_target(self.path)
        if method in ("GET", "HEAD"):
            info, chunks, headers = blobs.open_signed_get(key, query)
            with chunks:
                self.send_response(200)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if method == "GET":
                    for chunk in chunks:
                        self.wfile.write(chunk)
        elif method == "PUT":
            info = blobs.accept_signed_put(
                key,
                query,
                self.rfile,
                self._content_length(),
                self.server.max_upload_bytes,
                self.headers.get("Content-Type"),
            )
            self._send(200, {"ETag": info.etag}, b"")
        else:
            raise NotFound(f"{method} is not allowed on signed blob URLs")

    # -- static UI ---------------------------------------------------------------------
    def _static(self, path: str, *, head: bool) -> None:
        root = self.server.web_dir.resolve()
        relative = unquote(path).lstrip("/") or "index.html"
        target = (root / relative).resolve()
        if target.is_dir():
            target = target / "index.html"
        if relative == "config.json" and not target.is_file():
            # The UI reads config.json where it is hosted apart from the API (CloudFront);
            # served here from the same origin, it needs none.
            self._json(200, {})
            return
        if not target.is_relative_to(root) or not target.is_file():
            raise NotFound(f"no such page: {path}")
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(target.stat().st_size))
        self.end_headers()
        if not head:
            with target.open("rb") as handle:
                shutil.copyfileobj(handle, self.wfile)

    # -- helpers -------------------------------------------------------------------------
    def _content_length(self) -> int:
        raw = self.headers.get("Content-Length", "0") or "0"
        try:
            length = int(raw)
        except ValueError:
            raise InvalidInput(f"bad Content-Length {raw!r}") from None
        if length < 0:
            raise InvalidInput(f"bad Content-Length {raw!r}")
        return length

    def _json(self, status: int, document: object) -> None:
        body = json.dumps(document).encode("utf-8")
        self._send(status, {"Content-Type": "application/json"}, body)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        """Status line, headers and body in one socket write (one sendall, not two)."""
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        buffer: list[bytes] | None = getattr(self, "_headers_buffer", None)
        if self.command == "HEAD" or not body or buffer is None:  # buffer: None on HTTP/0.9
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)
            return
        buffer += (b"\r\n", body)
        data = b"".join(buffer)
        buffer.clear()
        self.wfile.write(data)


_date_cache: tuple[int, str] = (0, "")
