"""The UAB clothing set (read in place from ../shared/data/uab-clothing, never copied)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import ndimage

BASIC_TERMS = (
    "Black", "Blue", "Brown", "Green", "Grey", "Orange",
    "Pink", "Purple", "Red", "White", "Yellow",
)  # fmt: skip

DEFAULT_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "uab-clothing"

CRUDE_WHITE_MIN = 235  # crude cut-out: near-white (all channels >= this) ...
CRUDE_MIN_SHARE = 0.02  # ... connected to the border is background; fall back if < 2 % is left


@dataclass(frozen=True)
class UabItem:
    id: str
    path: Path
    category: str
    colours: frozenset[str]


def load(directory: Path = DEFAULT_DIR) -> list[UabItem]:
    """The labelled images, sorted by id. Raises FileNotFoundError when the set is absent."""
    labels_path = directory / "labels.json"
    if not labels_path.is_file():
        raise FileNotFoundError(f"{labels_path} not found")
    labels = json.loads(labels_path.read_text("utf-8"))
    items = []
    for key in sorted(labels, key=lambda k: (len(k), k)):
        entry = labels[key]
        path = directory / "images" / f"{key}.jpg"
        if path.is_file():
            items.append(UabItem(key, path, entry["category"], frozenset(entry["colours"])))
    return items


def crude_cutout(rgba: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The reference "crude white-background cut-out": near-white pixels connected to the
    image border become transparent, everything else is opaque (no model)."""
    rgb = rgba[..., :3]
    white = np.all(rgb >= CRUDE_WHITE_MIN, axis=-1)
    components, _count = ndimage.label(white)
    border = np.unique(
        np.concatenate([components[0], components[-1], components[:, 0], components[:, -1]])
    )
    background = np.isin(components, border[border > 0])
    out = rgba.copy()
    if (~background).mean() >= CRUDE_MIN_SHARE:
        out[..., 3] = np.where(background, 0, 255).astype(np.uint8)
    else:
        out[..., 3] = 255
    return out
