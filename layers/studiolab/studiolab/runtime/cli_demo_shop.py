"""`studiolab demo-shop`: serve the local demo fashion shop until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType

import click


@click.command("demo-shop")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option("--port", type=int, default=8100, show_default=True, help="Port, 0 = any free.")
@click.option("--products", type=click.IntRange(1, 100_000), default=240, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Catalog and fault seed.")
@click.option(
    "--faults/--no-faults",
    default=True,
    show_default=True,
    help="Inject a few seeded 404s, 500s (some transient) and slow pages.",
)
@click.option(
    "--crawl-delay",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Crawl-delay in robots.txt (0 = no Crawl-delay line).",
)
@click.option("--page-size", type=click.IntRange(1, 250), default=24, show_default=True)
@click.option("--slow-seconds", type=click.FloatRange(min=0), default=2.0, show_default=True)
@click.option(
    "--arrivals-log",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Append every request (monotonic time, path, client, status) to this JSONL file.",
)
def demo_shop(
    host: str,
    port: int,
    products: int,
    seed: int,
    faults: bool,
    crawl_delay: float,
    page_size: int,
    slow_seconds: float,
    arrivals_log: Path | None,
) -> None:
    """Run a local fashion shop for crawler demos and tests (loopback only)."""
    from studiolab.demo.server import start_demo_shop

    try:
        shop = start_demo_shop(
            products,
            seed=seed,
            host=host,
            port=port,
            faults=faults,
            crawl_delay=crawl_delay or None,
            page_size=page_size,
            slow_seconds=slow_seconds,
            arrivals_path=arrivals_log,
        )
    except (ValueError, OSError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)

    def _terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    delay = f"crawl-delay {crawl_delay:g}s" if crawl_delay else "no crawl-delay"
    click.echo(
        f"demo shop at {shop.url}  ({products} products, seed {seed}, "
        f"faults {'on' if faults else 'off'}, {delay}; Ctrl-C stops)"
    )
    sys.stdout.flush()
    try:
        while not shop.wait(0.5):
            pass
    except KeyboardInterrupt:
        click.echo("stopping...")
    finally:
        shop.stop()
    click.echo("stopped")
