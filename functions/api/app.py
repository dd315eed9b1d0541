"""The HTTP API: Chalice routing glue only. Logic lives in studiolab services; the same app
runs on API Gateway + Lambda and inside `studiolab up` (through Chalice's LocalGateway)."""

from __future__ import annotations

from chalice import Chalice

from studiolab import __version__
from studiolab.runtime.wiring import get_context

app = Chalice(app_name="studiolab-api")


@app.route("/health", methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__, "mode": get_context().settings.mode}
