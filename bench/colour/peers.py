"""The peer libraries, each called the way its README tells a user to, on OUR cut-out.

Every peer gets the same RGBA cut-out (H, W, 4 uint8) and is fed it in the form its API
takes; `prepare` is that user-side conversion (outside the timer), `extract` is the call
being compared (timed). A peer returns its colours in its own order (its "dominant" first)
with fractions where it reports them.

How each peer sees the cut-out (also printed into the results file):
- alpha-aware peers (extcolors, colorthief, colorthief-v3, fast-colorthief, Pylette) get the
  RGBA cut-out as is and drop transparent pixels by their own rule;
- peers that ignore alpha (colorgram.py, haishoku) get only the garment pixels
  (alpha >= 128) packed row by row into a square RGB image, the last row padded by
  repeating the first pixels (< 1 row);
- the prototype (the product's first version) gets the cut-out composited on black, as
  rembg's output reads without alpha, and drops dark pixels itself.
"""

from __future__ import annotations

import io
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

RGBA = npt.NDArray[np.uint8]

PACK_ALPHA_MIN = 128
PROTOTYPE_DARK_MAX = 30  # the prototype drops pixels whose mean channel value is below this


@dataclass(frozen=True)
class PeerColour:
    rgb: tuple[int, int, int]
    fraction: float | None  # None: the library reports no percentages


@dataclass(frozen=True)
class Peer:
    name: str
    distribution: str  # for importlib.metadata.version
    call: str  # the call, as a user writes it
    feeds: str  # what the peer is given
    prepare: Callable[[RGBA], Any]
    extract: Callable[[Any], list[PeerColour]]
    slow: bool = False  # pure-Python per-pixel loops or grid searches: fewer timing runs
    cleanup: Callable[[Any], None] | None = None


def _rgb(value: Any) -> tuple[int, int, int]:
    r, g, b = (round(float(v)) for v in list(value)[:3])
    return (max(0, min(255, r)), max(0, min(255, g)), max(0, min(255, b)))


def _normalise(pairs: list[tuple[tuple[int, int, int], float]]) -> list[PeerColour]:
    total = sum(w for _, w in pairs)
    return [PeerColour(rgb, (w / total) if total else None) for rgb, w in pairs]


# --------------------------------------------------------------------------- inputs


def as_pil_rgba(rgba: RGBA) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(rgba), "RGBA")


def as_png_bytes(rgba: RGBA) -> bytes:
    buf = io.BytesIO()
    as_pil_rgba(rgba).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def garment_pixel_pack(rgba: RGBA, alpha_min: int = PACK_ALPHA_MIN) -> Image.Image:
    """The garment pixels (alpha >= alpha_min) as a square RGB image."""
    pixels = rgba[rgba[..., 3] >= alpha_min][:, :3]
    if len(pixels) == 0:
        raise ValueError("no garment pixels")
    side = math.ceil(math.sqrt(len(pixels)))
    packed = np.resize(pixels, (side * side, 3)).reshape(side, side, 3)
    return Image.fromarray(np.ascontiguousarray(packed), "RGB")


def composite_on_black(rgba: RGBA) -> npt.NDArray[np.uint8]:
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    return np.asarray(np.round(rgba[..., :3] * alpha), dtype=np.uint8)


# --------------------------------------------------------------------------- peers


def _extcolors(img: Image.Image) -> list[PeerColour]:
    import extcolors

    colours, _pixel_count = extcolors.extract_from_image(img)  # default tolerance 32
    return _normalise([(_rgb(rgb), float(count)) for rgb, count in colours])


def _colorthief(data: bytes) -> list[PeerColour]:
    from colorthief import ColorThief

    thief = ColorThief(io.BytesIO(data))
    return [PeerColour(_rgb(c), None) for c in thief.get_palette(color_count=5, quality=10)]


def _colorthief_v3(img: Image.Image) -> list[PeerColour]:
    import colorthief_v3

    colours = colorthief_v3.get_palette(img, color_count=5)  # defaults: oklch, quality=10
    return _normalise([(_rgb(c.array()), float(c.proportion)) for c in colours])


def _fast_colorthief(arr: RGBA) -> list[PeerColour]:
    import fast_colorthief

    return [PeerColour(_rgb(c), None) for c in fast_colorthief.get_palette(arr, 5, 10)]


def _pylette(mode: str) -> Callable[[Image.Image], list[PeerColour]]:
    def run(img: Image.Image) -> list[PeerColour]:
        from pylette import extract_colors

        palette = extract_colors(img, palette_size=5, mode=mode)  # default resize=256
        return _normalise([(_rgb(c.rgb), float(c.frequency)) for c in palette.colors])

    return run


def _colorgram(img: Image.Image) -> list[PeerColour]:
    import colorgram

    colours = colorgram.extract(img, 5)
    return _normalise([(_rgb(c.rgb), float(c.proportion)) for c in colours])


def _haishoku_prepare(rgba: RGBA) -> str:
    # haishoku takes a path only (it opens it with Pillow)
    handle = tempfile.NamedTemporaryFile(suffix=".png", delete=False)  # noqa: SIM115
    with handle:
        garment_pixel_pack(rgba).save(handle, format="PNG", compress_level=1)
    return handle.name


def _haishoku(path: str) -> list[PeerColour]:
    from haishoku.haishoku import Haishoku

    palette = Haishoku.getPalette(path)  # [(share, (r, g, b)), ...], most frequent first
    return _normalise([(_rgb(rgb), float(share)) for share, rgb in palette])


def _unlink(path: str) -> None:
    Path(path).unlink(missing_ok=True)


def _prototype(rgb: npt.NDArray[np.uint8]) -> list[PeerColour]:
    """The first prototype: rembg cut-out, dark pixels dropped, KMeans with GridSearchCV
    over n_clusters 1-8 (scored by -inertia, so it always ends on 8), hex output."""
    from sklearn.cluster import KMeans
    from sklearn.model_selection import GridSearchCV

    pixels = rgb.reshape(-1, 3).astype(np.float64)
    pixels = pixels[pixels.mean(axis=1) >= PROTOTYPE_DARK_MAX]
    if len(pixels) < 10:
        raise ValueError("no pixels left after dropping dark ones")
    search = GridSearchCV(KMeans(random_state=0), {"n_clusters": list(range(1, 9))})
    search.fit(pixels)
    model = search.best_estimator_
    counts = np.bincount(model.labels_, minlength=model.n_clusters)
    order = np.argsort(-counts)
    hexes = ["#{:02x}{:02x}{:02x}".format(*_rgb(model.cluster_centers_[i])) for i in order]
    return _normalise(
        [(_rgb(bytes.fromhex(h[1:])), float(counts[i])) for h, i in zip(hexes, order, strict=True)]
    )


PEERS: list[Peer] = [
    Peer(
        "extcolors",
        "extcolors",
        "extcolors.extract_from_image(img)",
        "RGBA cut-out (PIL); drops alpha == 0 itself",
        as_pil_rgba,
        _extcolors,
        slow=True,
    ),
    Peer(
        "colorthief",
        "colorthief",
        "ColorThief(f).get_palette(color_count=5, quality=10)",
        "RGBA cut-out as PNG bytes; drops alpha < 125 and near-white (> 250) itself",
        as_png_bytes,
        _colorthief,
        slow=True,
    ),
    Peer(
        "colorthief-v3",
        "colorthief-v3",
        "colorthief_v3.get_palette(img, color_count=5)",
        "RGBA cut-out (PIL); drops alpha < 125 and near-white (> 250) itself (npm port, the "
        "data README's 'colorthief-v3' baseline)",
        as_pil_rgba,
        _colorthief_v3,
        slow=True,
    ),
    Peer(
        "fast-colorthief",
        "fast-colorthief",
        "fast_colorthief.get_palette(arr, 5, 10)",
        "RGBA cut-out (numpy); same pixel rules as colorthief; no percentages",
        lambda rgba: np.ascontiguousarray(rgba),
        _fast_colorthief,
    ),
    Peer(
        "pylette-kmeans",
        "pylette",
        'extract_colors(img, palette_size=5, mode="KMeans")',
        "RGBA cut-out (PIL); default resize=256, drops alpha == 0 itself",
        as_pil_rgba,
        _pylette("KMeans"),
    ),
    Peer(
        "pylette-oklab",
        "pylette",
        'extract_colors(img, palette_size=5, mode="OKLab")',
        "RGBA cut-out (PIL); default resize=256, drops alpha == 0 itself",
        as_pil_rgba,
        _pylette("OKLab"),
    ),
    Peer(
        "pylette-mediancut",
        "pylette",
        'extract_colors(img, palette_size=5, mode="MedianCut")',
        "RGBA cut-out (PIL); default resize=256, drops alpha == 0 itself",
        as_pil_rgba,
        _pylette("MedianCut"),
    ),
    Peer(
        "colorgram.py",
        "colorgram.py",
        "colorgram.extract(img, 5)",
        f"garment pixels (alpha >= {PACK_ALPHA_MIN}) packed into a square RGB image (PIL)",
        garment_pixel_pack,
        _colorgram,
        slow=True,
    ),
    Peer(
        "haishoku",
        "haishoku",
        "Haishoku.getPalette(path)",
        f"garment pixels (alpha >= {PACK_ALPHA_MIN}) packed into a square RGB PNG file "
        "(its API takes a path)",
        _haishoku_prepare,
        _haishoku,
        cleanup=_unlink,
    ),
    Peer(
        "prototype",
        "scikit-learn",
        'GridSearchCV(KMeans(random_state=0), {"n_clusters": range(1, 9)}).fit(pixels)',
        f"cut-out composited on black (rembg's look without alpha); pixels with mean channel "
        f"< {PROTOTYPE_DARK_MAX} dropped; all remaining pixels clustered in RGB",
        composite_on_black,
        _prototype,
        slow=True,
    ),
]


def run_peer(peer: Peer, rgba: RGBA) -> list[PeerColour]:
    prepared = peer.prepare(rgba)
    try:
        return peer.extract(prepared)
    finally:
        if peer.cleanup is not None:
            peer.cleanup(prepared)
