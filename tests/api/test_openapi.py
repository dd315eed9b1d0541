"""The generated OpenAPI document: valid OpenAPI 3.1 and listing every route of the app."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from studiolab.runtime.server import API_APP_PATH, load_api_app
from studiolab.runtime.wiring import load_module
from tests.api.conftest import Api


def document(api: Api) -> dict[str, Any]:
    reply = api.get("/openapi.json")
    assert reply.status == 200
    return dict(reply.body)


def test_openapi_is_valid(api: Api) -> None:
    spec = document(api)
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_route_is_documented(api: Api) -> None:
    spec = document(api)
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    served = {
        (path, method) for path, entries in load_api_app().routes.items() for method in entries
    }
    assert served == documented
    registered = {(r.path, r.method) for r in load_module(API_APP_PATH).api.routes}
    assert registered == served
    for expected in [
        ("/v1/projects", "POST"),
        ("/v1/projects/{project_id}", "DELETE"),
        ("/v1/attributes", "GET"),
        ("/v1/crawlers/{crawler_id}/runs", "POST"),
        ("/v1/runs/{run_id}/stop", "POST"),
        ("/v1/projects/{project_id}/items", "GET"),
        ("/v1/projects/{project_id}/items/delete", "POST"),
        ("/v1/projects/{project_id}/uploads", "POST"),
        ("/v1/projects/{project_id}/exports", "POST"),
        ("/v1/exports/{export_id}", "GET"),
        ("/health", "GET"),
        ("/docs", "GET"),
    ]:
        assert expected in documented


def test_operations_declare_models_params_and_errors(api: Api) -> None:
    spec = document(api)
    create = spec["paths"]["/v1/projects"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ProjectIn"
    )
    assert {"201", "400", "401", "409", "413"} <= set(create["responses"])
    items = spec["paths"]["/v1/projects/{project_id}/items"]["get"]
    names = {p["name"] for p in items["parameters"]}
    assert {"project_id", "colour", "near", "radius", "limit", "cursor", "state"} <= names
    page = spec["components"]["schemas"]["ProjectPage"]
    assert set(page["properties"]) == {"items", "next"}
    project = spec["components"]["schemas"]["ProjectOut"]["properties"]
    assert {"id", "name", "shop", "attribute", "data_type", "created_at", "counts"} <= set(project)
    assert spec["paths"]["/health"]["get"]["security"] == []


def test_docs_page_uses_vendored_swagger_ui(api: Api) -> None:
    reply = api.get("/docs")
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/html")
    assert "/vendor/swagger-ui/swagger-ui-bundle.js" in reply.body
    assert "/openapi.json" in reply.body
    vendor = API_APP_PATH.parents[2] / "web" / "vendor" / "swagger-ui"
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"} <= {
        p.name for p in vendor.iterdir()
    }
