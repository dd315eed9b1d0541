"""GET /docs: a Swagger UI page over /openapi.json. The Swagger UI files are vendored from the
swagger-ui-dist npm package into web/vendor/swagger-ui/ (served as static files: locally by
studiolab.runtime.server, on AWS by the UI's CloudFront distribution)."""

from __future__ import annotations

SWAGGER_UI_VERSION = "5.35.0"
VENDOR_PATH = "/vendor/swagger-ui"

DOCS_HTML = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>studiolab API</title>
  <link rel="stylesheet" href="{VENDOR_PATH}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{VENDOR_PATH}/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true
    }});
  </script>
</body>
</html>
"""
