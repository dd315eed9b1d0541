"""A deterministic fashion catalog for the demo shop.

`product_at(index, seed)` is a pure function, so a catalog of N products is a prefix of any larger
catalog with the same seed and a handle alone (it ends with the product index) is enough to
rebuild its product, e.g. for `ground_truth(handle)`. Categories follow a fixed weighted cycle
(skirts most often) and styles rotate within a category, so even small catalogs cover flare,
pencil and pleated skirts."""

from __future__ import annotations

import json
import random
import re
import string
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from functools import cache
from importlib import resources

from studiolab.demo.colours import (
    BY_NAME,
    GARMENT_COLOURS,
    LIGHT_GARMENTS,
    RGB,
    STRIPE_FRACTIONS,
    STRIPE_PAIRS,
)

CURRENCY = "EUR"
CATEGORIES: dict[str, tuple[str, str]] = {  # category -> (collection slug, collection title)
    "skirt": ("skirts", "Skirts"),
    "dress": ("dresses", "Dresses"),
    "top": ("tops", "Tops"),
    "pants": ("pants", "Pants"),
    "outerwear": ("outerwear", "Outerwear"),
    "knitwear": ("knitwear", "Knitwear"),
}
# 20 slots: skirt 5, dress 4, top 4, pants 3, outerwear 2, knitwear 2.
CYCLE: tuple[str, ...] = (
    "skirt", "dress", "top", "pants", "skirt", "knitwear", "dress", "top", "skirt", "outerwear",
    "pants", "dress", "skirt", "top", "knitwear", "pants", "dress", "skirt", "top", "outerwear",
)  # fmt: skip
PRICE_RANGES: dict[str, tuple[int, int]] = {
    "skirt": (29, 89),
    "dress": (39, 149),
    "top": (15, 59),
    "pants": (35, 99),
    "outerwear": (79, 299),
    "knitwear": (39, 129),
}
FABRICS: dict[str, tuple[str, ...]] = {
    "skirt": ("crepe", "viscose twill", "cotton poplin", "wool blend"),
    "dress": ("viscose", "linen blend", "jersey", "satin"),
    "top": ("organic cotton", "linen", "modal jersey", "poplin"),
    "pants": ("stretch cotton", "wool blend", "denim", "twill"),
    "outerwear": ("wool blend", "water-repellent cotton", "recycled nylon", "gabardine"),
    "knitwear": ("merino wool", "cotton knit", "cashmere blend", "alpaca blend"),
}
MODELS: tuple[str, ...] = (
    "Inès", "Margot", "Zoë", "Alma", "Freja", "Lotte", "Noor", "Élodie", "Greta", "Mila",
    "Sofía", "Ada", "Juno", "Iris", "Clémence", "Hanna", "Liv", "Nora", "Ottilie", "Paz",
    "Rosa", "Selma", "Tove", "Vera", "Wren", "Yara", "Agnès", "Björg", "Cato", "Dália",
)  # fmt: skip
BRANDS: tuple[str, ...] = (
    "Maison Verte", "Nordlys", "Atelier Bruma", "Kaia Studio", "Linnea & Co", "Côte Sauvage",
    "Hartwell", "Studio Ferro",
)  # fmt: skip
LETTER_SIZES = ("XS", "S", "M", "L", "XL")
PANTS_SIZES = ("34", "36", "38", "40", "42", "44")
MARKUPS = ("product", "graph", "group")  # JSON-LD shapes: Product, @graph, ProductGroup
EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=timezone(timedelta(hours=1)))


@dataclass(frozen=True)
class ColourShare:
    """A garment colour and the fraction of the garment it covers."""

    name: str
    rgb: RGB
    fraction: float

    @property
    def hex(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)


@dataclass(frozen=True)
class Variant:
    id: int
    size: str
    sku: str
    available: bool


@dataclass(frozen=True)
class ImageSpec:
    """How one product image is drawn: a packshot or the garment worn by a figure."""

    n: int  # 1-based position
    view: str  # "packshot" | "model" | "back"
    background: str  # key of colours.BACKGROUNDS
    figure: bool
    skin: int  # index into colours.SKIN_TONES
    hair: int  # index into colours.HAIR_COLOURS


@dataclass(frozen=True)
class Product:
    index: int
    id: int
    handle: str
    title: str
    brand: str
    category: str
    style: str
    product_type: str
    price: str
    compare_at_price: str | None
    sku: str
    variants: tuple[Variant, ...]
    colours: tuple[ColourShare, ...]
    pattern: str  # "solid" | "stripes"
    description: str
    images: tuple[ImageSpec, ...]
    markup: str
    created_at: datetime
    updated_at: datetime
    version: int = 0
    tags: tuple[str, ...] = field(default=())

    @property
    def available(self) -> bool:
        return any(variant.available for variant in self.variants)

    @property
    def availability(self) -> str:
        return "InStock" if self.available else "OutOfStock"

    @property
    def sizes(self) -> tuple[str, ...]:
        return tuple(variant.size for variant in self.variants)

    @property
    def attribute_id(self) -> str:
        return f"{self.category}.{self.style}"

    @property
    def collection(self) -> str:
        return CATEGORIES[self.category][0]

    @property
    def style_collection(self) -> str:
        return style_collection_slug(self.product_type)

    @property
    def colour_label(self) -> str:
        names = [BY_NAME[share.name].label for share in self.colours]
        return names[0] if self.pattern == "solid" else " & ".join(names) + " stripe"

    @property
    def breadcrumbs(self) -> tuple[tuple[str, str], ...]:
        """(name, path) from Home to the product."""
        return (
            ("Home", "/"),
            (CATEGORIES[self.category][1], f"/collections/{self.collection}"),
            (plural(self.product_type), f"/collections/{self.style_collection}"),
            (self.title, f"/products/{self.handle}"),
        )

    def path(self) -> str:
        return f"/products/{self.handle}"

    def image_path(self, n: int, width: int | None = None) -> str:
        suffix = "" if width is None else f"?width={width}"
        return f"/cdn/images/{self.handle}-{n}.jpg{suffix}"

    def expected(self, base_url: str) -> dict[str, object]:
        """What a generic extractor should find on the product page (for tests and benchmarks)."""
        return {
            "name": self.title,
            "brand": self.brand,
            "price": self.price,
            "currency": CURRENCY,
            "sku": self.sku,
            "availability": self.availability,
            "images": [base_url + self.image_path(spec.n) for spec in self.images],
            "colors": [self.colour_label],
            "sizes": list(self.sizes),
            "category": [name for name, _ in self.breadcrumbs[1:-1]],
            "description": self.description,
            "url": base_url + self.path(),
        }


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def plural(label: str) -> str:
    if label.endswith("ss"):
        return label + "es"
    return label if label.endswith("s") else label + "s"


def style_collection_slug(product_type: str) -> str:
    return slugify(plural(product_type))


@cache
def styles() -> dict[str, tuple[tuple[str, str], ...]]:
    """category -> ((style slug, label), ...) in the order of the shipped attributes.json."""
    text = resources.files("studiolab.data").joinpath("attributes.json").read_text("utf-8")
    document = json.loads(text)["categories"]
    return {category: tuple(document[category]["attributes"].items()) for category in CATEGORIES}


def _occurrence(index: int, category: str) -> int:
    """How many products of `category` come before product `index`."""
    per_cycle = CYCLE.count(category)
    return (index // len(CYCLE)) * per_cycle + CYCLE[: index % len(CYCLE)].count(category)


def _money(value: float) -> str:
    return f"{value:.2f}"


def product_at(index: int, seed: int = 7) -> Product:
    """Product number `index` of the catalog for `seed` (pure and deterministic)."""
    if index < 0:
        raise ValueError("product index must be >= 0")
    rng = random.Random(f"studiolab-demo:{seed}:{index}")
    category = CYCLE[index % len(CYCLE)]
    options = styles()[category]
    style, label = options[(_occurrence(index, category) + seed) % len(options)]
    model = rng.choice(MODELS)
    brand = rng.choice(BRANDS)
    title = f"{model} {string.capwords(label)}"
    colours, pattern = _pick_colours(rng)
    handle = f"{slugify(title)}-{colours[0].name}-{index:04d}"
    low, high = PRICE_RANGES[category]
    price = rng.randint(low, high) + rng.choice((0.95, 0.0, 0.9, 0.99))
    on_sale = rng.random() < 0.15
    sku = f"SL-{category[:2].upper()}{style[:2].upper()}-{index:05d}-{colours[0].name[:3].upper()}"
    in_stock = rng.random() >= 0.12
    sizes = PANTS_SIZES if category == "pants" else LETTER_SIZES
    variants = tuple(
        Variant(
            id=45_000_000_000_000 + index * 16 + position,
            size=size,
            sku=f"{sku}-{size}",
            available=in_stock and (rng.random() >= 0.2 or position == 2),
        )
        for position, size in enumerate(sizes)
    )
    fabric = rng.choice(FABRICS[category])
    created = EPOCH + timedelta(days=rng.randint(0, 200), seconds=rng.randint(0, 86_399))
    colour_words = " and ".join(share.name.replace("-", " ") for share in colours)
    description = (
        f"The {title} is a {label.lower()} in {colour_words} {fabric}"
        f"{' with woven stripes' if pattern == 'stripes' else ''}. "
        f"Made by {brand} in a limited run; model wears size "
        f"{sizes[2]}. Care: {rng.choice(('machine wash at 30°C', 'dry clean only', 'hand wash'))}."
    )
    return Product(
        index=index,
        id=8_000_000_000_000 + index,
        handle=handle,
        title=title,
        brand=brand,
        category=category,
        style=style,
        product_type=label,
        price=_money(price * (0.7 if on_sale else 1.0)),
        compare_at_price=_money(price) if on_sale else None,
        sku=sku,
        variants=variants,
        colours=colours,
        pattern=pattern,
        description=description,
        images=_pick_images(rng, colours),
        markup=MARKUPS[rng.randrange(len(MARKUPS))],
        created_at=created,
        updated_at=created + timedelta(days=rng.randint(0, 90), seconds=rng.randint(0, 86_399)),
        tags=(category, style, *(share.name for share in colours), *(("sale",) if on_sale else ())),
    )


def _pick_colours(rng: random.Random) -> tuple[tuple[ColourShare, ...], str]:
    if rng.random() < 0.15:
        first, second = rng.choice(STRIPE_PAIRS)
        fraction = rng.choice(STRIPE_FRACTIONS)
        return (
            ColourShare(first, BY_NAME[first].rgb, fraction),
            ColourShare(second, BY_NAME[second].rgb, round(1.0 - fraction, 4)),
        ), "stripes"
    colour = rng.choice(GARMENT_COLOURS)
    return (ColourShare(colour.name, colour.rgb, 1.0),), "solid"


def _pick_images(rng: random.Random, colours: tuple[ColourShare, ...]) -> tuple[ImageSpec, ...]:
    count = rng.choice((1, 2, 2, 3, 3, 3))
    light = colours[0].name in LIGHT_GARMENTS
    backgrounds = ("light-grey",) if light else ("white", "off-white", "light-grey")
    model_first = rng.random() < 0.35
    views = ["model", "packshot"] if model_first else ["packshot", "model"]
    views.append("back")
    skin, hair = rng.randrange(5), rng.randrange(4)
    return tuple(
        ImageSpec(
            n=n + 1,
            view=views[n],
            background=rng.choice(backgrounds),
            figure=views[n] == "model",
            skin=skin,
            hair=hair,
        )
        for n in range(count)
    )


def index_of(handle: str) -> int | None:
    match = re.search(r"-(\d{4,})$", handle)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Collection:
    slug: str
    title: str
    category: str | None
    style: str | None
    handles: tuple[str, ...]


class Catalog:
    """N products for one seed, plus collections; products can be `touch`ed (new version)."""

    def __init__(self, size: int = 240, seed: int = 7) -> None:
        if size < 1:
            raise ValueError("the demo shop needs at least 1 product")
        self.seed = seed
        self._products = [product_at(index, seed) for index in range(size)]
        self._by_handle = {product.handle: product for product in self._products}
        self.collections = self._build_collections()

    def __len__(self) -> int:
        return len(self._products)

    def __iter__(self) -> Iterator[Product]:
        return iter(list(self._products))

    def __getitem__(self, index: int) -> Product:
        return self._products[index]

    def get(self, handle: str) -> Product | None:
        return self._by_handle.get(handle)

    def touch(self, handle: str, *, price: str | None = None) -> Product:
        """Bump a product's version and updated_at (optionally a new price) for re-crawl tests."""
        current = self._by_handle[handle]
        updated = replace(
            current,
            version=current.version + 1,
            updated_at=max(current.updated_at, EPOCH) + timedelta(days=365 + current.version),
            price=price or current.price,
        )
        self._products[current.index] = updated
        self._by_handle[handle] = updated
        return updated

    def ghost_handles(self, count: int) -> list[str]:
        """Handles of products that no longer exist (beyond the catalog): stale sitemap links."""
        return [product_at(len(self) + k, self.seed).handle for k in range(count)]

    def _build_collections(self) -> dict[str, Collection]:
        collections: dict[str, Collection] = {
            "all": Collection("all", "All products", None, None, tuple(self._by_handle))
        }
        for category, (slug, title) in CATEGORIES.items():
            members = [p for p in self._products if p.category == category]
            collections[slug] = Collection(slug, title, category, None, _handles(members))
            for style, label in styles()[category]:
                chosen = [p for p in members if p.style == style]
                if chosen:
                    style_slug = style_collection_slug(label)
                    collections[style_slug] = Collection(
                        style_slug, plural(label), category, style, _handles(chosen)
                    )
        on_sale = [p for p in self._products if p.compare_at_price]
        collections["sale"] = Collection("sale", "Sale", None, None, _handles(on_sale))
        return collections


def _handles(products: list[Product]) -> tuple[str, ...]:
    return tuple(product.handle for product in products)
