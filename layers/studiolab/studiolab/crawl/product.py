"""What extraction returns: one `Product` (every field optional) and the sources that filled it.

Field conventions (the extractors normalise to them, the model validates them):
- `price` is a plain decimal string with a dot ("1299.00"), never a number, never "1.299,00".
- `currency` is an ISO 4217 code ("EUR"), upper case.
- `availability` is a schema.org ItemAvailability short name ("InStock", "OutOfStock", ...).
- `images` are absolute http(s) URLs, deduplicated, the largest `srcset` candidate.
- `category` is a breadcrumb path joined with " > " ("Women > Skirts").
- `texts` keeps the page's texts for text projects: "title", "description", "reviews".
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from studiolab.domain.models.item import ProductFields

AVAILABILITY_VALUES = (
    "InStock",
    "OutOfStock",
    "PreOrder",
    "PreSale",
    "BackOrder",
    "Discontinued",
    "LimitedAvailability",
    "SoldOut",
    "OnlineOnly",
    "InStoreOnly",
    "MadeToOrder",
    "Reserved",
)
# The 12 product keys the `studiolab extract` CLI prints, in order.
OUTPUT_FIELDS = (
    "name",
    "brand",
    "price",
    "currency",
    "sku",
    "availability",
    "images",
    "colors",
    "sizes",
    "category",
    "description",
    "url",
)


class Product(BaseModel):
    """A product as read from one page (or one Shopify JSON document). All fields optional."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_assignment=True)

    name: str | None = None
    brand: str | None = None
    price: str | None = Field(default=None, pattern=r"^\d+(\.\d+)?$")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    sku: str | None = None
    availability: str | None = None
    images: list[str] = Field(default_factory=list)
    colors: list[str] = Field(default_factory=list)
    sizes: list[str] = Field(default_factory=list)
    category: str | None = None
    description: str | None = None
    url: str | None = None
    texts: dict[str, str] = Field(default_factory=dict)
    updated_at: str | None = None

    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in type(self).model_fields)

    def output(self) -> dict[str, Any]:
        """The 12 CLI keys, missing values as null (empty lists too)."""
        data = self.model_dump()
        return {key: (data[key] or None) for key in OUTPUT_FIELDS}

    def to_fields(self) -> ProductFields:
        """The catalog's `Item.product` shape (colours and sizes joined as text)."""
        return ProductFields(
            name=self.name,
            brand=self.brand,
            price=self.price,
            currency=self.currency,
            sku=self.sku,
            availability=self.availability,
            category=self.category,
            colors_text=", ".join(self.colors) or None,
            sizes_text=", ".join(self.sizes) or None,
            description=self.description,
        )


class Extraction(BaseModel):
    """`method` names the sources that contributed, best first, e.g. "jsonld+og"."""

    model_config = ConfigDict(extra="forbid")

    method: str = "none"
    product: Product = Field(default_factory=Product)
    # True when a source declared the page a product (Shopify product JSON, a schema.org
    # Product/ProductGroup, og:type product) even if it carried no price.
    declared: bool = False

    @property
    def ok(self) -> bool:
        """Something product-like was found (the CLI's `ok`; otherwise code "no_product")."""
        product = self.product
        if product.price or product.sku or product.availability:
            return True
        return self.declared and bool(product.name or product.images)
