"""Per-image work of the accuracy passes. Runs in worker processes (one thread each) or inline;
returns small plain dicts that the runner aggregates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.colour.metrics import iou, rgb_to_lab, score_palette
from bench.colour.ours import Namer, Ours, with_mask
from bench.colour.peers import PEERS, Peer, PeerColour, run_peer
from bench.colour.synthetic import generate
from bench.colour.uab import UabItem, crude_cutout

_STATE: dict[str, Any] = {}

OURS_CUT = "ours (u2netp cut-out)"
OURS_GT = "ours (ground-truth mask)"
OURS_UP = "ours (u2netp, 4x upscaled input)"
OURS_CRUDE = "ours (crude white-bg cut-out)"
CRUDE_SUFFIX = " [crude cut-out]"
# the crude-cut-out runs are a cross-check against the data README's baselines; the prototype
# (a grid search: ~90 ms per 60x80 photo) is left out of them to keep the full run short
NO_CRUDE_REFERENCE = frozenset({"prototype"})


def init_worker(models_dir: str | None) -> None:
    import cv2

    cv2.setNumThreads(1)
    _STATE["ours"] = Ours("u2netp", Path(models_dir) if models_dir else None)
    _STATE["namer"] = Namer()


def _ours() -> Ours:
    if "ours" not in _STATE:
        init_worker(None)
    ours: Ours = _STATE["ours"]
    return ours


def _namer() -> Namer:
    if "namer" not in _STATE:
        init_worker(None)
    namer: Namer = _STATE["namer"]
    return namer


def _error(exc: BaseException) -> dict[str, str]:
    return {"error": f"{type(exc).__name__}: {exc}"[:200]}


def _peer_colours(peer: Peer, rgba: npt.NDArray[Any]) -> list[PeerColour]:
    colours = run_peer(peer, rgba)
    if not colours:
        raise ValueError("empty palette")
    return colours


# --------------------------------------------------------------------------- synthetic


def synthetic_task(seed: int, size: tuple[int, int]) -> dict[str, Any]:
    ours = _ours()
    sample = generate(seed, size)
    truth = sample.truth
    result: dict[str, Any] = {
        "seed": seed,
        "garment": truth.garment,
        "pattern": truth.pattern,
        "background": truth.background,
        "shadow": truth.shadow,
        "jpeg_quality": truth.jpeg_quality,
        "n_true": len(truth.fractions),
        "methods": {},
    }
    methods: dict[str, Any] = result["methods"]

    def score(lab: npt.NDArray[Any], fractions: list[float] | None) -> dict[str, Any]:
        s = score_palette(lab, fractions, truth.colors_lab, truth.fractions)
        return {
            "dominant_de": s.dominant_de,
            "palette_de": s.palette_de,
            "fraction_l1": s.fraction_l1,
            "n_colors": len(lab),
        }

    decoded = ours.decode(sample.data)
    cut = ours.segment(decoded)
    try:
        result["iou_alpha250"] = iou(ours.mask(cut), truth.mask)
    except Exception:  # no garment pixels at all
        result["iou_alpha250"] = 0.0
    for name, rgba in ((OURS_CUT, cut), (OURS_GT, with_mask(decoded.rgba, truth.mask))):
        try:
            pal = ours.palette(rgba)
            methods[name] = score(pal.lab, pal.fractions)
        except Exception as exc:
            methods[name] = _error(exc)
    for peer in PEERS:
        try:
            colours = _peer_colours(peer, cut)
            lab = rgb_to_lab(np.array([c.rgb for c in colours], dtype=np.float64))
            fractions = (
                None if colours[0].fraction is None else [c.fraction or 0.0 for c in colours]
            )
            methods[peer.name] = score(lab, fractions)
        except Exception as exc:
            methods[peer.name] = _error(exc)
    return result


# --------------------------------------------------------------------------- UAB


def uab_task(item: UabItem, with_peers: bool = True) -> dict[str, Any]:
    """Predicted basic names (palette order, at most 5) per method for one labelled photo."""
    ours, namer = _ours(), _namer()
    data = item.path.read_bytes()
    result: dict[str, Any] = {
        "id": item.id,
        "category": item.category,
        "labels": sorted(item.colours),
        "methods": {},
    }
    methods: dict[str, Any] = result["methods"]
    decoded = ours.decode(data)
    cut = ours.segment(decoded)
    crude = crude_cutout(np.asarray(decoded.rgba))
    result["garment_fraction_u2netp"] = float((cut[..., 3] >= 250).mean())

    def ours_on(name: str, rgba: npt.NDArray[Any]) -> None:
        try:
            methods[name] = {"basics": ours.palette(rgba).basics}
        except Exception as exc:
            methods[name] = _error(exc)

    ours_on(OURS_CUT, cut)
    ours_on(OURS_CRUDE, crude)
    try:
        ours_on(OURS_UP, ours.segment(ours.decode_upscaled(data)))
    except Exception as exc:
        methods[OURS_UP] = _error(exc)
    if with_peers:
        for peer in PEERS:
            inputs = [("", cut)]
            if peer.name not in NO_CRUDE_REFERENCE:
                inputs.append((CRUDE_SUFFIX, crude))
            for suffix, rgba in inputs:
                try:
                    colours = _peer_colours(peer, rgba)
                    lab = rgb_to_lab(np.array([c.rgb for c in colours], dtype=np.float64))
                    methods[peer.name + suffix] = {"basics": namer.basics(lab)}
                except Exception as exc:
                    methods[peer.name + suffix] = _error(exc)
    return result
