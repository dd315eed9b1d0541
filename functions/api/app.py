"""The HTTP API: Chalice routing glue only. Logic lives in studiolab services; the same app
runs on API Gateway + Lambda and inside `studiolab up` (through Chalice's LocalGateway).

Each route is declared with `api.route(...)` (studiolab.api.routing): it parses the request
with the declared pydantic models, maps every error in one place (studiolab.api.errors) and
feeds the generated OpenAPI document. Auth: locally a bearer-token middleware (active when
STUDIOLAB_TOKEN is set); on AWS a Cognito authorizer added by CDK. CORS (studiolab.api.cors):
origins listed in STUDIOLAB_CORS_ORIGINS; every path answers OPTIONS preflights."""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from chalice.app import Chalice, ConvertToMiddleware, Response

from studiolab import __version__
from studiolab.api import deps
from studiolab.api import models as m
from studiolab.api.cors import install_cors
from studiolab.api.docs import DOCS_HTML
from studiolab.api.errors import JSON_HEADERS, json_response
from studiolab.api.openapi import build_openapi
from studiolab.api.routing import Api, install_token_auth
from studiolab.runtime.observability import count, lambda_entry
from studiolab.runtime.wiring import get_context, run_control
from studiolab.services.items import NearColour

app = Chalice(app_name="studiolab-api")
api = Api(app)
# CORS first: the outermost of the middlewares that shape replies (401s get CORS too); only
# the request holder that Api(app) registered runs outside it.
install_cors(app, deps.cors_origins)
install_token_auth(app, deps.token)
# Powertools on Lambda (JSON logs with the API Gateway request id, EMF metrics); a plain call
# in `studiolab up`.
app.register_middleware(
    ConvertToMiddleware(lambda_entry(correlation_id_path=correlation_paths.API_GATEWAY_REST))
)


# -- service ------------------------------------------------------------------------------
@api.route("/health", "GET", tag="service", response=m.HealthOut, public=True)
def health() -> m.HealthOut:
    """Liveness, version and mode."""
    return m.HealthOut(status="ok", version=__version__, mode=get_context().settings.mode)


@api.route("/openapi.json", "GET", tag="service", public=True)
def openapi() -> Response:
    """This document (OpenAPI 3.1, generated from the routes and models)."""
    return json_response(200, build_openapi(api.routes, title="studiolab", version=__version__))


@api.route("/docs", "GET", tag="service", content_type="text/html", public=True)
def docs() -> Response:
    """Swagger UI over /openapi.json."""
    return Response(body=DOCS_HTML, status_code=200, headers={"Content-Type": "text/html"})


# -- attributes ----------------------------------------------------------------------------
@api.route("/v1/attributes", "GET", tag="attributes", response=m.AttributePage)
def list_attributes() -> dict[str, object]:
    """The garment attribute taxonomy (one page: it is small)."""
    attributes = [a.model_dump() for a in get_context().taxonomy]
    return {"items": attributes, "next": None}


# -- projects ------------------------------------------------------------------------------
@api.route(
    "/v1/projects",
    "POST",
    tag="projects",
    status=201,
    body=m.ProjectIn,
    response=m.ProjectOut,
    errors=(409,),
)
def create_project(body: m.ProjectIn) -> m.ProjectOut:
    """Create a project (409 if the name is taken)."""
    return deps.project_out(deps.projects().create(**body.model_dump()))


@api.route("/v1/projects", "GET", tag="projects", query=m.PageQuery, response=m.ProjectPage)
def list_projects(query: m.PageQuery) -> dict[str, object]:
    """List projects, newest first."""
    page = deps.projects().list(limit=query.limit, cursor=query.cursor)
    return {
        "items": [deps.project_out(v).model_dump(mode="json") for v in page.items],
        "next": page.next,
    }


@api.route("/v1/projects/{project_id}", "GET", tag="projects", response=m.ProjectOut)
def get_project(project_id: str) -> m.ProjectOut:
    """One project with its counts."""
    return deps.project_out(deps.projects().get(project_id))


@api.route(
    "/v1/projects/{project_id}",
    "PATCH",
    tag="projects",
    body=m.ProjectPatch,
    response=m.ProjectOut,
    errors=(409,),
)
def update_project(project_id: str, body: m.ProjectPatch) -> m.ProjectOut:
    """Change name, shop or attribute (`version`: optimistic check, 409 if stale)."""
    view = deps.projects().update(project_id, body.changes(), version=body.version)
    return deps.project_out(view)


@api.route(
    "/v1/projects/{project_id}",
    "DELETE",
    tag="projects",
    status=204,
    query=m.DeleteProjectQuery,
    errors=(409,),
)
def delete_project(project_id: str, query: m.DeleteProjectQuery) -> None:
    """Delete a project; one with items, crawlers or exports needs ?force=true."""
    deps.projects().delete(project_id, force=query.force)


# -- crawlers ------------------------------------------------------------------------------
@api.route(
    "/v1/projects/{project_id}/crawlers",
    "POST",
    tag="crawlers",
    status=201,
    body=m.CrawlerIn,
    response=m.CrawlerOut,
)
def create_crawler(project_id: str, body: m.CrawlerIn) -> m.CrawlerOut:
    """Create a crawler in a project."""
    return deps.crawler_out(deps.crawlers().create(project_id, body.fields()))


@api.route(
    "/v1/projects/{project_id}/crawlers",
    "GET",
    tag="crawlers",
    query=m.PageQuery,
    response=m.CrawlerPage,
)
def list_crawlers(project_id: str, query: m.PageQuery) -> dict[str, object]:
    """The crawlers of a project."""
    page = deps.crawlers().list(project_id, limit=query.limit, cursor=query.cursor)
    return {
        "items": [deps.crawler_out(v).model_dump(mode="json") for v in page.items],
        "next": page.next,
    }


@api.route("/v1/crawlers/{crawler_id}", "GET", tag="crawlers", response=m.CrawlerOut)
def get_crawler(crawler_id: str) -> m.CrawlerOut:
    """One crawler with its counts."""
    return deps.crawler_out(deps.crawlers().get(crawler_id))


@api.route(
    "/v1/crawlers/{crawler_id}",
    "PATCH",
    tag="crawlers",
    body=m.CrawlerPatch,
    response=m.CrawlerOut,
    errors=(409,),
)
def update_crawler(crawler_id: str, body: m.CrawlerPatch) -> m.CrawlerOut:
    """Change a crawler (`version`: optimistic check, 409 if stale)."""
    view = deps.crawlers().update(crawler_id, body.changes(), version=body.version)
    return deps.crawler_out(view)


@api.route("/v1/crawlers/{crawler_id}", "DELETE", tag="crawlers", status=204, errors=(409,))
def delete_crawler(crawler_id: str) -> None:
    """Delete a crawler and its runs' records (409 while a run is open); items stay."""
    deps.crawlers().delete(crawler_id)


# -- runs ----------------------------------------------------------------------------------
@api.route(
    "/v1/crawlers/{crawler_id}/runs",
    "POST",
    tag="runs",
    status=201,
    response=m.RunOut,
    errors=(409,),
)
def start_run(crawler_id: str) -> m.RunOut:
    """Start a run (409 if the crawler has one open)."""
    run = deps.run_out(run_control().start_run(crawler_id))
    count(RunsStarted=1)
    return run


@api.route(
    "/v1/crawlers/{crawler_id}/runs", "GET", tag="runs", query=m.PageQuery, response=m.RunPage
)
def list_runs(crawler_id: str, query: m.PageQuery) -> dict[str, object]:
    """The runs of a crawler, newest first."""
    catalog = get_context().catalog
    catalog.get_crawler(crawler_id)
    page = catalog.list_runs(crawler_id, limit=query.limit, cursor=query.cursor)
    return {
        "items": [deps.run_out(run).model_dump(mode="json") for run in page.items],
        "next": page.next,
    }


@api.route("/v1/runs/{run_id}", "GET", tag="runs", response=m.RunOut)
def get_run(run_id: str) -> m.RunOut:
    """A run: status, counters, elapsed, items/min, ETA, last error, status message."""
    return deps.run_out(get_context().catalog.get_run(run_id))


@api.route(
    "/v1/runs/{run_id}/stop",
    "POST",
    tag="runs",
    query=m.StopRunQuery,
    response=m.RunOut,
    errors=(409,),
)
def stop_run(run_id: str, query: m.StopRunQuery) -> m.RunOut:
    """Stop a run: graceful (ends after its batch), or at once with ?now=true."""
    return deps.run_out(run_control().stop_run(run_id, now=query.now))


# -- items ---------------------------------------------------------------------------------
@api.route(
    "/v1/projects/{project_id}/items",
    "GET",
    tag="items",
    query=m.ItemQuery,
    response=m.ItemPage,
)
def list_items(project_id: str, query: m.ItemQuery) -> Response:
    """Items of a project by filters; follow `next` (a page may be short, see near colour).
    `?thumbnails=true` adds each item's signed `thumbnail_url` (for galleries)."""
    service = deps.items()
    page = service.list(
        project_id,
        filters=query.item_filter(),
        near=_near(query),
        limit=query.limit,
        cursor=query.cursor,
    )
    thumbnails = service.thumbnail_urls(page.items) if query.thumbnails else None
    body = deps.item_page_json(page.items, page.next, thumbnails)
    return Response(body=body, status_code=200, headers=dict(JSON_HEADERS))


@api.route("/v1/items/{item_id}", "GET", tag="items", response=m.ItemOut)
def get_item(item_id: str) -> m.ItemOut:
    """One item: every field, the palette and signed URLs of its images."""
    item, urls = deps.items().get(item_id)
    return deps.item_out(item, urls)


@api.route("/v1/items/{item_id}", "DELETE", tag="items", status=204)
def delete_item(item_id: str) -> None:
    """Delete an item and its blobs."""
    deps.items().delete(item_id)


@api.route(
    "/v1/projects/{project_id}/items/delete",
    "POST",
    tag="items",
    body=m.BulkDeleteIn,
    response=m.BulkDeleteOut,
)
def bulk_delete_items(project_id: str, body: m.BulkDeleteIn) -> m.BulkDeleteOut:
    """Delete up to `limit` items matching the filters; repeat with `next` until it is null."""
    result = deps.items().bulk_delete(
        project_id,
        filters=body.item_filter(),
        near=_near(body),
        limit=body.limit,
        cursor=body.cursor,
    )
    return m.BulkDeleteOut(deleted=result.deleted, next=result.next)


def _near(fields: m.ItemFilterFields) -> NearColour | None:
    return NearColour(fields.near, fields.radius) if fields.near else None


# -- uploads -------------------------------------------------------------------------------
@api.route(
    "/v1/projects/{project_id}/uploads",
    "POST",
    tag="uploads",
    status=201,
    body=m.UploadIn,
    response=m.UploadOut,
    errors=(422,),
)
def create_upload(project_id: str, body: m.UploadIn) -> m.UploadOut:
    """A signed PUT URL for one image; the upload goes through the image pipeline."""
    upload = deps.uploads().create_upload(project_id, body.filename, body.content_type)
    return m.UploadOut(
        item_id=upload.item.id,
        url=upload.url,
        method="PUT",
        headers=upload.headers,
        expires_at=upload.expires_at,
    )


# -- exports -------------------------------------------------------------------------------
@api.route(
    "/v1/projects/{project_id}/exports",
    "POST",
    tag="exports",
    status=202,
    body=m.ExportIn,
    response=m.ExportOut,
)
def create_export(project_id: str, body: m.ExportIn) -> dict[str, object]:
    """Start a zip export of the items matching the filters - those of the item listing, near
    + radius included, so it holds exactly what the listing shows (202; poll
    GET /v1/exports/{id}, whose `filters` echo them)."""
    export = deps.request_export(project_id, body)
    count(ExportsRequested=1)
    return export


@api.route(
    "/v1/projects/{project_id}/exports",
    "GET",
    tag="exports",
    query=m.PageQuery,
    response=m.ExportPage,
)
def list_exports(project_id: str, query: m.PageQuery) -> dict[str, object]:
    """The exports of a project, newest first."""
    return deps.list_exports(project_id, query.limit, query.cursor)


@api.route("/v1/exports/{export_id}", "GET", tag="exports", response=m.ExportOut)
def get_export(export_id: str) -> dict[str, object]:
    """Status, counts, size and, when ready, a signed download URL."""
    return deps.export_view(export_id)
