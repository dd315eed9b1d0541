"""The one mapping from exceptions to HTTP error replies `{"error": {code, message, fields?}}`:
StudiolabError -> its http_status; pydantic ValidationError -> 400 with per-field messages;
anything else -> 500 without internals (logged here)."""

from __future__ import annotations

import json
import logging

from chalice.app import Response
from pydantic import ValidationError

from studiolab.domain.errors import StudiolabError
from studiolab.domain.models import field_errors

log = logging.getLogger(__name__)

JSON_HEADERS = {"Content-Type": "application/json"}


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, object]:
    error: dict[str, object] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def json_response(status: int, document: object, headers: dict[str, str] | None = None) -> Response:
    merged: dict[str, str | list[str]] = {**JSON_HEADERS, **(headers or {})}
    body = json.dumps(document, separators=(",", ":"))
    return Response(body=body, status_code=status, headers=merged)


def error_response(error: BaseException) -> Response:
    if isinstance(error, StudiolabError):
        if error.http_status >= 500:
            log.error("%s: %s", error.code, error.message)
        headers = {"WWW-Authenticate": "Bearer"} if error.http_status == 401 else None
        return json_response(error.http_status, {"error": error.to_dict()}, headers)
    if isinstance(error, ValidationError):
        fields = field_errors(error)
        summary = "; ".join(f"{path}: {message}" for path, message in fields.items())
        return json_response(400, error_body("invalid_input", f"invalid input: {summary}", fields))
    log.error("unhandled error in the API", exc_info=error)
    return json_response(500, error_body("internal", "internal error"))


class Unauthorized(StudiolabError):
    """Missing or wrong bearer token (local mode with STUDIOLAB_TOKEN)."""

    code = "unauthorized"
    http_status = 401


class MethodNotAllowed(StudiolabError):
    """A route exists at the path but not for the method (Chalice's own 405, reshaped)."""

    code = "method_not_allowed"
    http_status = 405
