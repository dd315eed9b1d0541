"""One-thread timings on 1000x1000 photos: our stages, the peers' palette calls, and our
segmentation step against a raw onnxruntime run of the same model file."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from bench.colour.metrics import iou
from bench.colour.ours import Ours
from bench.colour.peers import PEERS, Peer
from bench.colour.raw_onnx import RawU2netp
from bench.colour.synthetic import generate

SPEED_SIZE = (1000, 1000)
T = TypeVar("T")
U8 = npt.NDArray[np.uint8]
SPEED_SEED0 = 100_000


@dataclass(frozen=True)
class SpeedConfig:
    images: int
    warmup: int
    palette_repeats: int
    segment_repeats: int
    peer_budget_s: float
    peer_min_images: int


def _time_ms(fn: Callable[..., T], *args: Any) -> tuple[float, T]:
    gc_was = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        out = fn(*args)
        elapsed = (time.perf_counter_ns() - start) / 1e6
    finally:
        if gc_was:
            gc.enable()
    return elapsed, out


def stats(samples: list[float]) -> dict[str, float | int]:
    arr = np.asarray(samples, dtype=np.float64)
    if arr.size == 0:
        return {"n": 0}
    return {
        "n": int(arr.size),
        "median_ms": float(np.median(arr)),
        "p90_ms": float(np.percentile(arr, 90)),
        "min_ms": float(arr.min()),
        "mean_ms": float(arr.mean()),
    }


def run_speed(config: SpeedConfig, models_dir: Path, log: Callable[[str], None]) -> dict[str, Any]:
    import cv2
    from threadpoolctl import threadpool_info, threadpool_limits

    cv2.setNumThreads(1)
    ours = Ours("u2netp", models_dir)
    raw = RawU2netp(models_dir / "u2netp.onnx", threads=1)
    total = config.warmup + config.images
    log(f"speed: generating {total} synthetic {SPEED_SIZE[0]}x{SPEED_SIZE[1]} JPEGs")
    photos = [generate(SPEED_SEED0 + i, SPEED_SIZE, fill=True).data for i in range(total)]

    samples: dict[str, list[float]] = {
        k: []
        for k in (
            "decode",
            "segment",
            "segment_raw_onnx",
            "onnx_run_only",
            "palette",
            "extract_palette_only",
            "garment_mask_only",
        )
    }
    cutouts: list[U8] = []
    agreement: list[float] = []
    with threadpool_limits(limits=1):
        pools = threadpool_info()
        for index, data in enumerate(photos):
            measure = index >= config.warmup
            ms, decoded = _time_ms(ours.decode, data)
            if measure:
                samples["decode"].append(ms)
            cut: U8 | None = None
            raw_cut: U8 | None = None
            for rep in range(config.segment_repeats):
                # alternate the order so neither side always runs on a warmer cache
                order = ("ours", "raw") if (index + rep) % 2 == 0 else ("raw", "ours")
                for who in order:
                    if who == "ours":
                        ms, cut = _time_ms(ours.segment, decoded)
                        key = "segment"
                    else:
                        ms, raw_cut = _time_ms(raw.cut_out, decoded.rgba)
                        key = "segment_raw_onnx"
                    if measure:
                        samples[key].append(ms)
            tensor = np.zeros((1, 3, 320, 320), dtype=np.float32)
            ms, _ = _time_ms(raw.session.run, None, {raw.input_name: tensor})
            if measure:
                samples["onnx_run_only"].append(ms)
            assert cut is not None and raw_cut is not None
            agreement.append(iou(cut[..., 3] >= 128, raw_cut[..., 3] >= 128))
            for _ in range(config.palette_repeats):
                ms, _ = _time_ms(ours.palette, cut)
                if measure:
                    samples["palette"].append(ms)
                ms, mask = _time_ms(ours.mask, cut)
                if measure:
                    samples["garment_mask_only"].append(ms)
                ms, _ = _time_ms(ours.extract, cut, mask)
                if measure:
                    samples["extract_palette_only"].append(ms)
            if measure:
                cutouts.append(cut)
            else:
                warm_cut = cut
            gc.collect()
        log(
            f"speed: ours decode {np.median(samples['decode']):.1f} ms, segment "
            f"{np.median(samples['segment']):.0f} ms "
            f"(raw {np.median(samples['segment_raw_onnx']):.0f}"
            f" ms), palette {np.median(samples['palette']):.2f} ms"
        )

        peer_samples: dict[str, list[float]] = {}
        peer_errors: dict[str, str] = {}
        for peer in PEERS:
            peer_samples[peer.name] = _time_peer(peer, warm_cut, cutouts, config, peer_errors)
            got = peer_samples[peer.name]
            log(
                f"speed: {peer.name}: "
                + (f"{np.median(got):.2f} ms median over {len(got)}" if got else "no timing")
            )

    ours_palette = float(np.median(samples["palette"]))
    seg = float(np.median(samples["segment"]))
    seg_raw = float(np.median(samples["segment_raw_onnx"]))
    n_seg = len(samples["segment"])
    per_image_ratio = [
        a / b for a, b in zip(samples["segment"], samples["segment_raw_onnx"], strict=True)
    ][:n_seg]
    return {
        "config": config.__dict__ | {"size": list(SPEED_SIZE)},
        "threadpools": pools,
        "stages": {k: stats(v) for k, v in samples.items()},
        "segment_overhead": {
            "ours_median_ms": seg,
            "raw_median_ms": seg_raw,
            "overhead": seg / seg_raw - 1.0,
            "run_only_median_ms": float(np.median(samples["onnx_run_only"])),
            "overhead_vs_run_only": seg / float(np.median(samples["onnx_run_only"])) - 1.0,
            "median_paired_ratio": float(np.median(per_image_ratio)) if per_image_ratio else None,
            "mask_agreement_iou_mean": float(np.mean(agreement)),
            "mask_agreement_iou_min": float(np.min(agreement)),
        },
        "garment_fraction_mean": float(np.mean([(c[..., 3] >= 250).mean() for c in cutouts])),
        "peers": {
            name: stats(v)
            | (
                {"ratio_to_ours": float(np.median(v)) / ours_palette}
                if v
                else {"error": peer_errors.get(name, "no samples")}
            )
            for name, v in peer_samples.items()
        },
    }


def _time_peer(
    peer: Peer,
    warm_cut: U8,
    cutouts: list[U8],
    config: SpeedConfig,
    errors: dict[str, str],
) -> list[float]:
    got: list[float] = []
    try:
        prepared = peer.prepare(warm_cut)
        try:
            peer.extract(prepared)  # warm-up: imports, JIT-free caches, first-call costs
        finally:
            if peer.cleanup is not None:
                peer.cleanup(prepared)
    except Exception as exc:
        errors[peer.name] = f"{type(exc).__name__}: {exc}"[:200]
        return got
    spent = 0.0
    for cut in cutouts:
        prepared = peer.prepare(cut)
        try:
            ms, _ = _time_ms(peer.extract, prepared)
        except Exception as exc:
            errors[peer.name] = f"{type(exc).__name__}: {exc}"[:200]
            continue
        finally:
            if peer.cleanup is not None:
                peer.cleanup(prepared)
        got.append(ms)
        spent += ms / 1000
        gc.collect()
        if spent > config.peer_budget_s and len(got) >= config.peer_min_images:
            break
    return got
