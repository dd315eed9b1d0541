"""Projects: create, list, get, update and delete (cascading) - over ports only.

A project name is unique (case-insensitive) among projects: the check pages through the
project listing, which stays small (a project is a shop x attribute x data type); two
concurrent creates with the same name may both pass it - the name is a label, not a key."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from studiolab.domain.blobkeys import STAGES
from studiolab.domain.errors import ConcurrentUpdate, Conflict, InvalidInput
from studiolab.domain.models import OPEN_STATUSES, Project, parse
from studiolab.domain.ports import BlobStore, Catalog, Clock, IdGenerator, Page
from studiolab.domain.taxonomy import Taxonomy
from studiolab.services.exports import OPEN_EXPORT_STATUSES as OPEN_EXPORTS
from studiolab.services.exports import cancel_export

UPDATABLE = ("name", "shop", "attribute")
SCAN_PAGE = 200


@dataclass(frozen=True)
class ProjectView:
    project: Project
    counts: dict[str, int]


@dataclass(frozen=True)
class ProjectService:
    catalog: Catalog
    blobs: BlobStore
    clock: Clock
    ids: IdGenerator
    taxonomy: Taxonomy

    def create(self, *, name: str, shop: str, attribute: str, data_type: str) -> ProjectView:
        self.taxonomy.get(attribute)  # InvalidInput naming the field
        self._check_name_free(name)
        now = self.clock.now()
        project = parse(
            Project,
            {
                "id": self.ids.new_id("pr"),
                "name": name,
                "shop": shop,
                "attribute": attribute,
                "data_type": data_type,
                "created_at": now,
                "updated_at": now,
            },
            what="project",
        )
        return self._view(self.catalog.create_project(project))

    def list(self, *, limit: int, cursor: str | None) -> Page[ProjectView]:
        page = self.catalog.list_projects(limit=limit, cursor=cursor)
        return Page([self._view(project) for project in page.items], page.next)

    def get(self, project_id: str) -> ProjectView:
        return self._view(self.catalog.get_project(project_id))

    def update(
        self, project_id: str, changes: Mapping[str, Any], *, version: int | None = None
    ) -> ProjectView:
        """Change name / shop / attribute. `version`: the one the caller read (409
        concurrent_update if it changed meanwhile)."""
        unknown = sorted(set(changes) - set(UPDATABLE))
        if unknown:
            raise InvalidInput(
                f"cannot update {unknown}", fields={name: "not updatable" for name in unknown}
            )
        project = self.catalog.get_project(project_id)
        if version is not None and version != project.version:
            raise ConcurrentUpdate(
                f"project {project_id} is at version {project.version}, not {version}"
            )
        if "attribute" in changes:
            self.taxonomy.get(str(changes["attribute"]))
        if "name" in changes and str(changes["name"]).strip().lower() != project.name.lower():
            self._check_name_free(str(changes["name"]))
        data = project.model_dump() | dict(changes) | {"updated_at": self.clock.now()}
        return self._view(self.catalog.update_project(parse(Project, data, what="project")))

    def delete(self, project_id: str, *, force: bool = False) -> None:
        """Without `force`, a project that has items, crawlers or exports is a Conflict.
        With it: every item, run, crawler, export and blob of the project goes; exports still
        PENDING or RUNNING are cancelled first (FAILED, "cancelled: ..."), so their builds stop
        and leave no zip behind. A crawler with an open run is a Conflict either way (stop the
        run first)."""
        self.catalog.get_project(project_id)
        crawlers = self._all(lambda c: self.catalog.list_crawlers(project_id, limit=100, cursor=c))
        counts = self.catalog.get_counts("project", project_id)
        exports = self._all(lambda c: self.catalog.list_exports(project_id, cursor=c))
        open_exports = [export.id for export in exports if export.status in OPEN_EXPORTS]
        if not force and (counts.get("items", 0) > 0 or crawlers or exports):
            fields = {"force": "required: the project is not empty"}
            if open_exports:
                fields["exports"] = (
                    f"{len(open_exports)} export(s) pending or running: ?force=true cancels them"
                )
            raise Conflict(
                f"project {project_id} has items, crawlers or exports; "
                "delete with ?force=true to remove them all",
                fields=fields,
            )
        runs = {
            crawler.id: self._all(
                lambda c, cid=crawler.id: self.catalog.list_runs(cid, limit=100, cursor=c)
            )
            for crawler in crawlers
        }
        busy = [run.id for found in runs.values() for run in found if run.status in OPEN_STATUSES]
        if busy:
            raise Conflict(f"stop the open runs first: {busy}", fields={"runs": "open"})
        for export_id in open_exports:  # before anything goes: their builds stop and clean up
            cancel_export(self.catalog, self.clock, export_id, f"project {project_id} deleted")
        while True:  # items: always the first page, as deleting shortens the listing
            page = self.catalog.list_items(project_id, limit=SCAN_PAGE)
            for item in page.items:
                self.catalog.delete_item(item.id)
            if not page.items:
                break
        for export in self._all(lambda c: self.catalog.list_exports(project_id, cursor=c)):
            cancel_export(self.catalog, self.clock, export.id, f"project {project_id} deleted")
            self.catalog.delete_export(export.id)  # (one created since the check above too)
        for crawler in crawlers:
            for run in runs[crawler.id]:
                self.catalog.delete_run(run.id)
            self.catalog.delete_crawler(crawler.id)
        for stage in STAGES:
            self.blobs.delete_prefix(f"{stage}/{project_id}/")
        self.catalog.delete_project(project_id)

    # -- helpers ------------------------------------------------------------------------
    def _view(self, project: Project) -> ProjectView:
        return ProjectView(project, self.catalog.get_counts("project", project.id))

    def _check_name_free(self, name: str) -> None:
        wanted = name.strip().lower()
        for project in self._all(lambda c: self.catalog.list_projects(limit=SCAN_PAGE, cursor=c)):
            if project.name.lower() == wanted:
                raise Conflict(
                    f"a project named {name!r} exists ({project.id})",
                    fields={"name": "already taken"},
                )

    @staticmethod
    def _all(fetch: Any) -> builtins.list[Any]:
        found: builtins.list[Any] = []
        cursor: str | None = None
        while True:
            page = fetch(cursor)
            found.extend(page.items)
            cursor = page.next
            if cursor is None:
                return found
