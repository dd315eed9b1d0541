"""Colour names: the nearest ISCC-NBS level-3 name and one of the 11 basic colour terms.

Also the colour maths shared with ``palette``: exact sRGB <-> CIELAB (D65/2°, a 256-entry
linearisation LUT, skimage's formulas and constants), CIEDE2000 and the OKLab hue.

Fine names
    Nearest ISCC-NBS level-3 centroid (``studiolab/data/iscc_nbs_level3.csv``: Centore's sRGB
    centroids of the NBS/ISCC system, a US-government work) by CIEDE2000. The table's neutral
    series (White ... Black) does not sit on the D65 neutral axis: its chromaticity is about
    xy (0.313, 0.320) against D65's (0.3127, 0.3290) - a purplish cast of ~5 ΔE00 (Munsell's
    Illuminant C, asymmetric neutral regions) - so that a perfectly neutral grey would be
    named "Greenish gray". We therefore chromatically adapt the whole
    table (Bradford) from its own neutral white to D65 once, at load time. Rows without a
    centroid are skipped.

Basic terms (Black, Blue, Brown, Green, Grey, Orange, Pink, Purple, Red, White, Yellow)
    Decided from the Lab value first, with the fine name's hue word as the tie-breaker. The
    name alone is a poor guide for two reasons that matter for product photos: (1) near the
    neutral axis the nearest centroid's hue is noise ("Dark greenish gray" for a black shoe,
    "Pale yellow green" for cream socks), and (2) photographed black garments are not
    ISCC-black: studio lighting and sheen put them at L* 15-40 with a faint camera tint.
    The rule, in order:

    1. *Dark*: L* < ``DARK_L`` (20) and C* < ``DARK_C`` (12) -> Black. Navy, bottle green and
       burgundy that dark carry more chroma than that.
    2. *Neutral*: C* < ``NEUTRAL_C`` (7) -> by lightness: L* < ``BLACK_L`` (38) Black,
       L* > ``WHITE_L`` (78) White, otherwise Grey.
    3. *Chromatic*: the hue word of the nearest name - its last word ("Dark purplish blue" ->
       blue, "Brownish pink" -> pink, "Reddish orange" -> orange), violet -> Purple. When that
       last word is neutral ("Bluish gray", "Purplish black") the colour is chromatic by
       rule 2, so the modifier decides ("bluish" -> Blue); with none, the Lab hue angle does.
       *Olive* (dark yellow-green, no basic term) -> Green if its Lab hue >= ``OLIVE_H``
       (100°, greener: olive drab) else Brown (khaki).
    4. *Red / brown boundary*: the ISCC-NBS reddish-orange and reddish-brown regions straddle
       basic Red (the sRGB red primary is "Vivid reddish orange"; brick and rust are "Strong
       reddish brown"): a red-side hue (h < ``RED_H`` = 45°) with C* >= ``RED_C`` (45) is Red.
       Conversely a dark greyish red (C* < 20, L* < 45) is what people call Brown.
    5. *Blue / purple boundary*: CIELAB hue bends toward purple for saturated blues (the
       "blue turn"): navy #000080 and the sRGB blue primary sit at h_ab = 306°, and dark ones
       land in ISCC-NBS's violet region. OKLab is hue-linear by design and puts them at 264°
       with the other blues, so a "violet"/"purple" whose OKLab hue is < ``BLUE_OKLAB_H``
       (282°: midnight blue 273°, slate blue 286°, indigo 302°) is Blue.

    Thresholds are round numbers from the reasoning above, refined by looking at where the
    plain name mapping fails on 851 labelled product photos (UAB clothing set, crude
    white-background cut-out): there the dominant colour's basic term is one of the human
    labels for ~0.78 of images (plain name mapping: 0.69), and moving any threshold by a few
    units changes that by < 0.01. Being read off that set, the number flatters a little.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from studiolab.domain.errors import ConfigError
from studiolab.domain.models.item import BasicColour

FloatArray = npt.NDArray[np.float64]

# --- sRGB <-> CIELAB (D65, 2 deg observer; skimage's constants) ------------------------------
XYZ_FROM_RGB = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
_RGB_FROM_XYZ = np.linalg.inv(XYZ_FROM_RGB)
_LAB_FROM_F = np.array([[0.0, 500.0, 0.0], [116.0, -500.0, 200.0], [0.0, 0.0, -200.0]])
_XYZN_FROM_RGB = (XYZ_FROM_RGB / WHITE_D65[:, None]).T  # rgb_lin @ this = XYZ / white


def _linearise_table() -> FloatArray:
    v = np.arange(256, dtype=np.float64) / 255.0
    return np.where(v > 0.04045, ((v + 0.055) / 1.055) ** 2.4, v / 12.92)


_SRGB_TO_LINEAR = _linearise_table()


def srgb_to_linear(rgb: npt.NDArray[np.uint8]) -> FloatArray:
    """(..., 3) uint8 sRGB -> linear light in [0, 1] (a 256-entry lookup)."""
    out: FloatArray = _SRGB_TO_LINEAR[rgb]
    return out


def _f_to_lab(t: FloatArray) -> FloatArray:
    """XYZ / white -> Lab with the CIE cube root (skimage's 0.008856 / 7.787 constants)."""
    f = np.cbrt(t)
    small = t <= 0.008856
    if small.any():
        f[small] = 7.787 * t[small] + 16.0 / 116.0
    lab: FloatArray = f @ _LAB_FROM_F
    lab[..., 0] -= 16.0
    return lab


def xyz_to_lab(xyz: npt.ArrayLike) -> FloatArray:
    """(..., 3) XYZ (Y of white = 1) -> CIELAB relative to D65."""
    return _f_to_lab(np.asarray(xyz, dtype=np.float64) / WHITE_D65)


def srgb_to_lab(rgb: npt.NDArray[np.uint8]) -> FloatArray:
    """(..., 3) uint8 sRGB -> (..., 3) float64 CIELAB (D65/2°), same formulas as skimage."""
    return _f_to_lab(_SRGB_TO_LINEAR[rgb] @ _XYZN_FROM_RGB)


def lab_to_linear(lab: npt.ArrayLike) -> FloatArray:
    """(..., 3) CIELAB -> (..., 3) linear-light sRGB, clipped to [0, 1]."""
    arr = np.asarray(lab, dtype=np.float64)
    fy = (arr[..., 0] + 16.0) / 116.0
    f = np.stack([arr[..., 1] / 500.0 + fy, fy, np.maximum(fy - arr[..., 2] / 200.0, 0.0)], -1)
    t = np.where(f > 0.2068966, f**3, (f - 16.0 / 116.0) / 7.787)
    out: FloatArray = np.clip((t * WHITE_D65) @ _RGB_FROM_XYZ.T, 0.0, 1.0)
    return out


def lab_to_srgb_float(lab: npt.ArrayLike) -> FloatArray:
    """(..., 3) CIELAB -> (..., 3) sRGB in [0, 1] (clipped to the gamut)."""
    lin = lab_to_linear(lab)
    out: FloatArray = np.where(lin > 0.0031308, 1.055 * np.power(lin, 1 / 2.4) - 0.055, lin * 12.92)
    return out


def lab_to_srgb(lab: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """(..., 3) CIELAB -> (..., 3) uint8 sRGB, rounded to the nearest code value."""
    out: npt.NDArray[np.uint8] = np.rint(lab_to_srgb_float(lab) * 255.0).astype(np.uint8)
    return out


DARK_L, DARK_C = 20.0, 12.0
NEUTRAL_C = 7.0
BLACK_L, WHITE_L = 38.0, 78.0
OLIVE_H = 100.0
RED_H, RED_C = 45.0, 45.0
BROWN_C, BROWN_L = 20.0, 45.0
BLUE_OKLAB_H = 282.0
_OKLAB_LMS = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ]
)
_OKLAB_AB = np.array(
    [[1.9779984951, -2.4285922050, 0.4505937099], [0.0259040371, 0.7827717662, -0.8086757660]]
)

_HUE_WORDS: dict[str, BasicColour | None] = {
    "pink": "Pink",
    "red": "Red",
    "orange": "Orange",
    "brown": "Brown",
    "yellow": "Yellow",
    "green": "Green",
    "blue": "Blue",
    "violet": "Purple",
    "purple": "Purple",
    "olive": None,  # decided by hue angle
}
_MODIFIERS: dict[str, BasicColour | None] = {
    "pinkish": "Pink",
    "reddish": "Red",
    "brownish": "Brown",
    "yellowish": "Yellow",
    "olive": None,
    "greenish": "Green",
    "bluish": "Blue",
    "purplish": "Purple",
}
_NEUTRAL_WORDS = {"white", "gray", "grey", "black"}


def delta_e00(lab1: npt.ArrayLike, lab2: npt.ArrayLike, k_l: float = 1.0) -> FloatArray:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005) between broadcastable (..., 3) Lab
    arrays; ``k_l = 2`` is the textile-industry lightness weight. Lean numpy, no skimage call."""
    x = np.asarray(lab1, dtype=np.float64)
    y = np.asarray(lab2, dtype=np.float64)
    l1, a1, b1 = x[..., 0], x[..., 1], x[..., 2]
    l2, a2, b2 = y[..., 0], y[..., 1], y[..., 2]
    c7 = (0.5 * (np.hypot(a1, b1) + np.hypot(a2, b2))) ** 7
    g = 1.5 - 0.5 * np.sqrt(c7 / (c7 + 25.0**7))
    c1, c2 = np.hypot(a1 * g, b1), np.hypot(a2 * g, b2)
    h1 = np.arctan2(b1, a1 * g) % (2 * np.pi)
    h2 = np.arctan2(b2, a2 * g) % (2 * np.pi)
    cc = c1 * c2
    dh = h2 - h1
    dh = np.where(dh > np.pi, dh - 2 * np.pi, np.where(dh < -np.pi, dh + 2 * np.pi, dh))
    dh = np.where(cc == 0.0, 0.0, dh)
    hsum = h1 + h2
    hbar = (
        np.where(
            (cc != 0.0) & (np.abs(h2 - h1) > np.pi),
            np.where(hsum < 2 * np.pi, hsum + 2 * np.pi, hsum - 2 * np.pi),
            np.where(cc == 0.0, 2 * hsum, hsum),
        )
        * 0.5
    )
    lbar2 = (0.5 * (l1 + l2) - 50.0) ** 2
    cbar = 0.5 * (c1 + c2)
    t = (
        1.0
        - 0.17 * np.cos(hbar - np.pi / 6)
        + 0.24 * np.cos(2 * hbar)
        + 0.32 * np.cos(3 * hbar + np.deg2rad(6.0))
        - 0.20 * np.cos(4 * hbar - np.deg2rad(63.0))
    )
    l_term = (l2 - l1) / (k_l * (1.0 + 0.015 * lbar2 / np.sqrt(20.0 + lbar2)))
    c_term = (c2 - c1) / (1.0 + 0.045 * cbar)
    h_term = 2.0 * np.sqrt(cc) * np.sin(dh / 2) / (1.0 + 0.015 * cbar * t)
    cb7 = cbar**7
    rot = np.deg2rad(30.0) * np.exp(-(((np.rad2deg(hbar) - 275.0) / 25.0) ** 2))
    r_term = -np.sin(2 * rot) * 2.0 * np.sqrt(cb7 / (cb7 + 25.0**7)) * c_term * h_term
    out: FloatArray = np.sqrt(np.maximum(l_term**2 + c_term**2 + h_term**2 + r_term, 0.0))
    return out


def _hue_sector(lightness: float, hue: float) -> BasicColour:
    """Basic term of a chromatic colour from its CIELAB hue angle alone (fallback)."""
    if 200.0 <= hue < 300.0:
        return "Blue"
    if 300.0 <= hue < 345.0:
        return "Purple"
    if hue >= 345.0 or hue < 40.0:
        return "Pink" if lightness > 60.0 else "Red"
    if hue < 75.0:
        return "Brown"
    if hue < 105.0:
        return "Yellow" if lightness > 65.0 else "Brown"
    return "Green"


def oklab_hue(lab: Sequence[float]) -> float:
    """OKLab hue angle (degrees) of a CIELAB colour (via linear sRGB, clipped to the gamut)."""
    lms = np.cbrt(_OKLAB_LMS @ lab_to_linear(np.asarray(lab, dtype=np.float64)))
    a, b = _OKLAB_AB @ lms
    return float(np.degrees(np.arctan2(b, a)) % 360.0)


def basic_term(lab: Sequence[float], name: str) -> BasicColour:
    """The basic colour term of one Lab colour whose nearest ISCC-NBS name is ``name``."""
    lightness, a, b = float(lab[0]), float(lab[1]), float(lab[2])
    chroma = float(np.hypot(a, b))
    hue = float(np.degrees(np.arctan2(b, a)) % 360.0)
    if lightness < DARK_L and chroma < DARK_C:
        return "Black"
    if chroma < NEUTRAL_C:
        return "Black" if lightness < BLACK_L else "White" if lightness > WHITE_L else "Grey"
    words = name.lower().split()
    head = words[-1]
    if head in _NEUTRAL_WORDS:  # chromatic by Lab: the modifier, else the hue angle, decides
        term = next((_MODIFIERS[w] for w in words[:-1] if w in _MODIFIERS), None)
        if term is None:
            return _hue_sector(lightness, hue)
        head_term: BasicColour | None = term
    else:
        head_term = _HUE_WORDS.get(head)
    if head_term is None:  # olive
        return "Green" if hue >= OLIVE_H else "Brown"
    if head_term in ("Red", "Brown", "Orange") and hue < RED_H:
        if chroma >= RED_C:  # strong reddish brown / reddish orange: brick, rust, pure red
            return "Red"
        if head_term == "Red" and chroma < BROWN_C and lightness < BROWN_L:
            return "Brown"  # dark greyish red
    if head_term == "Purple" and 180.0 < oklab_hue(lab) < BLUE_OKLAB_H:
        return "Blue"  # navy, the blue primary: CIELAB's blue turn
    return head_term


def _bradford(src_white: FloatArray, dst_white: FloatArray) -> FloatArray:
    """3x3 Bradford chromatic adaptation matrix for XYZ column vectors."""
    m = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
    gain = (m @ dst_white) / (m @ src_white)
    out: FloatArray = np.linalg.inv(m) @ np.diag(gain) @ m
    return out


def load_table() -> tuple[list[str], npt.NDArray[np.uint8]]:
    """ISCC-NBS level-3 names and sRGB centroids shipped with the package (rows without a
    centroid skipped)."""
    text = resources.files("studiolab.data").joinpath("iscc_nbs_level3.csv").read_text("utf-8")
    names: list[str] = []
    rgbs: list[tuple[int, int, int]] = []
    for row in list(csv.reader(text.splitlines()))[1:]:
        cells = [c.strip() for c in row]
        if len(cells) < 4 or not cells[0] or not all(c.isdigit() for c in cells[1:4]):
            continue
        names.append(cells[0])
        rgbs.append((int(cells[1]), int(cells[2]), int(cells[3])))
    return names, np.array(rgbs, dtype=np.uint8)


def _adapted_lab(rgb: npt.NDArray[np.uint8], names: list[str]) -> FloatArray:
    """Lab (D65) of the centroids after adapting the table's neutral white to D65."""
    xyz = srgb_to_linear(rgb) @ XYZ_FROM_RGB.T
    neutral = [
        i
        for i, n in enumerate(names)
        if n.lower() in {"white", "light gray", "medium gray", "dark gray", "black"}
    ]
    if neutral:
        chroma = xyz[neutral] / xyz[neutral].sum(1, keepdims=True)
        x, y = chroma[:, 0].mean(), chroma[:, 1].mean()
        src = np.array([x / y, 1.0, (1.0 - x - y) / y])
        xyz = xyz @ _bradford(src, WHITE_D65).T
    return xyz_to_lab(xyz)


class ColourNamer:
    """Names Lab colours: nearest ISCC-NBS level-3 name (CIEDE2000), basic term, ΔE00."""

    def __init__(self) -> None:
        self.names, self.rgb = load_table()
        self.lab = _adapted_lab(self.rgb, self.names)
        lightness = {n.lower(): float(v) for n, v in zip(self.names, self.lab[:, 0], strict=True)}
        self.l_range = (
            lightness.get("black", float(self.lab[:, 0].min())),
            lightness.get("white", float(self.lab[:, 0].max())),
        )

    def nearest(self, lab: npt.ArrayLike) -> tuple[npt.NDArray[np.intp], FloatArray]:
        """Index of the nearest centroid and its ΔE00 for each of (k, 3) Lab colours. The
        search clamps L* to the Black..White centroids' range: those ISCC-NBS regions reach
        L* 0 and 100 while their centroids sit at ~17 and ~90, so without the clamp #000000
        would be named after the darkest chromatic centroid ("Olive black"). The ΔE00
        returned is the true one, to the unclamped colour."""
        arr = np.asarray(lab, dtype=np.float64).reshape(-1, 3)
        query = arr.copy()
        query[:, 0] = np.clip(query[:, 0], *self.l_range)
        idx = np.argmin(delta_e00(query[:, None, :], self.lab[None, :, :]), axis=1)
        return idx.astype(np.intp), delta_e00(arr, self.lab[idx])

    def name(self, lab: npt.ArrayLike) -> tuple[list[str], list[BasicColour], FloatArray]:
        """(fine names, basic terms, ΔE00 to the named centroid) for (k, 3) Lab colours."""
        arr = np.asarray(lab, dtype=np.float64).reshape(-1, 3)
        idx, de = self.nearest(arr)
        fine = [self.names[int(i)] for i in idx]
        basics = [basic_term(arr[j], fine[j]) for j in range(arr.shape[0])]
        return fine, basics, de


@lru_cache(maxsize=1)
def default_namer() -> ColourNamer:
    """The shared namer (the table is parsed and adapted once per process)."""
    return ColourNamer()


@dataclass(frozen=True)
class UserPalette:
    """A user-supplied named palette (e.g. a licensed Pantone TCX list): CSV ``name,hex``."""

    names: tuple[str, ...]
    hexes: tuple[str, ...]
    lab: FloatArray

    @classmethod
    def from_csv(cls, path: str | Path) -> UserPalette:
        """Read ``name,hex`` rows (an optional header ``name,hex``; blank lines and ``#``
        comments skipped). A bad row raises ConfigError naming its line."""
        source = Path(path)
        try:
            text = source.read_text("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read user palette {source}: {exc}") from exc
        names: list[str] = []
        hexes: list[str] = []
        for lineno, row in enumerate(csv.reader(text.splitlines()), start=1):
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            cells = [c.strip() for c in row]
            if lineno == 1 and [c.lower() for c in cells[:2]] == ["name", "hex"]:
                continue
            if len(cells) != 2 or not cells[0]:
                raise ConfigError(f"{source}:{lineno}: expected 'name,hex', got {row!r}")
            code = cells[1].lower().removeprefix("#")
            if len(code) != 6 or any(ch not in "0123456789abcdef" for ch in code):
                raise ConfigError(f"{source}:{lineno}: {cells[1]!r} is not a #rrggbb colour")
            names.append(cells[0])
            hexes.append("#" + code)
        if not names:
            raise ConfigError(f"{source}: no colours in the user palette")
        rgb = np.array([[int(h[i : i + 2], 16) for i in (1, 3, 5)] for h in hexes], np.uint8)
        return cls(tuple(names), tuple(hexes), srgb_to_lab(rgb))

    def match(self, lab: npt.ArrayLike) -> tuple[str, str, float]:
        """Nearest entry to one Lab colour: (name, hex, ΔE00)."""
        de = delta_e00(np.asarray(lab, dtype=np.float64).reshape(1, 3), self.lab)
        i = int(np.argmin(de))
        return self.names[i], self.hexes[i], float(de[i])
