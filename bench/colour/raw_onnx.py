"""The segmentation baseline: the same u2netp.onnx run straight through onnxruntime.

Reproduces rembg's u2netp steps with nothing around them: RGB -> 320x320 (Lanczos) ->
divide by the max -> normalise with ImageNet mean/std -> NCHW float32 -> run -> first
output's sigmoid map, min-max scaled -> 8-bit mask resized back (Lanczos) -> stacked as the
alpha channel of the input RGB. One intra-op and one inter-op thread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float64)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float64)
SIZE = (320, 320)


class RawU2netp:
    def __init__(self, model_path: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = threads
        self.session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name

    def mask(self, rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        height, width = rgb.shape[:2]
        small = np.asarray(
            Image.fromarray(rgb, "RGB").resize(SIZE, Image.Resampling.LANCZOS), dtype=np.float64
        )
        small = small / max(float(small.max()), 1e-6)
        tensor = ((small - MEAN) / STD).transpose(2, 0, 1)[None].astype(np.float32)
        pred = self.session.run(None, {self.input_name: tensor})[0][0, 0]
        lo, hi = float(pred.min()), float(pred.max())
        pred = (pred - lo) / (hi - lo) if hi > lo else np.zeros_like(pred)
        mask = Image.fromarray((pred * 255).astype(np.uint8), "L")
        return np.asarray(mask.resize((width, height), Image.Resampling.LANCZOS), dtype=np.uint8)

    def cut_out(self, rgba: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        rgb = np.ascontiguousarray(rgba[..., :3])
        return np.dstack([rgb, self.mask(rgb)])
