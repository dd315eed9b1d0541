"""The demo shop's HTTP server (threaded, HTTP/1.1 keep-alive, loopback only) and its Python API.

with start_demo_shop(products=2000, crawl_delay=None) as shop:
    crawl(shop.url)
    report(politeness(shop.arrivals()))
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from studiolab.demo.arrivals import Arrival, ArrivalLog, Politeness, politeness
from studiolab.demo.catalog import Catalog, Product
from studiolab.demo.faults import FaultInjector, FaultPlan
from studiolab.demo.images import DEFAULT_SIZE, GroundTruth, ImageRenderer, truth_of
from studiolab.demo.routes import Response, ShopApp

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShopConfig:
    products: int = 240
    seed: int = 7
    host: str = "127.0.0.1"
    port: int = 0  # 0 = any free port
    faults: bool = False
    crawl_delay: float | None = 1.0  # None or 0: no Crawl-delay line in robots.txt
    page_size: int = 24  # products per listing page
    image_size: tuple[int, int] = DEFAULT_SIZE  # full-size image (width, height)
    image_quality: int = 90
    image_cache: int = 512  # rendered JPEGs kept in memory (LRU)
    slow_seconds: float = 2.0  # delay of the slow-page fault
    sitemap_chunk: int = 1000  # products per product sitemap (2nd and later are .xml.gz)
    arrivals_path: Path | None = None  # also append the arrival log to this JSONL file
    gzip: bool = True  # gzip text bodies when the client accepts it
    idle_timeout: float = 30.0  # seconds a keep-alive connection may stay idle


def loopback_host(host: str) -> str:
    """The IPv4 loopback address to bind; anything else is refused."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or address.version != 4 or not address.is_loopback:
        raise ValueError(f"the demo shop binds IPv4 loopback only (127.0.0.1), not {host!r}")
    return host


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handlers (their sockets are shut first)
    block_on_close = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], shop: DemoShop) -> None:
        self.shop = shop
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def drop_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        logger.debug("demo shop: connection %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "StudiolabDemoShop/1.0"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body are separate writes
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.shop.config.idle_timeout)
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _refuse(self) -> None:
        self.close_connection = True  # the body (if any) is not read
        self._serve(head=False)

    def do_POST(self) -> None:
        self._refuse()

    def do_PUT(self) -> None:
        self._refuse()

    def do_DELETE(self) -> None:
        self._refuse()

    def do_OPTIONS(self) -> None:
        self._refuse()

    def _serve(self, *, head: bool) -> None:
        shop = self.server.shop
        client = f"{self.client_address[0]}:{self.client_address[1]}"
        record = shop.log.start(self.command, self.path, client, self.headers.get("User-Agent", ""))
        try:
            headers = {name.lower(): value for name, value in self.headers.items()}
            response = shop.app.handle(self.command, self.path, headers)
        except Exception:
            logger.exception("demo shop: %s %s failed", self.command, self.path)
            response = Response(500, b"internal error\n", "text/plain")
        if response.delay and shop.stopping.wait(response.delay):
            response = Response(503, b"shutting down\n", "text/plain")
            self.close_connection = True
        # Logged before the answer leaves: a client never sees a reply whose arrival lacks it.
        shop.log.finish(record, response.status)
        self._write(response, head=head)

    def _write(self, response: Response, *, head: bool) -> None:
        self.send_response(response.status)
        for name, value in response.header_items():
            self.send_header(name, value)
        if response.status == 304:
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("demo shop %s: " + format, self.client_address[0], *args)


class DemoShop:
    """A running (or ready) demo shop. Use `start_demo_shop` or `DemoShop(config).start()`."""

    def __init__(self, config: ShopConfig | None = None) -> None:
        self.config = config = config or ShopConfig()
        self.host = loopback_host(config.host)
        self.catalog = Catalog(config.products, config.seed)
        self.fault_plan = FaultPlan.build(self.catalog, config.seed, config.slow_seconds)
        self.injector = FaultInjector(self.fault_plan, enabled=config.faults)
        self.renderer = ImageRenderer(config.image_size, config.image_cache, config.image_quality)
        self.log = ArrivalLog(config.arrivals_path)
        self.stopping = threading.Event()
        self._server = _Server((self.host, config.port), self)
        self.port: int = self._server.server_address[1]
        self.url = f"http://{self.host}:{self.port}"
        self.app = ShopApp(
            self.catalog,
            self.renderer,
            self.injector,
            base=self.url,
            crawl_delay=config.crawl_delay,
            page_size=config.page_size,
            sitemap_chunk=config.sitemap_chunk,
            compress=config.gzip,
        )
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> DemoShop:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"demo-shop-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and wait for the handler threads (idempotent)."""
        if self._stopped.is_set():
            return
        self.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
        self._server.drop_connections()
        self._server.server_close()
        self.log.close()
        self._stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the shop is stopped (True) or `timeout` passes (False)."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> DemoShop:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what tests and benchmarks need --------------------------------------------------------
    def arrivals(self) -> list[Arrival]:
        """Every request so far, in arrival order (in-flight ones have status None)."""
        return self.log.snapshot()

    def clear_arrivals(self) -> None:
        self.log.clear()

    def politeness(self, window: float = 1.0) -> Politeness:
        """Request rate as the shop saw it: most arrivals per `window` s, smallest gap."""
        return politeness(self.log.snapshot(), window)

    @property
    def faults(self) -> FaultPlan | None:
        """The injected faults, or None when fault injection is off."""
        return self.fault_plan if self.config.faults else None

    def products(self) -> list[Product]:
        return list(self.catalog)

    def product(self, handle: str) -> Product:
        product = self.catalog.get(handle)
        if product is None:
            raise KeyError(handle)
        return product

    def product_urls(self) -> list[str]:
        return [self.url + product.path() for product in self.catalog]

    def ground_truth(self, handle: str) -> GroundTruth:
        return truth_of(self.product(handle))

    def expected(self, handle: str) -> dict[str, object]:
        """The fields a generic extractor should find on the product page."""
        return self.product(handle).expected(self.url)

    def touch(self, handle: str, *, price: str | None = None) -> Product:
        """Change a product (new updated_at, ETag and optionally price) for re-crawl tests."""
        self.product(handle)
        return self.catalog.touch(handle, price=price)


def start_demo_shop(
    products: int = 240,
    *,
    seed: int = 7,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: bool = False,
    crawl_delay: float | None = 1.0,
    page_size: int = 24,
    image_size: tuple[int, int] = DEFAULT_SIZE,
    slow_seconds: float = 2.0,
    sitemap_chunk: int = 1000,
    arrivals_path: Path | None = None,
    image_cache: int = 512,
    gzip: bool = True,
) -> DemoShop:
    """Start a demo shop in a background thread; stop it with `.stop()` or a `with` block."""
    config = ShopConfig(
        products=products,
        seed=seed,
        host=host,
        port=port,
        faults=faults,
        crawl_delay=crawl_delay,
        page_size=page_size,
        image_size=image_size,
        slow_seconds=slow_seconds,
        sitemap_chunk=sitemap_chunk,
        arrivals_path=arrivals_path,
        image_cache=image_cache,
        gzip=gzip,
    )
    return DemoShop(config).start()
