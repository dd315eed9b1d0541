"""Background removal: one small class per method behind a name -> class registry.

    seg = get_segmenter("u2netp")          # created once per (name, models dir), then cached
    rgba = seg.cut_out(decoded)            # same H x W; alpha = the foreground mask

Methods:
- `u2netp` (default, 4.6 MB) and `u2net` (176 MB): rembg's U^2-Net models on onnxruntime.
  Weights are read from the models directory and nothing else: the session is built with
  rembg's `U2netCustomSession(model_path=...)`, whose `download_models` just returns that
  path. (`new_session("u2netp")` would go through pooch, which downloads when the file is
  missing *or* its MD5 differs, and it needs the process-wide `U2NET_HOME` variable; neither
  is acceptable at run time.) A missing file raises `ModelMissing` naming the set-up command.
  Pre- and post-processing are our own numpy/OpenCV code, equivalent to rembg's `predict`
  (same 320x320 input, divide by the image max, ImageNet mean/std, min-max scaled output) but
  without its PIL Lanczos round-trips and float64 arrays. On an 800x1200 image (one thread,
  in-process medians) `rembg.remove` adds 9-17 % to the raw `InferenceSession.run` time and
  rembg's `predict` 7-10 %; `cut_out` adds 2-3 % (~5 ms: resize to 320, normalise, upsample).
  `onnx_session` / `input_name` / `preprocess` are public so a benchmark can time the raw run.
- `grabcut`: the first prototype's classical method, no weights (blur, Canny, the box around
  the edges, OpenCV GrabCut seeded from that box), run on a reduced copy for speed.
- `none`: the image's own alpha if it has one, else the whole image.

Colours of the cut-out are the source colours (straight alpha), not rembg's blend onto
transparent black; the alpha is the soft mask, so readers of colour keep alpha >= ~250
(`studiolab.vision.garment`). A source alpha, when present, caps the mask: a pixel that is
transparent in the source is never foreground, and the models see it composited on white.

onnxruntime threads: `intra_op_num_threads` = `OMP_NUM_THREADS` when set (rembg's own knob),
else min(4, CPUs available to the process); `inter_op_num_threads` = 1, sequential execution.
Several threads may call one session at once (onnxruntime's `run` is thread-safe); a batch
with N workers should set `OMP_NUM_THREADS` to about CPUs / N to avoid oversubscription.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Final

import numpy as np
import numpy.typing as npt

import studiolab
from studiolab.domain.errors import InvalidInput, ModelMissing
from studiolab.vision.types import RGB, RGBA, DecodedImage

SEGMENTER_NAMES: Final = ("u2netp", "u2net", "grabcut", "none")
DEFAULT_SEGMENTER: Final = "u2netp"

_U2NET_INPUT: Final = 320
_MEAN: Final = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD: Final = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def default_models_dir() -> Path:
    """`$U2NET_HOME` if set (the Makefile and the containers set it), else `<repo>/models`."""
    env = os.environ.get("U2NET_HOME")
    if env:
        return Path(env).expanduser()
    # layers/studiolab/studiolab/__init__.py -> parents: studiolab, layers/studiolab, layers, repo
    return Path(studiolab.__file__).resolve().parents[3] / "models"


def onnx_threads() -> int:
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.strip().isdigit() and int(env) > 0:
        return int(env)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus))


class Segmenter(ABC):
    """Separates the product from its background. Instances are shared across threads."""

    name: ClassVar[str]

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir

    @abstractmethod
    def cut_out(self, image: DecodedImage) -> RGBA:
        """Return a new (H, W, 4) uint8 array: the image's colours, alpha = foreground mask."""


class _U2NetSegmenter(Segmenter):
    fetched_by_make_models: ClassVar[bool]  # `make models` fetches it (else only on request)

    def __init__(self, models_dir: Path) -> None:
        super().__init__(models_dir)
        path = models_dir / f"{self.name}.onnx"
        fetch = f"`python -m studiolab.runtime.fetch_models {self.name} --dest {models_dir}`"
        command = f"`make models` (or {fetch})" if self.fetched_by_make_models else fetch
        if not path.is_file():
            raise ModelMissing(
                f"model weights {path} are missing; fetch them with {command}",
                fields={"model": self.name, "path": str(path)},
            )
        self.session = _rembg_session(self.name, path, command)
        self.onnx_session: Any = self.session.inner_session  # onnxruntime.InferenceSession
        self.input_name: str = self.onnx_session.get_inputs()[0].name

    def cut_out(self, image: DecodedImage) -> RGBA:
        import cv2

        height, width = image.rgba.shape[:2]
        mask = self.predict_mask(image)
        alpha = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
        return _compose(image, np.asarray(alpha, dtype=np.uint8))

    def predict_mask(self, image: DecodedImage) -> npt.NDArray[np.uint8]:
        """The model's 320x320 mask (uint8, min-max scaled as rembg does)."""
        pred = self.onnx_session.run(None, {self.input_name: self.preprocess(image)})[0][0, 0]
        return _to_mask(pred)

    def preprocess(self, image: DecodedImage) -> npt.NDArray[np.float32]:
        """The (1, 3, 320, 320) input tensor, normalised as U^2-Net was trained."""
        small = _small_rgb_on_white(image, (_U2NET_INPUT, _U2NET_INPUT))
        x = small.astype(np.float32)
        x *= 1.0 / max(float(small.max()), 1e-6)  # U^2-Net (and rembg) divide by the image max
        x -= _MEAN
        x /= _STD
        return np.ascontiguousarray(x.transpose(2, 0, 1)[np.newaxis])


class U2netpSegmenter(_U2NetSegmenter):
    name = "u2netp"
    fetched_by_make_models = True


class U2netSegmenter(_U2NetSegmenter):
    name = "u2net"
    fetched_by_make_models = False


class GrabCutSegmenter(Segmenter):
    """Blur -> Canny -> box around the edges (+ margin) -> GrabCut from that box."""

    name = "grabcut"
    work_side: ClassVar[int] = 400  # GrabCut runs on a copy this size (long side)
    iterations: ClassVar[int] = 4
    margin: ClassVar[float] = 0.02  # of the long side, added around the edge box
    seed: ClassVar[int] = 12345  # GrabCut's GMM initialisation uses OpenCV's RNG
    min_background: ClassVar[int] = 50  # pixels outside the box needed to model background

    def cut_out(self, image: DecodedImage) -> RGBA:
        import cv2

        height, width = image.rgba.shape[:2]
        scale = min(1.0, self.work_side / max(height, width))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        mask = self._mask(_small_rgb_on_white(image, size))
        alpha = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
        return _compose(image, np.asarray(alpha, dtype=np.uint8))

    def _mask(self, rgb: RGB) -> npt.NDArray[np.uint8]:
        import cv2

        height, width = rgb.shape[:2]
        opaque = np.full((height, width), 255, dtype=np.uint8)
        if height < 8 or width < 8:
            return opaque  # too small for a background model: keep everything
        gray = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (5, 5), 0)
        edges = cv2.Canny(gray, 30, 100)
        ys, xs = np.nonzero(edges)
        if xs.size == 0:
            return opaque  # a blank (or flat swatch) image: the whole frame is the object
        # The box around the edges, plus a margin; a side within the margin of the frame runs
        # to the frame (a garment cut by the photo's edge). Outside the box is background.
        pad = max(1, round(self.margin * max(height, width)))
        x0, y0 = int(xs.min()) - pad, int(ys.min()) - pad
        x1, y1 = int(xs.max()) + pad, int(ys.max()) + pad
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(width - 1, x1), min(height - 1, y1)
        labels = np.full((height, width), cv2.GC_BGD, dtype=np.uint8)
        labels[y0 : y1 + 1, x0 : x1 + 1] = cv2.GC_PR_FGD
        box = np.where(labels == cv2.GC_PR_FGD, np.uint8(255), np.uint8(0)).astype(np.uint8)
        if np.count_nonzero(labels == cv2.GC_BGD) < self.min_background:
            return opaque  # the object fills the frame: no background to learn from
        bgd = np.zeros((1, 65), dtype=np.float64)
        fgd = np.zeros((1, 65), dtype=np.float64)
        cv2.setRNGSeed(self.seed)
        try:
            cv2.grabCut(rgb, labels, (0, 0, 0, 0), bgd, fgd, self.iterations, cv2.GC_INIT_WITH_MASK)
        except cv2.error:
            return box  # degenerate colour statistics: the edge box is the best guess
        fg = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
        if not fg.any():
            return box
        return np.where(fg, np.uint8(255), np.uint8(0)).astype(np.uint8)


class AlphaSegmenter(Segmenter):
    """`none`: trust the image — its own alpha if it has one, else every pixel."""

    name = "none"

    def cut_out(self, image: DecodedImage) -> RGBA:
        return image.rgba.copy()  # without transparency, alpha is already 255 everywhere


_REGISTRY: Final[dict[str, type[Segmenter]]] = {
    cls.name: cls for cls in (U2netpSegmenter, U2netSegmenter, GrabCutSegmenter, AlphaSegmenter)
}
_CACHE: dict[tuple[str, Path], Segmenter] = {}
_LOCK = threading.Lock()


def get_segmenter(name: str, *, models_dir: Path | None = None) -> Segmenter:
    """The process-wide segmenter for `name`; created on first use (thread-safe)."""
    cls = _REGISTRY.get(name)
    if cls is None:
        raise InvalidInput(
            f"unknown segmentation model {name!r}; choose one of {', '.join(SEGMENTER_NAMES)}",
            fields={"model": f"not one of {', '.join(SEGMENTER_NAMES)}"},
        )
    key = (name, (models_dir or default_models_dir()).expanduser().absolute())
    found = _CACHE.get(key)
    if found is not None:
        return found
    with _LOCK:
        found = _CACHE.get(key)
        if found is None:  # a failure (ModelMissing) is not cached: `make models` then retry
            found = cls(key[1])
            _CACHE[key] = found
        return found


def _rembg_session(name: str, path: Path, command: str) -> Any:
    import onnxruntime as ort
    from rembg.sessions.u2net_custom import U2netCustomSession

    options = ort.SessionOptions()
    options.intra_op_num_threads = onnx_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    try:
        return U2netCustomSession(
            name, options, model_path=str(path), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime rejects a damaged or partial file
        raise ModelMissing(
            f"model weights {path} could not be loaded ({type(exc).__name__}: {exc}); "
            f"fetch them again with {command}",
            fields={"model": name, "path": str(path)},
        ) from exc


def _small_rgb_on_white(image: DecodedImage, size: tuple[int, int]) -> RGB:
    """The image resized to `size` (width, height), transparency composited onto white.

    Resizing the contiguous RGBA first, then dropping or compositing alpha on the small copy,
    avoids a full-size copy: this is most of the cost outside the model."""
    import cv2

    rgba = image.rgba
    height, width = rgba.shape[:2]
    if (width, height) != size:
        shrink = size[0] <= width and size[1] <= height
        method = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        rgba = np.asarray(cv2.resize(rgba, size, interpolation=method), dtype=np.uint8)
    rgb = rgba[:, :, :3]
    if not image.has_alpha:
        return np.ascontiguousarray(rgb)
    alpha = rgba[:, :, 3:4].astype(np.uint16)
    blended = (rgb.astype(np.uint16) * alpha + 255 * (255 - alpha) + 127) // 255
    return blended.astype(np.uint8)


def _to_mask(pred: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    low, high = float(pred.min()), float(pred.max())
    if not high > low:  # a constant output carries no foreground
        return np.zeros(pred.shape, dtype=np.uint8)
    scaled = (pred - low) * (255.0 / (high - low))
    mask: npt.NDArray[np.uint8] = np.rint(scaled).astype(np.uint8)
    return mask


def _compose(image: DecodedImage, alpha: npt.NDArray[np.uint8]) -> RGBA:
    out = image.rgba.copy()
    if image.has_alpha:
        np.minimum(out[:, :, 3], alpha, out=out[:, :, 3])
    else:
        out[:, :, 3] = alpha
    return out
