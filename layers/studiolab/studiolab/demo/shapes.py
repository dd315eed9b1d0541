"""Garment silhouettes and a person-like figure in body coordinates.

Body coordinates: u is horizontal (0 = body centre, 1 = a shoulder's half-width), t is vertical
(0 = shoulder line, 0.30 waist, 0.40 hips, 0.65 knees, 0.92 ankles). A `Frame` maps them to
pixels; the figure uses one fixed frame, packshots zoom onto the garment's bounding box."""

from __future__ import annotations

from dataclasses import dataclass

Point = tuple[float, float]
Polygon = list[Point]
# Pixels per unit t over pixels per unit u: keeps shapes undistorted at any zoom.
T_OVER_U = 8.0


@dataclass(frozen=True)
class Frame:
    cx: float  # pixel x of u = 0
    y0: float  # pixel y of t = 0
    ux: float  # pixels per unit u (t gets ux * T_OVER_U)

    def point(self, u: float, t: float) -> tuple[float, float]:
        return (self.cx + u * self.ux, self.y0 + t * self.ux * T_OVER_U)

    def polygon(self, shape: Polygon) -> list[tuple[float, float]]:
        return [self.point(u, t) for u, t in shape]


def figure_frame(width: int, height: int) -> Frame:
    """A standing figure: head at the top, feet near the bottom of the image."""
    ux = min(0.10 * height, 0.16 * width)
    return Frame(cx=width / 2, y0=0.19 * height, ux=ux)


def packshot_frame(shapes: list[Polygon], width: int, height: int, fill: float = 0.8) -> Frame:
    """Zoom so the garment fills `fill` of the image, centred."""
    us = [u for shape in shapes for u, _ in shape]
    ts = [t for shape in shapes for _, t in shape]
    span_u = max(us) - min(us)
    span_t = (max(ts) - min(ts)) * T_OVER_U
    ux = min(fill * width / span_u, fill * height / span_t)
    cx = width / 2 - (max(us) + min(us)) / 2 * ux
    y0 = height / 2 - (max(ts) + min(ts)) / 2 * ux * T_OVER_U
    return Frame(cx=cx, y0=y0, ux=ux)


def _mirror(half: Polygon) -> Polygon:
    """A symmetric outline from its left half (listed top to bottom, u < 0)."""
    return half + [(-u, t) for u, t in reversed(half)]


def _hem(left: Point, right: Point, sag: float, steps: int = 8) -> Polygon:
    """Points of a gently curved hem from left to right."""
    (u0, t0), (u1, t1) = left, right
    return [
        (
            u0 + (u1 - u0) * k / steps,
            t0 + (t1 - t0) * k / steps + sag * (1 - (2 * k / steps - 1) ** 2),
        )
        for k in range(1, steps)
    ]


SKIRTS: dict[str, tuple[float, float, float]] = {  # style -> (hem t, hem half-width, hip)
    "flare": (0.66, 1.35, 0.0),
    "pencil": (0.64, 0.70, 0.80),
    "pleated": (0.68, 1.20, 0.0),
    "a-line": (0.64, 1.05, 0.0),
    "mini": (0.50, 1.00, 0.0),
    "midi": (0.78, 1.20, 0.0),
    "maxi": (0.90, 1.35, 0.0),
    "wrap": (0.70, 1.10, 0.0),
    "denim": (0.58, 0.85, 0.80),
}


def skirt(style: str) -> list[Polygon]:
    hem_t, hem_w, hip = SKIRTS.get(style, SKIRTS["a-line"])
    if style == "pleated":
        teeth = 12
        hem = [
            (hem_w - 2 * hem_w * k / teeth, hem_t + (0.025 if k % 2 else 0.0))
            for k in range(teeth + 1)
        ]
    elif style == "wrap":
        hem = [(hem_w, hem_t - 0.06), (-hem_w, hem_t + 0.03)]
    else:
        hem = [(hem_w, hem_t), *_hem((hem_w, hem_t), (-hem_w, hem_t), 0.03), (-hem_w, hem_t)]
    right_hip = [(hip, 0.40)] if hip else []
    left_hip = [(-hip, 0.40)] if hip else []
    return [[(-0.62, 0.28), (0.62, 0.28), *right_hip, *hem, *left_hip]]


DRESSES: dict[str, tuple[float, float]] = {  # style -> (hem t, hem half-width)
    "maxi": (0.90, 1.25),
    "midi": (0.76, 1.10),
    "mini": (0.50, 0.95),
    "shirt": (0.66, 0.95),
    "wrap": (0.72, 1.10),
    "slip": (0.74, 0.90),
    "bodycon": (0.62, 0.72),
    "a-line": (0.66, 1.15),
    "sweater": (0.62, 0.88),
}


def dress(style: str) -> list[Polygon]:
    hem_t, hem_w = DRESSES.get(style, DRESSES["midi"])
    shoulder = 0.62 if style == "slip" else 0.84
    half: Polygon = [
        (-0.30, -0.01), (-shoulder, 0.02), (-0.74, 0.13), (-0.60, 0.30), (-0.72, 0.40),
        (-hem_w, hem_t),
    ]  # fmt: skip
    body = (
        half + _hem((-hem_w, hem_t), (hem_w, hem_t), 0.025) + [(-u, t) for u, t in reversed(half)]
    )
    body.append((0.0, 0.09))  # V neckline between the two neck points
    shapes = [body]
    if style in {"shirt", "sweater"}:
        shapes += sleeves(long=style == "sweater")
    return shapes


def sleeves(*, long: bool, shoulder: float = 0.92) -> list[Polygon]:
    end_t, outer, inner = (0.47, 1.30, 1.08) if long else (0.20, 1.30, 1.10)
    left = [(-shoulder, 0.02), (-outer, end_t), (-inner, end_t + 0.03), (-0.82, 0.14)]
    return [left, [(-u, t) for u, t in left]]


TOPS: dict[str, tuple[float, str]] = {  # style -> (hem t, sleeves: none | short | long)
    "t-shirt": (0.42, "short"),
    "blouse": (0.42, "long"),
    "shirt": (0.44, "long"),
    "tank": (0.42, "none"),
    "crop": (0.26, "short"),
    "polo": (0.42, "short"),
    "bodysuit": (0.40, "none"),
    "tunic": (0.56, "long"),
}


def top(style: str, *, hem_t: float | None = None, sleeve: str | None = None) -> list[Polygon]:
    default_hem, default_sleeve = TOPS.get(style, TOPS["t-shirt"])
    hem_t = default_hem if hem_t is None else hem_t
    sleeve = default_sleeve if sleeve is None else sleeve
    shoulder = 0.66 if sleeve == "none" else 0.94
    body = _mirror([(-0.32, -0.02), (-shoulder, 0.03), (-0.82, 0.14), (-0.78, 0.30),
                    (-0.84, hem_t)])  # fmt: skip
    body.append((0.0, 0.06))  # crew neckline
    shapes = [body]
    if sleeve != "none":
        shapes += sleeves(long=sleeve == "long")
    if style in {"shirt", "polo", "blouse"}:
        shapes += [[(-0.34, -0.04), (-0.04, 0.10), (-0.22, 0.08)],
                   [(0.34, -0.04), (0.04, 0.10), (0.22, 0.08)]]  # fmt: skip
    return shapes


PANTS: dict[str, tuple[float, float, float]] = {  # style -> (hem t, outer, inner half-width)
    "jeans": (0.92, 0.74, 0.12),
    "wide-leg": (0.92, 1.05, 0.08),
    "straight": (0.92, 0.80, 0.12),
    "skinny": (0.92, 0.62, 0.16),
    "cargo": (0.90, 0.86, 0.10),
    "chinos": (0.92, 0.78, 0.12),
    "joggers": (0.90, 0.66, 0.16),
    "leggings": (0.92, 0.58, 0.18),
    "culottes": (0.68, 1.00, 0.05),
    "shorts": (0.52, 0.92, 0.06),
}


def pants(style: str) -> list[Polygon]:
    hem_t, outer, inner = PANTS.get(style, PANTS["straight"])
    return [[
        (-0.64, 0.28), (0.64, 0.28), (0.76, 0.40), (outer, hem_t), (inner, hem_t), (0.0, 0.47),
        (-inner, hem_t), (-outer, hem_t), (-0.76, 0.40),
    ]]  # fmt: skip


OUTERWEAR: dict[str, float] = {  # style -> hem t
    "trench": 0.74,
    "parka": 0.62,
    "puffer": 0.45,
    "blazer": 0.44,
    "denim-jacket": 0.38,
    "leather-jacket": 0.38,
    "bomber": 0.38,
    "wool-coat": 0.72,
    "raincoat": 0.70,
}


def outerwear(style: str) -> list[Polygon]:
    hem_t = OUTERWEAR.get(style, 0.6)
    hem_w = 1.08 if hem_t > 0.6 else 0.96
    body = _mirror([(-0.34, -0.03), (-1.0, 0.03), (-0.90, 0.16), (-0.86, 0.30), (-hem_w, hem_t)])
    body.append((0.0, 0.16))  # open front between the lapels
    return [body, *sleeves(long=True, shoulder=1.0)]


def knitwear(style: str) -> list[Polygon]:
    if style == "knit-vest":
        return top("tank", hem_t=0.42, sleeve="none")
    shapes = top("knit", hem_t=0.46 if style == "cardigan" else 0.43, sleeve="long")
    if style == "turtleneck":
        shapes.append([(-0.24, -0.055), (0.24, -0.055), (0.30, 0.03), (-0.30, 0.03)])
    if style == "hoodie":
        shapes.append([(-0.50, 0.04), (-0.38, -0.05), (0.38, -0.05), (0.50, 0.04)])  # hood down
    return shapes


def garment(category: str, style: str) -> list[Polygon]:
    """The product's silhouette in body coordinates."""
    builders = {
        "skirt": skirt,
        "dress": dress,
        "top": top,
        "pants": pants,
        "outerwear": outerwear,
        "knitwear": knitwear,
    }
    return builders[category](style)


def styling_piece(category: str) -> list[Polygon]:
    """What the figure wears with the product: a top with skirts and pants, trousers otherwise."""
    if category in {"skirt", "pants"}:
        return top("t-shirt", hem_t=0.34)
    if category in {"top", "knitwear", "outerwear"}:
        return pants("straight")
    return []


# The figure (drawn in skin / hair / shoe colours).
ARMS = [[(-0.90, 0.04), (-1.20, 0.47), (-1.04, 0.50), (-0.78, 0.12)],
        [(0.90, 0.04), (1.20, 0.47), (1.04, 0.50), (0.78, 0.12)]]  # fmt: skip
LEGS = [[(-0.56, 0.40), (-0.42, 0.92), (-0.20, 0.92), (-0.06, 0.45)],
        [(0.56, 0.40), (0.42, 0.92), (0.20, 0.92), (0.06, 0.45)]]  # fmt: skip
TORSO = [_mirror([(-0.30, -0.02), (-0.90, 0.03), (-0.74, 0.30), (-0.70, 0.44)])]
NECK = [[(-0.20, -0.07), (0.20, -0.07), (0.22, 0.01), (-0.22, 0.01)]]
HEAD = (0.0, -0.125, 0.058)  # centre u, centre t, radius in units of t
