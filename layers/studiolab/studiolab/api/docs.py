"""GET /docs: a Swagger UI page over the OpenAPI document.

Every URL in the page is relative to the page itself, so it works wherever the API is mounted:
at the host root locally (`/docs` -> `/openapi.json`) and under the stage path on API Gateway
(`/api/docs` -> `/api/openapi.json`).

The Swagger UI files are vendored from the swagger-ui-dist npm package into
web/vendor/swagger-ui/ and served as static files, not by the API:
- locally by studiolab.runtime.server at `/vendor/swagger-ui/` (the default, page-relative
  `./vendor/swagger-ui`);
- on AWS by the web UI's CloudFront distribution: the CDK stack hands its URL to the API
  function as STUDIOLAB_SWAGGER_UI_URL (`https://<distribution>/vendor/swagger-ui`).

The page is rendered once, at import (the Lambda environment does not change while it runs)."""

from __future__ import annotations

import html
import os

from studiolab.runtime.settings import ENV_PREFIX

SWAGGER_UI_VERSION = "5.35.0"
SWAGGER_UI_ENV = f"{ENV_PREFIX}SWAGGER_UI_URL"
DEFAULT_SWAGGER_UI_URL = "./vendor/swagger-ui"  # next to the page: the local server's web/
OPENAPI_URL = "./openapi.json"  # next to the page: /openapi.json locally, /api/openapi.json on AWS


def swagger_ui_url() -> str:
    """Base URL of the Swagger UI files: $STUDIOLAB_SWAGGER_UI_URL (an absolute http(s) URL,
    checked with the other settings: runtime.settings.Settings.swagger_ui_url), else the
    page-relative default."""
    return os.environ.get(SWAGGER_UI_ENV, "").strip().rstrip("/") or DEFAULT_SWAGGER_UI_URL


def render_docs(assets: str = DEFAULT_SWAGGER_UI_URL, spec: str = OPENAPI_URL) -> str:
    """The Swagger UI page loading its files from `assets` and the document from `spec`."""
    assets_attr = html.escape(assets, quote=True)
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>studiolab API</title>
  <link rel="stylesheet" href="{assets_attr}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{assets_attr}/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: new URL({_js_string(spec)}, document.baseURI).href,
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true
    }});
  </script>
</body>
</html>
"""


def _js_string(value: str) -> str:
    """A double-quoted JavaScript string literal, safe inside an HTML <script> element."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("<", "\\u003c").replace(">", "\\u003e") + '"'


DOCS_HTML = render_docs(swagger_ui_url())
