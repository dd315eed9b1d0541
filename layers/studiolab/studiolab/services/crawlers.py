"""Crawlers of a project: create, list, get, update, delete - over ports only.

Selectors, URLs and domains are validated by the Crawler model (InvalidInput naming each
field). Deleting a crawler deletes its runs' records but keeps the items it crawled (they
belong to the project); a crawler with an open run cannot be deleted (Conflict)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from studiolab.domain.errors import ConcurrentUpdate, Conflict, InvalidInput
from studiolab.domain.models import OPEN_STATUSES, Crawler, parse
from studiolab.domain.ports import Catalog, Clock, IdGenerator, Page

UPDATABLE = (
    "name",
    "start_urls",
    "strategy",
    "selectors",
    "limits",
    "politeness",
    "allowed_domains",
)


@dataclass(frozen=True)
class CrawlerView:
    crawler: Crawler
    counts: dict[str, int]


@dataclass(frozen=True)
class CrawlerService:
    catalog: Catalog
    clock: Clock
    ids: IdGenerator

    def create(self, project_id: str, fields: Mapping[str, Any]) -> CrawlerView:
        self._check_fields(fields)
        self.catalog.get_project(project_id)  # NotFound
        now = self.clock.now()
        data = dict(fields) | {
            "id": self.ids.new_id("cr"),
            "project_id": project_id,
            "created_at": now,
            "updated_at": now,
        }
        return self._view(self.catalog.create_crawler(parse(Crawler, data, what="crawler")))

    def list(self, project_id: str, *, limit: int, cursor: str | None) -> Page[CrawlerView]:
        self.catalog.get_project(project_id)
        page = self.catalog.list_crawlers(project_id, limit=limit, cursor=cursor)
        return Page([self._view(crawler) for crawler in page.items], page.next)

    def get(self, crawler_id: str) -> CrawlerView:
        return self._view(self.catalog.get_crawler(crawler_id))

    def update(
        self, crawler_id: str, changes: Mapping[str, Any], *, version: int | None = None
    ) -> CrawlerView:
        """A partial update; nested objects (limits, politeness) are replaced as a whole.
        Changing start_urls without allowed_domains re-derives the domains from the URLs."""
        self._check_fields(changes)
        crawler = self.catalog.get_crawler(crawler_id)
        if version is not None and version != crawler.version:
            raise ConcurrentUpdate(
                f"crawler {crawler_id} is at version {crawler.version}, not {version}"
            )
        data = crawler.model_dump()
        if "start_urls" in changes and "allowed_domains" not in changes:
            data["allowed_domains"] = []
        data |= dict(changes) | {"updated_at": self.clock.now()}
        return self._view(self.catalog.update_crawler(parse(Crawler, data, what="crawler")))

    def delete(self, crawler_id: str) -> None:
        self.catalog.get_crawler(crawler_id)
        runs = []
        cursor: str | None = None
        while True:
            page = self.catalog.list_runs(crawler_id, limit=100, cursor=cursor)
            runs.extend(page.items)
            cursor = page.next
            if cursor is None:
                break
        busy = [run.id for run in runs if run.status in OPEN_STATUSES]
        if busy:
            raise Conflict(
                f"crawler {crawler_id} has an open run {busy}; stop it first",
                fields={"runs": "open"},
            )
        for run in runs:
            self.catalog.delete_run(run.id)
        self.catalog.delete_crawler(crawler_id)

    # -- helpers ------------------------------------------------------------------------
    def _view(self, crawler: Crawler) -> CrawlerView:
        return CrawlerView(crawler, self.catalog.get_counts("crawler", crawler.id))

    @staticmethod
    def _check_fields(fields: Mapping[str, Any]) -> None:
        unknown = sorted(set(fields) - set(UPDATABLE))
        if unknown:
            raise InvalidInput(
                f"unknown crawler fields {unknown}",
                fields={name: "unknown field" for name in unknown},
            )
