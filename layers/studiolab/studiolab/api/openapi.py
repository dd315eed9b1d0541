"""OpenAPI 3.1 generated from the route table (studiolab.api.routing) and the pydantic models'
JSON schemas - never written by hand."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from studiolab.api.models import ErrorOut
from studiolab.api.routing import RouteSpec

REF = "#/components/schemas/{model}"
# Relative server URL (OpenAPI 3.1 Server Object: resolved against where the document is
# served): the directory of /openapi.json, i.e. the host root locally and the stage path on
# API Gateway (`https://<api>.execute-api.<region>.amazonaws.com/api/`), so Swagger UI's "Try
# it out" calls `<that>/v1/...` on both without the document knowing its own address.
SERVERS = [{"url": ".", "description": "this API (where this document is served from)"}]
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Invalid input (per-field messages in error.fields)",
    401: "Missing or invalid bearer token",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Request body too large",
    422: "Unprocessable",
    500: "Internal error",
}


def build_openapi(routes: list[RouteSpec], *, title: str, version: str) -> dict[str, Any]:
    models = _models(routes)
    keys, schema = models_json_schema(
        [(model, _mode(model, routes)) for model in models], ref_template=REF
    )
    refs = {model: keys[(model, _mode(model, routes))]["$ref"] for model in models}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, refs, schema)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "studiolab HTTP API. Lists answer {items, next}; errors answer "
            "{error: {code, message, fields?}}.",
        },
        "servers": [dict(server) for server in SERVERS],
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "tags": [{"name": tag} for tag in dict.fromkeys(route.tag for route in routes)],
    }


def _models(routes: list[RouteSpec]) -> list[type[BaseModel]]:
    found: dict[type[BaseModel], None] = {ErrorOut: None}
    for route in routes:
        for model in (route.body, route.response):
            if model is not None:
                found[model] = None
    return list(found)


def _mode(model: type[BaseModel], routes: list[RouteSpec]) -> Any:
    return "validation" if any(route.body is model for route in routes) else "serialization"


def _operation(
    route: RouteSpec, refs: dict[type[BaseModel], str], schema: dict[str, Any]
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.name,
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": _parameters(route),
        "responses": _responses(route, refs),
    }
    if route.public:
        operation["security"] = []
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": refs[route.body]}}},
        }
    return operation


def _parameters(route: RouteSpec) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in route.path_params
    ]
    if route.query is not None:
        query_schema = route.query.model_json_schema(ref_template=REF)
        required = set(query_schema.get("required", []))
        for name, prop in query_schema.get("properties", {}).items():
            prop = dict(prop)
            description = prop.pop("description", None)
            prop.pop("title", None)
            parameter: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
            }
            if description:
                parameter["description"] = description
            parameters.append(parameter)
    return parameters


def _responses(route: RouteSpec, refs: dict[type[BaseModel], str]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    success: dict[str, Any] = {"description": STATUS_TEXT.get(route.status, "OK")}
    if route.response is not None:
        success["content"] = {"application/json": {"schema": {"$ref": refs[route.response]}}}
    elif route.content_type != "application/json":
        success["content"] = {route.content_type: {"schema": {"type": "string"}}}
    responses[str(route.status)] = success
    error_schema = {"application/json": {"schema": {"$ref": refs[ErrorOut]}}}
    for status in route.errors:
        responses[str(status)] = {"description": STATUS_TEXT[status], "content": error_schema}
    return responses
