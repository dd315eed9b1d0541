"""httpx transport that connects only to addresses the SSRF guard validated, and enforces a
wall-clock deadline on every socket operation.

How the pinning works (httpx 0.28 / httpcore 1.0):
- httpx's `HTTPTransport` wraps an `httpcore.ConnectionPool`; the pool opens sockets through
  a `NetworkBackend` (`connect_tcp(host, port, ...)`). `PinnedTransport` is an
  `HTTPTransport` whose pool gets `PinnedBackend` as its `network_backend`.
- `PinnedBackend.connect_tcp` resolves the host itself through `SsrfGuard.addresses_for`
  (resolve -> classify every address -> allow-list), then hands the *IP literal* to
  httpcore's stock `SyncBackend`. No other lookup happens, so the address connected to is
  the address validated (DNS rebinding cannot swap it between check and connect).
- The URL keeps the host name, so httpx still sends `Host: <name>`; for https, httpcore
  calls `start_tls(server_hostname=<origin host>)`, so SNI and certificate verification
  use the name too. Works the same for http and https, and for every redirect hop (each
  hop is a new request through the same pool).
- `trust_env=False` everywhere: an HTTP(S)_PROXY from the environment would otherwise route
  requests through a proxy that resolves names itself, bypassing the guard.
"""

from __future__ import annotations

import ssl
import time
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpcore
import httpx

from studiolab.crawl.ssrf import SsrfGuard

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)

_DEADLINE: ContextVar[float | None] = ContextVar("studiolab_fetch_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Every socket operation of this thread ends by now + seconds (a slow drip included)."""
    at = time.monotonic() + seconds
    token = _DEADLINE.set(at)
    try:
        yield at
    finally:
        _DEADLINE.reset(token)


def deadline_passed(slack_s: float = 0.05) -> bool:
    at = _DEADLINE.get()
    return at is not None and time.monotonic() >= at - slack_s


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    at = _DEADLINE.get()
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("total time limit reached")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """Clamps each read/write/handshake timeout to what is left of the current deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        clamped = _clamp(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, clamped))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class PinnedBackend(httpcore.NetworkBackend):
    """Resolve + validate with the guard, then connect to a validated IP literal only."""

    def __init__(self, guard: SsrfGuard, inner: httpcore.NetworkBackend | None = None) -> None:
        self.guard = guard
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self.guard.addresses_for(
            host, port, timeout=_clamp(timeout, httpcore.ConnectTimeout)
        )  # raises SsrfBlocked / DnsError before any socket exists
        options = list(socket_options or ())
        last: Exception | None = None
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    address,
                    port,
                    timeout=_clamp(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
                continue
            return DeadlineStream(stream)
        assert last is not None
        raise last

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the crawler")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """`httpx.HTTPTransport` whose connection pool connects through `PinnedBackend`.

    httpx 0.28 exposes no `network_backend` argument, so the pool built by the parent is
    replaced by an equivalent one (same SSL context and limits) with the pinned backend;
    `handle_request`, exception mapping and streaming stay httpx's own. httpx is pinned
    (pyproject), and tests/crawl/test_fetch_ssrf.py fails if a request bypasses the backend.
    """

    def __init__(
        self,
        guard: SsrfGuard,
        *,
        ssl_context: ssl.SSLContext,
        limits: httpx.Limits,
        inner_backend: httpcore.NetworkBackend | None = None,
    ) -> None:
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        self.backend = PinnedBackend(guard, inner_backend)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=self.backend,
        )
