"""`studiolab palette PATH...`: garment colours of image files, one result per file.

One bad file never stops the batch: it gets `{"ok": false, "error": {...}}` and the exit code
becomes 1. A missing model stops before the first file (exit 2) and names the set-up step."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import click

from studiolab.domain.errors import StudiolabError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
FORMATS = ("jsonl", "json", "csv", "table")
CSV_FIELDS = (
    "path",
    "ok",
    "width",
    "height",
    "model",
    "garment_fraction",
    "rank",
    "hex",
    "fraction",
    "name",
    "basic",
    "delta_e",
    "error_code",
    "error_message",
)


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders expand (recursively, sorted) to their image files."""
    expanded: list[Path] = []
    for path in paths:
        if path.is_dir():
            expanded.extend(
                sorted(
                    p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                )
            )
        else:
            expanded.append(path)
    return expanded


def failure(path: Path, code: str, message: str) -> dict[str, Any]:
    return {"path": str(path), "ok": False, "error": {"code": code, "message": message}}


class Explainer:
    """Writes each image's per-colour masks and overview sheet into a folder."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder

    def write(self, index: int, path: Path, analysis: Any) -> None:
        from studiolab.vision.explain import colour_masks, mask_png, overview_sheet

        stem = f"{index:04d}-{path.stem}"  # the index keeps same-named files apart
        rgba = analysis.cutout.rgba
        masks = colour_masks(rgba[..., :3], analysis.mask, analysis.palette)
        for rank, mask in enumerate(masks):
            (self.folder / f"{stem}.color{rank}.png").write_bytes(mask_png(mask))
        overview_sheet(rgba, analysis.palette, masks).save(self.folder / f"{stem}.overview.png")


def analyse_file(
    index: int, path: Path, *, model: str, max_colors: int, explainer: Explainer | None
) -> dict[str, Any]:
    from studiolab.vision.analyse import analyse_image

    try:
        data = path.read_bytes()
    except OSError as error:
        return failure(path, "unreadable", f"{error.strerror or error}: {path}")
    try:
        analysis = analyse_image(data, model=model, max_colors=max_colors, detect_people=True)
        if explainer is not None:
            explainer.write(index, path, analysis)
    except StudiolabError as error:
        return failure(path, error.code, error.message)
    except Exception as error:  # one bad file never stops the batch
        return failure(path, "internal", f"{type(error).__name__}: {error}")
    return analysis.to_result(str(path))


def csv_rows(result: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if not result["ok"]:
        yield {
            "path": result["path"],
            "ok": False,
            "error_code": result["error"]["code"],
            "error_message": result["error"]["message"],
        }
        return
    base = {
        key: result[key] for key in ("path", "ok", "width", "height", "model", "garment_fraction")
    }
    for rank, color in enumerate(result["colors"]):
        yield {
            **base,
            "rank": rank,
            **{key: color[key] for key in ("hex", "fraction", "name", "basic", "delta_e")},
        }


def table_line(result: dict[str, Any]) -> str:
    if not result["ok"]:
        return f"{result['path']}  FAILED {result['error']['code']}: {result['error']['message']}"
    colours = "  ".join(
        f"{c['hex']} {c['name']} ({c['basic']}) {c['fraction'] * 100:.0f}%"
        for c in result["colors"]
    )
    return (
        f"{result['path']}  {result['width']}x{result['height']}  "
        f"garment {result['garment_fraction'] * 100:.0f}%  {colours}"
    )


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--model",
    type=click.Choice(["u2netp", "u2net", "grabcut", "none"]),
    default="u2netp",
    show_default=True,
    help="Background removal.",
)
@click.option("--max-colors", type=click.IntRange(1, 12), default=5, show_default=True)
@click.option(
    "--format", "output_format", type=click.Choice(FORMATS), default="jsonl", show_default=True
)
@click.option(
    "--explain",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write per-colour masks and an overview sheet per image into this folder.",
)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
def palette(
    paths: tuple[Path, ...],
    model: str,
    max_colors: int,
    output_format: str,
    explain: Path | None,
    workers: int,
) -> None:
    """Garment colours of images (files or folders)."""
    from tqdm import tqdm

    from studiolab.vision.segment import get_segmenter

    try:
        get_segmenter(model)
    except StudiolabError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(2)
    files = expand(paths)
    explainer = Explainer(explain) if explain else None
    writer = csv.DictWriter(sys.stdout, fieldnames=CSV_FIELDS) if output_format == "csv" else None
    if writer:
        writer.writeheader()
    collected: list[dict[str, Any]] = []
    failed = 0
    with (
        ThreadPoolExecutor(max_workers=workers) as pool,
        tqdm(
            total=len(files), unit="img", disable=None if len(files) > 1 else True, file=sys.stderr
        ) as progress,
    ):
        results = pool.map(
            lambda job: analyse_file(
                job[0], job[1], model=model, max_colors=max_colors, explainer=explainer
            ),
            enumerate(files),
        )
        for result in results:  # in input order, streamed as they complete
            progress.update(1)
            failed += not result["ok"]
            if output_format == "jsonl":
                click.echo(json.dumps(result))
            elif writer:
                writer.writerows(csv_rows(result))
            elif output_format == "table":
                click.echo(table_line(result))
            else:
                collected.append(result)
    if output_format == "json":
        click.echo(json.dumps(collected, indent=2))
    if failed:
        click.echo(f"{failed} of {len(files)} files failed", err=True)
        sys.exit(1)
