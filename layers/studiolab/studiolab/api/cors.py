"""CORS for browser clients on other origins (the UI on CloudFront calling API Gateway; a UI
dev server calling `studiolab up`).

Allowed origins are exact strings from STUDIOLAB_CORS_ORIGINS (none by default: no CORS
headers at all). Chalice's own CORSConfig allows one static origin only, so this is:

- a Chalice middleware (`install_cors`) for actual requests, the same on Lambda and through
  LocalGateway: a request whose Origin is listed gets `Access-Control-Allow-Origin: <that
  origin>`; with origins configured every reply says `Vary: Origin` (it depends on it, so a
  shared cache never hands one origin's reply to another); an unlisted origin gets no
  Access-Control-* header, so the browser does not share the reply with it;
- `preflight` for OPTIONS requests, which never reach a Chalice app without OPTIONS routes:
  on AWS API Gateway answers them (a MOCK method per resource, infra/constructs/api.py);
  locally the server (runtime/server.py) answers them with this function, before LocalGateway
  (which would short-circuit OPTIONS itself) and without auth - a preflight never carries
  credentials and reveals only a path's methods.

The app registers no OPTIONS routes on purpose: the CDK app builds one API Gateway method per
Chalice route, and its resources already carry the preflight method."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from chalice.app import Chalice, Response

ALLOWED_HEADERS = ("Authorization", "Content-Type")
MAX_AGE_S = 600  # browsers cap it anyway (Chromium: 2 h, Firefox: 24 h)
ACAO = "Access-Control-Allow-Origin"


def cors_headers(origins: Collection[str], headers: Mapping[str, str]) -> dict[str, str]:
    """What to add to the reply of an actual request with `headers` (lower-case names)."""
    if not origins:
        return {}
    origin = headers.get("origin")
    if origin is None or origin not in origins:
        return {"Vary": "Origin"}
    return {ACAO: origin, "Vary": "Origin"}


def preflight(
    routes: Mapping[str, Iterable[str]],
    path: str,
    headers: Mapping[str, str],
    origins: Collection[str],
) -> tuple[int, dict[str, str]] | None:
    """The reply (204, headers) to `OPTIONS path`, or None when no route has that path.
    `routes`: route path template -> its methods (a Chalice app's `routes`); `headers`: the
    request's, lower-case names. A listed origin asking for a method (a CORS preflight) gets
    the path's methods, the allowed request headers and a max-age."""
    methods = _methods_of(routes, path)
    if methods is None:
        return None
    allow = ", ".join(sorted({*methods, "OPTIONS"}))
    reply = {"Allow": allow} | cors_headers(origins, headers)
    if ACAO in reply and "access-control-request-method" in headers:
        reply |= {
            "Access-Control-Allow-Methods": allow,
            "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
            "Access-Control-Max-Age": str(MAX_AGE_S),
        }
    return 204, reply


def install_cors(app: Chalice, origins_of: Callable[[], Collection[str]]) -> None:
    """Register the CORS middleware. Register it before any other http middleware, so it is
    the outermost one and its headers are on every reply, 401s included."""

    @app.middleware("http")
    def cors(event: Any, get_response: Callable[[Any], Response]) -> Response:
        response = get_response(event)
        origins = origins_of()
        if origins:
            request = {key.lower(): value for key, value in (event.headers or {}).items()}
            added = cors_headers(origins, request)
            vary = _pop_header(response.headers, "vary")
            if vary is not None:
                names = [part.strip() for part in vary.split(",") if part.strip()]
                added["Vary"] = ", ".join(names + [n for n in ["Origin"] if n not in names])
            response.headers.update(added)
        return response


def _methods_of(routes: Mapping[str, Iterable[str]], path: str) -> list[str] | None:
    """The methods of the route `path` resolves to (literal segments beat parameters)."""
    wanted = path.split("?", 1)[0].split("/")
    best: tuple[int, list[str]] | None = None
    for template, methods in routes.items():
        parts = template.split("/")
        if len(parts) != len(wanted):
            continue
        literal = 0
        for part, given in zip(parts, wanted, strict=True):
            if part.startswith("{") and part.endswith("}") and given:
                continue
            if part != given:
                break
            literal += 1
        else:
            if best is None or literal > best[0]:
                best = (literal, [method for method in methods if method != "OPTIONS"])
    return None if best is None else best[1]


def _pop_header(headers: dict[str, Any], name: str) -> str | None:
    for key in list(headers):
        if key.lower() == name:
            return str(headers.pop(key))
    return None
