"""The `studiolab` command. Later issues add `palette`, `extract`, `crawl`, `demo-shop`."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from types import FrameType

import click

from studiolab import __version__
from studiolab.domain.errors import StudiolabError
from studiolab.runtime.cli_crawl import crawl_command
from studiolab.runtime.cli_demo_shop import demo_shop
from studiolab.runtime.cli_extract import extract_command
from studiolab.runtime.cli_palette import palette
from studiolab.runtime.settings import load_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """studiolab: clean, labelled garment images from fashion shops."""


@main.command()
def version() -> None:
    """Print the version."""
    click.echo(f"studiolab {__version__}")


@main.command()
@click.option("--host", default=None, help="Interface to bind [env STUDIOLAB_HOST, 127.0.0.1].")
@click.option(
    "--port", type=int, default=None, help="Port, 0 = any free [env STUDIOLAB_PORT, 8000]."
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the catalog and blobs live [env STUDIOLAB_DATA_DIR, ./.studiolab].",
)
@click.option("--workers", type=int, default=None, help="Job worker threads [2].")
@click.option("--demo", is_flag=True, help="Also run the demo shop; seed a demo project/crawler.")
def up(
    host: str | None, port: int | None, data_dir: Path | None, workers: int | None, demo: bool
) -> None:
    """Run the whole stack locally: API, UI, signed blob URLs and job workers."""
    from studiolab.demo import DemoShop
    from studiolab.runtime import demo_seed
    from studiolab.runtime.local_stack import LocalStack

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    shop: DemoShop | None = None
    try:
        settings = load_settings(
            mode="local", host=host, port=port, data_dir=data_dir, workers=workers
        )
        shop = demo_seed.start_demo() if demo else None
        if shop is not None:
            settings = demo_seed.allow_demo_host(settings, shop)
        stack = LocalStack(settings)
        url = stack.start()
        if shop is not None:
            try:
                demo_seed.seed_demo(stack.context, shop.url)
            except BaseException:
                stack.stop()
                raise
            click.echo(f"demo shop at {shop.url}  (project {demo_seed.DEMO_PROJECT!r})")
    except (StudiolabError, OSError) as error:
        if shop is not None:
            shop.stop()
        click.echo(f"error: {getattr(error, 'message', error)}", err=True)
        sys.exit(2)

    def _terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    click.echo(
        f"studiolab is up at {url}  (data: {settings.data_dir.resolve()}; Ctrl-C stops)",
    )
    sys.stdout.flush()
    try:
        stack.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopping...")
    finally:
        stack.stop()
        if shop is not None:
            shop.stop()
    click.echo("stopped")


main.add_command(palette)
main.add_command(demo_shop)
main.add_command(extract_command)
main.add_command(crawl_command)
