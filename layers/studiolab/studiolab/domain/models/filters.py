from __future__ import annotations

from typing import TYPE_CHECKING

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
        return all(checks)
