"""Colour naming: ISCC-NBS fine names, the 11 basic terms, CIEDE2000, user palettes."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from skimage import color as skcolor

from studiolab.domain.errors import ConfigError
from studiolab.domain.models.item import BASIC_COLOURS
from studiolab.vision.naming import (
    ColourNamer,
    UserPalette,
    basic_term,
    default_namer,
    delta_e00,
    load_table,
)
from studiolab.vision.palette import srgb_to_lab

_SKIMAGE_DE00: Any = skcolor.deltaE_ciede2000  # untyped in skimage
SHARED_TABLE = Path(__file__).resolve().parents[3] / "shared/data/colour-names/iscc_nbs_level3.csv"


def _lab(hex_code: str) -> npt.NDArray[np.float64]:
    rgb = np.array([[int(hex_code[i : i + 2], 16) for i in (1, 3, 5)]], dtype=np.uint8)
    return srgb_to_lab(rgb)


def _basic(hex_code: str) -> str:
    return default_namer().name(_lab(hex_code))[1][0]


@pytest.mark.parametrize(
    ("hex_code", "basic"),
    [
        ("#ff0000", "Red"),  # sRGB red primary: ISCC "Vivid reddish orange", people say red
        ("#c81e1e", "Red"),
        ("#8b0000", "Red"),  # dark red
        ("#800000", "Red"),  # maroon
        ("#000080", "Blue"),  # navy
        ("#1f2a44", "Blue"),  # dark navy
        ("#1f77b4", "Blue"),
        ("#4a6fa5", "Blue"),  # denim
        ("#ffffff", "White"),
        ("#f5f5f0", "White"),
        ("#000000", "Black"),
        ("#1a1a1a", "Black"),
        ("#2b2b2e", "Black"),  # a black garment under studio light
        ("#808080", "Grey"),
        ("#a9a9a9", "Grey"),
        ("#6b8e23", "Green"),  # olive drab
        ("#808000", "Green"),  # olive
        ("#8b7d4b", "Brown"),  # khaki olive
        ("#ffc0cb", "Pink"),
        ("#ff69b4", "Pink"),
        ("#e75480", "Pink"),
        ("#8b4513", "Brown"),  # saddle brown
        ("#654321", "Brown"),  # dark brown
        ("#ff8c00", "Orange"),
        ("#ffd700", "Yellow"),
        ("#ffff00", "Yellow"),
        ("#008000", "Green"),
        ("#2e8b57", "Green"),
        ("#800080", "Purple"),
        ("#6a0dad", "Purple"),
        ("#00008b", "Blue"),  # dark blue: h_ab 306 deg, CIELAB's blue turn
        ("#0000ff", "Blue"),
        ("#191970", "Blue"),  # midnight blue
        ("#4b0082", "Purple"),  # indigo
    ],
)
def test_clear_basic_terms(hex_code: str, basic: str) -> None:
    assert _basic(hex_code) == basic


def test_names_are_vectorised_with_non_negative_delta_e() -> None:
    rng = np.random.default_rng(0)
    lab = srgb_to_lab(rng.integers(0, 256, (50, 3), dtype=np.uint8))
    names, basics, de = default_namer().name(lab)
    assert len(names) == len(basics) == de.shape[0] == 50
    assert set(basics) <= set(BASIC_COLOURS)
    assert (de >= 0).all()
    assert all(isinstance(n, str) and n for n in names)


def test_exact_centroid_has_zero_delta_e_and_its_own_name() -> None:
    namer = default_namer()
    names, _, de = namer.name(namer.lab[[0, 10, 100]])
    assert names == [namer.names[0], namer.names[10], namer.names[100]]
    assert np.allclose(de, 0.0, atol=1e-9)


def test_neutral_greys_get_grey_names_after_adaptation() -> None:
    """The table's neutrals carry a purplish cast; adapted to D65, a neutral grey is named
    'Medium gray' (not 'Greenish gray') and white 'White'."""
    namer = default_namer()
    fine, basic, _ = namer.name(np.array([[55.8, 0.0, 0.0], [90.0, 0.0, 0.0], [36.0, 0.0, 0.0]]))
    assert fine == ["Medium gray", "White", "Dark gray"]
    assert basic == ["Grey", "White", "Black"]
    white = namer.lab[namer.names.index("White")]
    assert np.hypot(white[1], white[2]) < 1.5


def test_extremes_are_named_black_and_white() -> None:
    fine, basic, de = default_namer().name(np.array([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0]]))
    assert fine == ["Black", "White"]
    assert basic == ["Black", "White"]
    assert (de > 0).all()  # the true distance to the centroids, not to the clamped query


def test_table_is_shipped_complete() -> None:
    names, rgb = load_table()
    assert 250 <= len(names) <= 267
    assert len(set(names)) == len(names)
    assert rgb.shape == (len(names), 3)
    if SHARED_TABLE.exists():
        with SHARED_TABLE.open(encoding="utf-8") as fh:
            rows = [r for r in list(csv.reader(fh))[1:] if len(r) >= 4 and r[1].strip()]
        assert names == [r[0].strip() for r in rows]


def test_basic_term_rule_pieces() -> None:
    assert basic_term((50.0, -2.0, -12.0), "Bluish gray") == "Blue"  # chromatic by Lab
    assert basic_term((50.0, 1.0, -3.0), "Bluish gray") == "Grey"  # neutral by Lab
    assert basic_term((12.0, 3.0, -9.0), "Blackish blue") == "Black"  # too dark to be navy
    assert basic_term((14.0, 8.0, -30.0), "Deep purplish blue") == "Blue"  # navy
    assert basic_term((40.0, -8.0, 30.0), "Moderate olive") == "Green"  # hue > 100 deg
    assert basic_term((40.0, 5.0, 30.0), "Moderate olive") == "Brown"  # hue < 100 deg
    assert basic_term((33.0, 55.0, 38.0), "Strong reddish brown") == "Red"  # brick
    assert basic_term((25.0, 10.0, 4.0), "Dark grayish red") == "Brown"
    assert basic_term((70.0, 20.0, 5.0), "Moderate purplish pink") == "Pink"


@pytest.mark.parametrize("k_l", [1.0, 2.0])
def test_delta_e00_matches_skimage(k_l: float) -> None:
    rng = np.random.default_rng(1)
    a = np.c_[rng.uniform(0, 100, 5000), rng.uniform(-100, 100, (5000, 2))]
    b = np.c_[rng.uniform(0, 100, 5000), rng.uniform(-100, 100, (5000, 2))]
    b[:100] = a[:100]
    a[100:200, 1:] = 0.0
    assert np.abs(delta_e00(a, b, k_l) - _SKIMAGE_DE00(a, b, kL=k_l)).max() < 1e-9


@pytest.mark.parametrize(
    ("lab1", "lab2", "expected"),
    [  # Sharma, Wu & Dalal (2005), test data pairs 1, 7, 17, 25
        ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
        ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
        ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
        ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ],
)
def test_delta_e00_reference_pairs(
    lab1: tuple[float, float, float], lab2: tuple[float, float, float], expected: float
) -> None:
    assert float(delta_e00(lab1, lab2)) == pytest.approx(expected, abs=1e-4)
    assert float(delta_e00(lab2, lab1)) == pytest.approx(expected, abs=1e-4)


def test_default_namer_is_cached() -> None:
    assert default_namer() is default_namer()
    assert isinstance(default_namer(), ColourNamer)


def test_user_palette_good_csv(tmp_path: Path) -> None:
    path = tmp_path / "palette.csv"
    path.write_text(
        "name,hex\n# licensed list, not shipped\nClassic Blue,#0F4C81\n\nCoral,ff6f61\n"
        "Ultra Violet , #5F4B8B \n",
        encoding="utf-8",
    )
    palette = UserPalette.from_csv(path)
    assert palette.names == ("Classic Blue", "Coral", "Ultra Violet")
    assert palette.hexes == ("#0f4c81", "#ff6f61", "#5f4b8b")
    name, hex_code, de = palette.match(_lab("#0f4c81")[0])
    assert (name, hex_code) == ("Classic Blue", "#0f4c81")
    assert de == pytest.approx(0.0, abs=1e-9)
    name, _, de = palette.match(skcolor.rgb2lab(np.array([[[250, 110, 100]]]) / 255.0)[0, 0])
    assert name == "Coral"
    assert 0.0 < de < 3.0


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("name,hex\nBlue,#0F4C81\nRed,#GG0000\n", 3),
        ("Blue,#0F4C81\nnohex\n", 2),
        ("Blue,#0F4C81\nToo,#ffffff,many\n", 2),
        ("Blue,#0F4C8\n", 1),
        (",#0F4C81\n", 1),
    ],
)
def test_user_palette_bad_rows_name_the_line(tmp_path: Path, content: str, line: int) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        UserPalette.from_csv(path)
    assert f"{path}:{line}:" in info.value.message


def test_user_palette_empty_or_missing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("name,hex\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        UserPalette.from_csv(empty)
    with pytest.raises(ConfigError):
        UserPalette.from_csv(tmp_path / "missing.csv")
