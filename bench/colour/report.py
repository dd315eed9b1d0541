"""bench/results/colour.md from the results dict (the .json holds the same numbers and more)."""

from __future__ import annotations

from typing import Any

from bench.colour import tasks
from bench.colour.peers import PACK_ALPHA_MIN, PEERS

PALETTE_NOTE = (
    "Ours = `garment_mask` (alpha >= 250) + `extract_palette` on the RGBA cut-out. "
    "Peers = only the library call, with the input already in the form it takes (see "
    "'How each peer is fed'); conversions such as PNG encoding or pixel packing are outside "
    "the timer, so peers are, if anything, favoured."
)


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ratio(value: Any) -> str:
    if value is None:
        return "n/a"
    if value >= 10:
        return f"{value:.0f}x"
    if value >= 1:
        return f"{value:.1f}x"
    return f"{value:.3f}x"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def render_markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    machine = meta["machine"]
    lines: list[str] = [
        "# Colour engine benchmark"
        + (" (QUICK run - not the reference numbers)" if meta["quick"] else ""),
        "",
        f"- date: {meta['date']}; elapsed {meta.get('elapsed_s', '?')} s",
        f"- command: `{meta['command']}` (from the repo root; `make bench-colour` runs the "
        "full one)",
        f"- machine: {machine['cpu_model']}, {machine['logical_cpus']} logical CPUs "
        f"({machine['cpus_available']} available), {machine['memory_gib']} GiB; "
        f"{machine['platform']}; Python {machine['python']}",
        f"- threads: speed pass in one process with one thread everywhere "
        f"(OMP/OpenBLAS/MKL = 1, threadpoolctl limit 1, onnxruntime intra/inter-op 1, "
        f"cv2.setNumThreads(1)); accuracy passes in {meta['workers']} single-threaded worker "
        f"processes. OPENBLAS_CORETYPE={machine['thread_env'].get('OPENBLAS_CORETYPE')}, "
        f"OPENBLAS_L2_SIZE={machine['thread_env'].get('OPENBLAS_L2_SIZE')} "
        "(left as the machine sets them)",
        f"- model: `{meta['model']['file']}` md5 {meta['model']['md5']}",
        f"- code: commit {meta['code']['commit']}, studiolab/vision sources sha256 "
        f"{meta['code']['vision_sources_sha256']}"
        + (" (with uncommitted changes)" if meta["code"]["vision_uncommitted_changes"] else ""),
        "- versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v),
        "",
        "## Targets",
        "",
    ]
    rows = []
    for t in results["targets"]:
        state = "n/a" if t["met"] is None else ("**met**" if t["met"] else "**not met**")
        rows.append([t["target"], t["goal"], state, t["detail"]])
    lines += _table(["target", "goal", "status", "numbers"], rows)
    lines.append("")

    speed = results.get("speed")
    syn = results.get("synthetic")
    uab = results.get("uab")

    # ---- peers summary
    lines += ["## Peers (each on our u2netp cut-out, same run)", ""]
    rows = []
    ours_row = [
        "**ours**",
        _f(uab["methods"][tasks.OURS_CUT]["top1"], 3) if uab and "methods" in uab else "n/a",
        _f(uab["methods"][tasks.OURS_CUT]["hit3"], 3) if uab and "methods" in uab else "n/a",
        _f(uab["methods"][tasks.OURS_CRUDE]["top1"], 3) if uab and "methods" in uab else "n/a",
        _f(syn["methods"][tasks.OURS_CUT]["dominant_de"]["mean"]) if syn else "n/a",
        _f((syn["methods"][tasks.OURS_CUT]["fraction_l1"] or {}).get("mean"), 3) if syn else "n/a",
        _f(speed["stages"]["palette"]["median_ms"], 2) if speed else "n/a",
        "1.0x",
    ]
    rows.append(ours_row)
    for peer in PEERS:
        name = peer.name
        u = uab["methods"].get(name) if uab and "methods" in uab else None
        uc = uab["methods"].get(name + tasks.CRUDE_SUFFIX) if uab and "methods" in uab else None
        s = syn["methods"].get(name) if syn else None
        p = speed["peers"].get(name) if speed else None
        rows.append(
            [
                name,
                _f(u["top1"], 3) if u else "n/a",
                _f(u["hit3"], 3) if u else "n/a",
                _f(uc["top1"], 3) if uc else "n/a",
                _f(s["dominant_de"].get("mean")) if s and s["n"] else "n/a",
                _f((s["fraction_l1"] or {}).get("mean"), 3) if s else "n/a",
                (_f(p.get("median_ms"), 2) + f" (n={p['n']})") if p and p.get("n") else "n/a",
                _ratio(p.get("ratio_to_ours")) if p else "n/a",
            ]
        )
    lines += _table(
        [
            "method",
            "UAB top-1",
            "UAB hit@3",
            "UAB top-1, crude cut-out",
            "synthetic dominant ΔE00 (mean)",
            "synthetic fraction L1 (mean)",
            "palette ms / 1000² cut-out (median)",
            "time ÷ ours",
        ],
        rows,
    )
    lines += [
        "",
        "Colour names: every method's colours are named by OUR namer (nearest ISCC-NBS level-3 "
        "centroid by CIEDE2000 -> basic term), so only the colours differ. 'n/a' fraction L1: "
        "the library reports no percentages. " + PALETTE_NOTE,
        "",
    ]
    if results.get("skipped_peers"):
        lines += (
            ["Skipped peers:", ""]
            + [f"- {s['name']}: {s['reason']}" for s in results["skipped_peers"]]
            + [""]
        )

    # ---- synthetic
    if syn:
        mix = syn["mix"]
        lines += [
            "## Synthetic ground truth",
            "",
            f"{syn['n_images']} seeded images {syn['size'][0]}x{syn['size'][1]} "
            f"(`bench/colour/synthetic.py`): garments {mix['garment']}, patterns {mix['pattern']}, "
            f"backgrounds {mix['background']}, true colours per image {mix['n_true']}; shading, "
            "fabric noise, JPEG q70-95. Segmentation (ours, alpha >= 250 vs the true mask): IoU "
            f"mean {_f(syn['segmentation_iou_alpha250'].get('mean'), 3)}, "
            f"min {_f(syn['segmentation_iou_alpha250'].get('min'), 3)}.",
            "",
        ]
        rows = []
        for name, m in syn["methods"].items():
            d, pde, fl = m["dominant_de"], m["palette_de"], m["fraction_l1"]
            rows.append(
                [
                    name,
                    str(m["n"]),
                    _f(d.get("mean")),
                    _f(d.get("median")),
                    _f(d.get("p90")),
                    _f(pde.get("mean")),
                    _f(fl.get("mean"), 3) if fl else "n/a",
                    _f(fl.get("median"), 3) if fl else "n/a",
                    _f(m["n_colors_mean"], 1),
                    str(m["errors"]),
                ]
            )
        lines += _table(
            [
                "method",
                "n",
                "dominant ΔE00 mean",
                "median",
                "p90",
                "palette ΔE00 mean (Hungarian)",
                "fraction L1 mean",
                "median",
                "colours returned (mean)",
                "errors",
            ],
            rows,
        )
        lines += [
            "",
            "Metrics: dominant ΔE00 = the method's first colour vs the true largest colour; "
            "palette ΔE00 = true and predicted colours matched one-to-one by "
            "`scipy.optimize.linear_sum_assignment` on ΔE00, mean over true colours (a true "
            "colour left unmatched counts with its nearest predicted colour); fraction L1 = "
            "Σ|p - t| over matched pairs + the fractions of unmatched colours (0..2).",
            "",
            "Ours by pattern (u2netp cut-out | ground-truth mask):",
            "",
        ]
        cut_b = syn["breakdown"][tasks.OURS_CUT]["pattern"]
        gt_b = syn["breakdown"][tasks.OURS_GT]["pattern"]
        rows = []
        for pattern, b in cut_b.items():
            g = gt_b.get(pattern, {})
            rows.append(
                [
                    pattern,
                    str(b["n"]),
                    f"{b['dominant_de_mean']:.2f} / {g.get('dominant_de_mean', float('nan')):.2f}",
                    f"{b['palette_de_mean']:.2f} / {g.get('palette_de_mean', float('nan')):.2f}",
                    f"{b['fraction_l1_mean']:.3f} / {g.get('fraction_l1_mean', float('nan')):.3f}",
                ]
            )
        lines += _table(
            ["pattern", "n", "dominant ΔE00 cut/GT", "palette ΔE00 cut/GT", "fraction L1 cut/GT"],
            rows,
        )
        rows = []
        for bg, b in syn["breakdown"][tasks.OURS_CUT]["background"].items():
            g = syn["breakdown"][tasks.OURS_GT]["background"].get(bg, {})
            rows.append(
                [
                    bg,
                    str(b["n"]),
                    f"{b['dominant_de_mean']:.2f} / {g.get('dominant_de_mean', float('nan')):.2f}",
                    f"{b['fraction_l1_mean']:.3f} / {g.get('fraction_l1_mean', float('nan')):.3f}",
                ]
            )
        lines += ["", "Ours by background:", ""]
        lines += _table(["background", "n", "dominant ΔE00 cut/GT", "fraction L1 cut/GT"], rows)
        lines.append("")
        for name, worst in syn["worst"].items():
            lines += [
                f"Worst five, {name}, by dominant ΔE00 (`python -m bench.colour.synthetic` "
                "draws the set; `generate(seed)` one image): "
                + "; ".join(
                    f"seed {w['seed']} {w['garment']}/{w['pattern']}/{w['background']} "
                    f"({w['n_true']} true, {w['n_colors']} found) ΔE00 {w['dominant_de']:.1f}"
                    for w in worst
                ),
                "",
            ]

    # ---- UAB
    lines += ["## Real labels: UAB clothing", ""]
    if not uab:
        lines += ["Not run.", ""]
    elif "skipped" in uab:
        lines += [f"Skipped: {uab['skipped']}", ""]
    else:
        lines += [
            f"{uab['n_images']} photos (60x80 JPEG) read in place from `{uab['dir']}` "
            "(never copied). "
            "top-1: the dominant colour's basic name is one of the image's labels; hit@3: any of "
            "the first three colours' names is. Errors (e.g. no opaque pixel left) count as "
            "misses. Mean share of pixels with u2netp alpha >= 250: "
            f"{uab['garment_fraction_u2netp_mean']:.2f}. README baselines (crude "
            "white-background cut-out): Pylette KMeans 0.689, CIELAB KMeans "
            "0.685, extcolors 0.682, colorthief-v3 0.615, colorgram 0.407; human agreement ≈ 0.78.",
            "",
        ]
        rows = []
        for name, m in uab["methods"].items():
            rows.append(
                [
                    name,
                    _f(m["top1"], 3),
                    _f(m["hit3"], 3),
                    _f(m.get("n_colors_mean"), 1),
                    str(m["errors"]),
                ]
            )
        lines += _table(["method", "top-1", "hit@3", "colours returned (mean)", "errors"], rows)
        up, cut = uab["methods"][tasks.OURS_UP], uab["methods"][tasks.OURS_CUT]
        verdict = (
            "helps"
            if up["top1"] > cut["top1"] + 0.005
            else ("hurts" if up["top1"] < cut["top1"] - 0.005 else "makes no real difference")
        )
        lines += [
            "",
            f"Upscaling the 60x80 photos 4x (bicubic) before u2netp {verdict}: top-1 "
            f"{cut['top1']:.3f} -> {up['top1']:.3f}, hit@3 {cut['hit3']:.3f} -> {up['hit3']:.3f}, "
            f"errors {cut['errors']} -> {up['errors']}.",
            "",
            "Per-colour recall, ours (recall@1 = dominant colour is that colour; recall@3 = it is "
            "among the first three):",
            "",
        ]
        names = (tasks.OURS_CUT, tasks.OURS_UP, tasks.OURS_CRUDE)
        rows = []
        for colour, r in uab["recall"][tasks.OURS_CUT].items():
            row = [colour, str(r["n"])]
            for name in names:
                rr = uab["recall"][name].get(colour, {})
                row.append(f"{_f(rr.get('recall_at1'), 2)} / {_f(rr.get('recall_at3'), 2)}")
            rows.append(row)
        lines += _table(["colour", "labelled", *[f"{n} @1 / @3" for n in names]], rows)
        lines += [
            "",
            "Most frequent top-1 misses, ours (u2netp cut-out): "
            + "; ".join(f"{k} ({v})" for k, v in uab["ours_top1_misses"].items())
            + ".",
        ]
        lines += ["", "Top-1 by category, ours:", ""]
        rows = [
            [cat, str(r["n"]), *[_f(r[n], 3) for n in names]]
            for cat, r in uab["top1_by_category"].items()
        ]
        lines += _table(["category", "n", *names], rows)
        lines.append("")

    # ---- speed
    if speed:
        cfg = speed["config"]
        lines += [
            "## Speed (one thread, 1000x1000)",
            "",
            f"{cfg['images']} synthetic {cfg['size'][0]}x{cfg['size'][1]} JPEGs after "
            f"{cfg['warmup']} "
            f"warm-up images; palette stages repeated {cfg['palette_repeats']}x and segmentation "
            f"{cfg['segment_repeats']}x per image (ours and raw alternating). Mean garment "
            "share of "
            f"the cut-outs (alpha >= 250): {speed['garment_fraction_mean']:.2f}. Machine load "
            "average (1/5/15 min) before the pass "
            + "/".join(f"{v:.1f}" for v in speed["load_average"]["before"])
            + ", after "
            + "/".join(f"{v:.1f}" for v in speed["load_average"]["after"])
            + "; other processes used "
            + _f(speed.get("other_processes_cores"), 2)
            + " cores on average during the pass (/proc/stat busy time minus this process; "
            "0 = the machine was ours alone).",
            "",
        ]
        rows = []
        for stage, s in speed["stages"].items():
            rows.append(
                [
                    stage,
                    str(s.get("n")),
                    _f(s.get("median_ms"), 2),
                    _f(s.get("p90_ms"), 2),
                    _f(s.get("min_ms"), 2),
                ]
            )
        lines += _table(["stage", "n", "median ms", "p90 ms", "min ms"], rows)
        seg = speed["segment_overhead"]
        lines += [
            "",
            "`segment` = `get_segmenter('u2netp').cut_out(decoded)`; `segment_raw_onnx` = the same "
            "model file run straight through onnxruntime with rembg's preprocessing "
            "(320x320 Lanczos, "
            "divide by max, ImageNet mean/std), min-max scaled output resized back (Lanczos) and "
            "stacked as alpha (`bench/colour/raw_onnx.py`); `onnx_run_only` = `session.run` alone "
            "on a ready 320x320 tensor (the floor). "
            f"Overhead of ours over raw: {seg['overhead'] * 100:+.1f} % (median of paired "
            f"ratios {_f(seg['median_paired_ratio'], 3)}); over `session.run` alone: "
            f"{seg['overhead_vs_run_only'] * 100:+.1f} %. Agreement of the two masks "
            f"(alpha >= 128): IoU mean {seg['mask_agreement_iou_mean']:.3f}, "
            f"min {seg['mask_agreement_iou_min']:.3f}.",
            "",
            "Peers' palette call on the same cut-outs (stops after a time budget once "
            f"{cfg['peer_min_images']} images are done):",
            "",
        ]
        rows = []
        for name, p in speed["peers"].items():
            rows.append(
                [
                    name,
                    str(p.get("n")),
                    _f(p.get("median_ms"), 2),
                    _f(p.get("p90_ms"), 2),
                    _ratio(p.get("ratio_to_ours")),
                    p.get("error", ""),
                ]
            )
        lines += _table(["peer", "n", "median ms", "p90 ms", "median ÷ ours", "note"], rows)
        lines.append("")

    # ---- how fed
    lines += ["## How each peer is fed", ""]
    for p in results["peers"]:
        lines.append(f"- **{p['name']}** (`{p['distribution']}`): `{p['call']}` - {p['feeds']}")
    lines += [
        "",
        f"Garment-pixel pack: the pixels with alpha >= {PACK_ALPHA_MIN} in raster order, reshaped "
        "into a square image (last row padded by repeating the first pixels).",
        "",
    ]
    if results.get("notes"):
        lines += ["## Notes", ""] + [f"- {note}" for note in results["notes"]]
    return "\n".join(lines).rstrip() + "\n"
