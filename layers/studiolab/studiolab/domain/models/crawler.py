from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from studiolab.domain.models.base import DomainModel, EntityId, Name, UtcDatetime

Strategy = Literal["auto", "shopify", "jsonld", "selectors"]
SELECTOR_FIELDS = (
    "product_link",
    "next_page",
    "name",
    "brand",
    "price",
    "currency",
    "sku",
    "availability",
    "image",
    "colors",
    "sizes",
    "category",
    "description",
)


class CrawlLimits(DomainModel):
    max_items: int | None = Field(default=1000, ge=1, le=1_000_000)
    max_pages: int | None = Field(default=5000, ge=1, le=10_000_000)


class Politeness(DomainModel):
    """Scrapy-like politeness: one request per `delay_s` per domain by default."""

    delay_s: float = Field(default=1.0, ge=0.0, le=600.0)
    concurrency: int = Field(default=2, ge=1, le=64)
    obey_robots: bool = True


def _check_http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    return url


class Crawler(DomainModel):
    id: EntityId
    project_id: EntityId
    name: Name
    start_urls: list[str] = Field(min_length=1, max_length=1000)
    strategy: Strategy = "auto"
    selectors: dict[str, str] = Field(default_factory=dict)
    limits: CrawlLimits = Field(default_factory=CrawlLimits)
    politeness: Politeness = Field(default_factory=Politeness)
    allowed_domains: list[str] = Field(default_factory=list)
    created_at: UtcDatetime
    updated_at: UtcDatetime
    version: int = Field(default=1, ge=1)

    @field_validator("start_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        return [_check_http_url(url.strip()) for url in urls]

    @field_validator("selectors")
    @classmethod
    def _selectors(cls, selectors: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(selectors) - set(SELECTOR_FIELDS))
        if unknown:
            raise ValueError(f"unknown selector fields {unknown}; known: {list(SELECTOR_FIELDS)}")
        empty = sorted(name for name, css in selectors.items() if not css.strip())
        if empty:
            raise ValueError(f"empty selectors for {empty}")
        return selectors

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, domains: list[str]) -> list[str]:
        cleaned = [domain.strip().lower().lstrip(".") for domain in domains]
        bad = [domain for domain in cleaned if not domain or "/" in domain or " " in domain]
        if bad:
            raise ValueError(f"not domain names: {bad}")
        return cleaned

    @model_validator(mode="after")
    def _defaults_and_consistency(self) -> Crawler:
        if self.strategy == "selectors" and not self.selectors:
            raise ValueError("strategy 'selectors' needs at least one CSS selector")
        if not self.allowed_domains:
            hosts = {(urlsplit(url).hostname or "").lower() for url in self.start_urls}
            object.__setattr__(self, "allowed_domains", sorted(hosts))
        return self
