"""Crawled products as catalog items: stable ids, and refreshing an item a product already has."""

from __future__ import annotations

import hashlib

from studiolab.crawl.urls import canonicalize
from studiolab.domain.errors import ConcurrentUpdate, StudiolabError
from studiolab.domain.models import Item
from studiolab.domain.ports import Catalog


class TransientError(StudiolabError):
    """A step failed for a reason a retry may cure; the state machine retries it by name."""

    code = "transient"


def item_id_for(project_id: str, product_url: str) -> str:
    """The same product URL in the same project is always the same item."""
    digest = hashlib.sha256(f"{project_id}\n{canonicalize(product_url)}".encode()).hexdigest()
    return f"it_{digest[:26]}"


def refresh_item(catalog: Catalog, fresh: Item) -> str:
    """The counter an existing item adds to: items (made by an earlier attempt of this
    same batch), items_updated (fields changed, written in place) or items_unchanged."""
    for _ in range(3):
        current = catalog.get_item(fresh.id)
        if current.run_id == fresh.run_id:
            return "items"
        if current.product == fresh.product and current.texts == fresh.texts:
            return "items_unchanged"
        changes = {
            "product": fresh.product,
            "texts": fresh.texts,
            "run_id": fresh.run_id,
            "source_url": fresh.source_url,
            "updated_at": fresh.updated_at,
        }
        try:
            catalog.update_item(current.model_copy(update=changes))
            return "items_updated"
        except ConcurrentUpdate:  # the image pipeline wrote it meanwhile: read again
            continue
    raise TransientError(f"item {fresh.id} kept changing; retry the batch")
