"""Route declarations: one decorator registers a Chalice route AND records its models for the
OpenAPI document, parses the request (path, query, JSON body) with pydantic and shapes the
reply; every error goes through studiolab.api.errors.

A handler receives the path parameters as keyword arguments, plus `query=` (an instance of
the declared query model) and `body=` (of the body model) when declared, and returns a
pydantic model / dict (JSON with the declared status), None (204) or a chalice Response."""

from __future__ import annotations

import functools
import hmac
import json
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from chalice.app import Chalice, Request, Response
from pydantic import BaseModel

from studiolab.api.errors import MethodNotAllowed, Unauthorized, error_response, json_response
from studiolab.domain.errors import InvalidInput, PayloadTooLarge
from studiolab.domain.models import parse

MAX_BODY_BYTES = 1024 * 1024
PUBLIC_PATHS = frozenset({"/health", "/docs", "/openapi.json"})
_PATH_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")

Handler = Callable[..., Any]

# The request being handled by this thread. Chalice keeps it in `app.current_request`, one
# attribute of the app shared by every thread: in the threaded local server a handler read
# there can see another concurrent request's query and body.
_REQUEST: ContextVar[Request | None] = ContextVar("studiolab_api_request", default=None)


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    name: str
    summary: str
    tag: str
    status: int
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    errors: tuple[int, ...]
    content_type: str = "application/json"
    public: bool = False

    @property
    def path_params(self) -> list[str]:
        return _PATH_PARAM.findall(self.path)


@dataclass
class Api:
    """The route table of one Chalice app."""

    app: Chalice
    routes: list[RouteSpec] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app.register_middleware(_hold_request, "http")
        self.app.register_middleware(_method_not_allowed_in_our_shape, "http")

    def route(
        self,
        path: str,
        method: str,
        *,
        tag: str,
        status: int = 200,
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        errors: tuple[int, ...] = (),
        content_type: str = "application/json",
        public: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            spec = RouteSpec(
                method=method,
                path=path,
                name=handler.__name__,
                summary=(handler.__doc__ or handler.__name__).strip().splitlines()[0],
                tag=tag,
                status=status,
                query=query,
                body=body,
                response=response,
                errors=tuple(sorted(set(errors) | _implied_errors(path, query, body, public))),
                content_type=content_type,
                public=public,
            )
            self.routes.append(spec)

            @functools.wraps(handler)
            def view(**path_params: str) -> Response:
                try:
                    return _reply(handler(**path_params, **_parse(self.app, spec)), status)
                except Exception as error:
                    return error_response(error)

            self.app.route(path, methods=[method], name=handler.__name__)(view)
            return handler

        return register


def _implied_errors(
    path: str, query: type[BaseModel] | None, body: type[BaseModel] | None, public: bool
) -> set[int]:
    implied = {500}
    if not public:
        implied.add(401)
    if query is not None or body is not None:
        implied.add(400)
    if body is not None:
        implied.add(413)
    if _PATH_PARAM.search(path):
        implied.add(404)
    return implied


def _hold_request(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Middleware: the request this call handles, for _parse (see _REQUEST). It only passes
    the request on; the middlewares that shape replies (CORS, auth) run inside it."""
    token = _REQUEST.set(event)
    try:
        return get_response(event)
    finally:
        _REQUEST.reset(token)


def _method_not_allowed_in_our_shape(
    event: Request, get_response: Callable[[Request], Response]
) -> Response:
    """Middleware: Chalice answers a method the path has no route for itself (405,
    `{"Code": "MethodNotAllowedError", ...}`); the reply gets the API's error shape, keeping
    the headers the inner middlewares set (Allow, CORS)."""
    response = get_response(event)
    body = response.body
    if response.status_code != 405 or not isinstance(body, dict):
        return response
    if body.get("Code") != "MethodNotAllowedError":
        return response
    allowed = str(response.headers.get("Allow", ""))
    error = MethodNotAllowed(f"{event.method} is not allowed on {event.path} (allowed: {allowed})")
    reshaped = error_response(error)
    reshaped.headers = {**response.headers, **reshaped.headers}
    return reshaped


def _parse(app: Chalice, spec: RouteSpec) -> dict[str, Any]:
    request = _REQUEST.get() or app.current_request
    assert request is not None
    kwargs: dict[str, Any] = {}
    params = _query_params(request.query_params)
    if spec.query is not None:
        allowed = set(spec.query.model_fields)
        _refuse_unknown(params, allowed)
        kwargs["query"] = parse(spec.query, params, what="query")
    else:
        _refuse_unknown(params, set())
    if spec.body is not None:
        kwargs["body"] = parse(spec.body, _json_body(request.raw_body), what="body")
    return kwargs


def _query_params(raw: Any) -> dict[str, str]:
    if not raw:
        return {}
    params: dict[str, str] = {}
    repeated = []
    for name in raw:
        values = raw.getlist(name) if hasattr(raw, "getlist") else [raw[name]]
        if len(values) > 1:
            repeated.append(name)
        params[name] = values[-1]
    if repeated:
        raise InvalidInput(
            f"repeated query parameters {sorted(repeated)}",
            fields={name: "given more than once" for name in repeated},
        )
    return params


def _refuse_unknown(params: Mapping[str, str], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        known = f"; known: {sorted(allowed)}" if allowed else "; this route takes none"
        raise InvalidInput(
            f"unknown query parameters {unknown}{known}",
            fields={name: "unknown query parameter" for name in unknown},
        )


def _json_body(raw: str | bytes | None) -> Any:
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if raw is not None and len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body over {MAX_BODY_BYTES} bytes")
    if not raw or not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput(
            f"request body is not valid JSON: {error}", fields={"body": "bad JSON"}
        ) from None


def _reply(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(body="", status_code=204)
    if isinstance(result, BaseModel):
        return json_response(status, result.model_dump(mode="json"))
    return json_response(status, result)


# -- local bearer-token auth ----------------------------------------------------------------
def check_bearer(headers: Mapping[str, str], token: str) -> None:
    """Unauthorized unless `Authorization: Bearer <token>` (constant-time comparison)."""
    value = headers.get("authorization") or ""
    scheme, _, given = value.partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise Unauthorized("missing 'Authorization: Bearer <token>' header")
    if not hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8")):
        raise Unauthorized("invalid bearer token")


def install_token_auth(app: Chalice, token_of: Callable[[], str | None]) -> None:
    """A middleware on every route but PUBLIC_PATHS; a no-op when `token_of()` is None (AWS:
    a Cognito authorizer on API Gateway does this job; loopback-only local servers)."""

    @app.middleware("http")
    def bearer_auth(event: Any, get_response: Callable[[Any], Response]) -> Response:
        token = token_of()
        if token is not None and event.path not in PUBLIC_PATHS:
            try:
                check_bearer(event.headers or {}, token)
            except Unauthorized as error:
                return error_response(error)
        return get_response(event)
