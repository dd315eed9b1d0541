from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from studiolab.domain.models.base import DomainModel, EntityId
from studiolab.domain.models.item import (
    BasicColour,
    Framing,
    ItemKind,
    PoseView,
    ProcessingState,
)

if TYPE_CHECKING:
    from studiolab.domain.models.item import Item

SEARCH_MAX_CHARS = 200
# Joins an item's searchable values in search_text(); q may not contain it (nor any other
# control character), so a q found in search_text() is found inside one of the values.
SEARCH_SEPARATOR = "\x1f"
SearchQuery = Annotated[
    str,
    Field(
        min_length=1,
        max_length=SEARCH_MAX_CHARS,
        pattern=r"^[^\x00-\x1f\x7f]+$",
    ),
]
SEARCH_DESCRIPTION = (
    "free text (1..200 characters, no control characters): a case-insensitive substring of "
    "the product name, brand, description, category, sku or any text of the item"
)


def search_values(item: Item) -> list[str]:
    """What `q` searches: product name, brand, description, category, sku, every text."""
    product = item.product
    values = (
        product.name,
        product.brand,
        product.description,
        product.category,
        product.sku,
        *item.texts.values(),
    )
    return [value for value in values if value]


def search_text(item: Item) -> str:
    """The casefolded searchable values in one string, for adapters that index it: for every
    valid q, `q.casefold() in search_text(item)` iff ItemFilter(q=q).matches(item)."""
    return SEARCH_SEPARATOR.join(value.casefold() for value in search_values(item))


class ItemFilter(DomainModel):
    """The item filters every listing, bulk delete and export accepts. None = no constraint.

    `matches` is the one definition of their meaning; adapters may push filters down into
    their query language, and the contract suite checks they agree with `matches`."""

    crawler_id: EntityId | None = None
    attribute: str | None = None
    kind: ItemKind | None = None
    model_present: bool | None = None
    pose_view: PoseView | None = None
    framing: Framing | None = None
    colour: BasicColour | None = None
    state: ProcessingState | None = None
    q: SearchQuery | None = Field(default=None, description=SEARCH_DESCRIPTION)

    def matches(self, item: Item) -> bool:
        person = item.person
        checks = (
            self.crawler_id is None or item.crawler_id == self.crawler_id,
            self.attribute is None or item.attribute == self.attribute,
            self.kind is None or item.kind == self.kind,
            self.state is None or item.state == self.state,
            self.colour is None or self.colour in item.colour_families,
            self.model_present is None
            or (person is not None and person.present) == self.model_present,
            self.pose_view is None or (person is not None and person.view == self.pose_view),
            self.framing is None or (person is not None and person.framing == self.framing),
        )
        return all(checks) and (self.q is None or self._found(item))

    def _found(self, item: Item) -> bool:
        assert self.q is not None
        needle = self.q.casefold()
        return any(needle in value.casefold() for value in search_values(item))
