"""The demo shop's named colours: garment colours with known sRGB values, plus the scene colours
(backgrounds, skin, hair, styling pieces) that a garment-colour pipeline must ignore."""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class NamedColour:
    """One named sRGB colour."""

    name: str
    rgb: RGB

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)

    @property
    def label(self) -> str:
        return self.name.replace("-", " ").title()


GARMENT_COLOURS: tuple[NamedColour, ...] = (
    NamedColour("navy", (31, 42, 78)),
    NamedColour("red", (192, 28, 40)),
    NamedColour("olive", (107, 112, 52)),
    NamedColour("mustard", (214, 162, 38)),
    NamedColour("black", (22, 22, 24)),
    NamedColour("white", (246, 246, 242)),
    NamedColour("beige", (214, 194, 162)),
    NamedColour("pink", (236, 152, 178)),
    NamedColour("grey", (128, 128, 132)),
    NamedColour("burgundy", (112, 22, 44)),
    NamedColour("teal", (0, 118, 122)),
    NamedColour("camel", (190, 140, 88)),
    NamedColour("forest-green", (30, 86, 52)),
    NamedColour("sky-blue", (128, 178, 222)),
    NamedColour("lilac", (184, 156, 210)),
    NamedColour("rust", (176, 70, 30)),
    NamedColour("denim-blue", (62, 96, 140)),
    NamedColour("cream", (240, 230, 206)),
)
BY_NAME: dict[str, NamedColour] = {colour.name: colour for colour in GARMENT_COLOURS}

# Two-colour prints (stripes): (first, second); the first covers `fraction` of the garment.
STRIPE_PAIRS: tuple[tuple[str, str], ...] = (
    ("navy", "white"),
    ("red", "white"),
    ("black", "white"),
    ("navy", "red"),
    ("mustard", "navy"),
    ("teal", "cream"),
    ("burgundy", "pink"),
    ("olive", "beige"),
)
STRIPE_FRACTIONS: tuple[float, ...] = (0.5, 0.6, 0.7)

# Colours too close to a light background to be shot on white.
LIGHT_GARMENTS = frozenset({"white", "cream", "beige"})

BACKGROUNDS: dict[str, RGB] = {
    "white": (255, 255, 255),
    "off-white": (246, 244, 240),
    "light-grey": (226, 226, 228),
}
SHADOW: RGB = (206, 206, 208)
SKIN_TONES: tuple[RGB, ...] = (
    (241, 204, 176),
    (224, 172, 138),
    (198, 134, 96),
    (141, 85, 56),
    (92, 56, 38),
)
HAIR_COLOURS: tuple[RGB, ...] = ((38, 28, 22), (96, 62, 36), (170, 128, 70), (214, 184, 120))
SHOES: RGB = (44, 40, 40)
# Neutral styling pieces worn with the product (a top with a skirt, trousers with a coat).
STYLING: tuple[NamedColour, ...] = (
    NamedColour("ecru", (232, 226, 214)),
    NamedColour("charcoal", (58, 58, 62)),
    NamedColour("stone", (176, 170, 160)),
)


def distance(a: RGB, b: RGB) -> float:
    """Euclidean sRGB distance (good enough to keep distractors apart from the product)."""
    return float(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5)


def styling_for(product: tuple[RGB, ...]) -> NamedColour:
    """The styling colour furthest from every product colour."""
    return max(STYLING, key=lambda option: min(distance(option.rgb, c) for c in product))
