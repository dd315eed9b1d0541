"""Signing in: a local server started with STUDIOLAB_TOKEN (the UI asks for the token and
sends it as a Bearer token), and the hosted UI's Cognito flow (config.json names the user
pool; the ID token comes back in the URL fragment and is sent as API Gateway expects)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.conftest import Stack, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UNAUTHORIZED = json.dumps({"error": {"code": "unauthorized", "message": "a token is needed"}})


def guard_api(page: Any, accepted: str, seen: list[str | None]) -> None:
    """Answers /v1/ like a server that wants `accepted` in the Authorization header."""

    def handle(route: Any) -> None:
        header = route.request.headers.get("authorization")
        seen.append(header)
        if header != accepted:
            route.fulfill(status=401, content_type="application/json", body=UNAUTHORIZED)
        else:
            route.continue_()

    page.route("**/v1/**", handle)


def test_local_token_is_asked_for_and_sent_as_bearer(page: Any, stack: Stack) -> None:
    seen: list[str | None] = []
    guard_api(page, "Bearer s3cret-token", seen)
    page.goto(f"{stack.url}/")
    dialog = page.get_by_role("dialog", name="Access token needed")
    dialog.wait_for()
    assert "a token is needed" in dialog.inner_text()
    shot(page, "auth-token-dialog")
    dialog.get_by_label("Token").fill("s3cret-token")
    dialog.get_by_role("button", name="Use token").click()
    page.get_by_role("heading", name="Projects").wait_for()
    page.get_by_role("form", name="New project").wait_for()
    assert seen[0] is None and seen[-1] == "Bearer s3cret-token"


def test_cognito_sign_in_round_trip(page: Any, stack: Stack) -> None:
    config = {
        "apiBase": stack.url,
        "cognito": {
            "domain": "https://studiolab-test.auth.eu-west-1.amazoncognito.com",
            "clientId": "client123",
            "redirectUri": f"{stack.url}/",
        },
    }
    page.route(
        "**/config.json",
        lambda route: route.fulfill(content_type="application/json", body=json.dumps(config)),
    )
    hosted_ui: list[str] = []

    def cognito(route: Any) -> None:
        hosted_ui.append(route.request.url)
        route.fulfill(content_type="text/html", body="<h1>Cognito sign-in</h1>")

    page.route("https://studiolab-test.auth.eu-west-1.amazoncognito.com/**", cognito)
    seen: list[str | None] = []
    guard_api(page, "eyJ.id.token", seen)

    page.goto(f"{stack.url}/")
    sign_in = page.get_by_role("button", name="Sign in")
    sign_in.wait_for()
    assert page.get_by_role("dialog").count() == 0  # Cognito: no token dialog
    sign_in.click()
    page.get_by_role("heading", name="Cognito sign-in").wait_for()
    assert "response_type=token" in hosted_ui[0] and "client_id=client123" in hosted_ui[0]

    # Cognito redirects back with the tokens in the fragment.
    page.goto(f"{stack.url}/#id_token=eyJ.id.token&access_token=abc&token_type=Bearer")
    page.get_by_role("form", name="New project").wait_for()
    assert "id_token" not in page.url
    assert seen[-1] == "eyJ.id.token"  # raw ID token, as the user-pool authorizer reads it
