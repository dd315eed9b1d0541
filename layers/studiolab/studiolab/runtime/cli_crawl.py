"""`studiolab crawl URL --out DIR`: crawl one site into a folder, without the stack.

The crawl itself is runtime/site_crawl.py (`SiteCrawl`: the crawl engine over a throw-away
local catalog and blob store); this module is the click command and its progress bar.

Output:
    DIR/products.jsonl   one row per product, appended as each batch ends:
                         {"source", "ok": true, "method", "product": {the 12 `extract` keys},
                          "image_files": ["images/<name>", ...]}
    DIR/images/          the product images, named <handle>-<hash8>-<n>.<ext>

Ctrl-C ends the crawl after the current page or image (what was written stays). Exit code
0 when the crawl ran, 1 when it failed (nothing could be fetched, or an error), 130 on Ctrl-C.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from studiolab.runtime.site_crawl import PRODUCTS_FILE, CrawlOptions, CrawlSummary, SiteCrawl


class _Progress:
    """tqdm on stderr: items, rate and ETA against the expected total ("?" when unknown)."""

    def __init__(self, enabled: bool, max_items: int | None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=max_items,
            unit=" items",
            file=sys.stderr,
            disable=not enabled,
            dynamic_ncols=True,
            bar_format=_UNKNOWN_FORMAT if max_items is None else None,
        )

    def update(self, summary: CrawlSummary) -> None:
        bar = self.bar
        total = summary.expected
        if total is not None and total != bar.total:
            bar.total = max(total, summary.items)
            bar.bar_format = None
        bar.set_postfix(
            pages=summary.pages_ok,
            failed=summary.pages_failed,
            images=summary.images,
            refresh=False,
        )
        bar.update(summary.items - bar.n)

    def close(self) -> None:
        self.bar.close()


_UNKNOWN_FORMAT = "{desc}{n_fmt}/? items [{elapsed}<?, {rate_fmt}{postfix}]"


@click.command("crawl")
@click.argument("url")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for products.jsonl and images/ (products.jsonl is rewritten).",
)
@click.option(
    "--max-items", type=click.IntRange(1, 1_000_000), default=None, help="Stop after N products."
)
@click.option(
    "--max-pages", type=click.IntRange(1, 10_000_000), default=None, help="Stop after N pages."
)
@click.option(
    "--delay",
    type=click.FloatRange(0, 600),
    default=1.0,
    show_default=True,
    help="Seconds between requests to one domain (robots.txt Crawl-delay can raise it).",
)
@click.option("--concurrency", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    help="Allow a private / loopback host (e.g. 127.0.0.1 for the demo shop). Repeatable.",
)
@click.option("--no-robots", is_flag=True, help="Ignore robots.txt (and its Crawl-delay).")
@click.option("--images/--no-images", default=True, show_default=True, help="Download images.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar.")
def crawl_command(
    url: str,
    out: Path,
    max_items: int | None,
    max_pages: int | None,
    delay: float,
    concurrency: int,
    allow_hosts: tuple[str, ...],
    no_robots: bool,
    images: bool,
    progress: bool,
) -> None:
    """Crawl one site into a folder: products.jsonl (one product per line) and images/."""
    options = CrawlOptions(
        max_items=max_items,
        max_pages=max_pages,
        delay_s=delay,
        concurrency=concurrency,
        allow_hosts=allow_hosts,
        obey_robots=not no_robots,
        images=images,
    )
    try:
        site = SiteCrawl(url, out, options)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    bar = _Progress(progress, max_items)
    try:
        summary = site.run(bar.update)
    finally:
        bar.close()
    outcome = "interrupted" if summary.interrupted else ("failed" if summary.failed else "done")
    click.echo(
        f"{outcome}: {summary.items} products, {summary.images} images, "
        f"{summary.pages_ok} pages ok, {summary.pages_failed} failed in {summary.seconds:.1f} s "
        f"-> {out / PRODUCTS_FILE}",
        err=True,
    )
    if summary.error:
        click.echo(f"error: {summary.error}", err=True)
    if summary.page_failure:
        click.echo(summary.page_failure, err=True)
        if "ssrf_blocked" in summary.page_failure:
            click.echo("(a private or loopback host: --allow-host HOST opens it)", err=True)
    if summary.interrupted:
        sys.exit(130)
    sys.exit(1 if summary.failed else 0)
