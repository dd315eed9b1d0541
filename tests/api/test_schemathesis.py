"""schemathesis against /openapi.json on the local server (real HTTP on 127.0.0.1): for every
operation, generated requests (valid and invalid) never get a 5xx, and every reply has a
documented status code and content type and matches its response schema.

The stack (no workers) is seeded with a project, a crawler, items, a finished run and a
queued export. Path parameters are sometimes replaced with those real ids, so the GET routes
answer real data too - but never on operations that would delete the seed or start a crawl."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from studiolab.domain.models import Item, PersonTags, Run
from studiolab.domain.models.run import RunStatus
from studiolab.runtime.local_stack import LocalStack
from studiolab.runtime.server import API_APP_PATH
from studiolab.runtime.settings import load_settings
from studiolab.runtime.wiring import load_module
from tests.support.palette import single_colour

MAX_EXAMPLES = 25
ROUTES = [(route.method, route.path) for route in load_module(API_APP_PATH).api.routes]
NOW = datetime(2026, 11, 28, tzinfo=UTC)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Operations whose path ids stay random (404): they would delete the seed or start a crawl.
NO_REAL_IDS = frozenset(
    {
        ("DELETE", "/v1/projects/{project_id}"),
        ("DELETE", "/v1/crawlers/{crawler_id}"),
        ("DELETE", "/v1/items/{item_id}"),
        ("POST", "/v1/crawlers/{crawler_id}/runs"),
        ("POST", "/v1/projects/{project_id}/items/delete"),
    }
)


def _post(base: str, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == status
        return dict(json.loads(reply.read()))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    settings_ = load_settings(
        mode="local",
        data_dir=tmp_path_factory.mktemp("schemathesis") / "data",
        host="127.0.0.1",
        port=0,
        workers=0,
        segment_model="none",
    )
    stack = LocalStack(settings_)
    base = stack.start()
    stack.serve_in_background()
    try:
        project = _post(
            base, "/v1/projects", {"name": "Seed", "shop": "Demo", "attribute": "dress.maxi"}
        )
        crawler = _post(
            base,
            f"/v1/projects/{project['id']}/crawlers",
            {"name": "Seed crawler", "start_urls": ["https://shop.example/dresses"]},
        )
        item_ids = []
        for index, (rgb, basic) in enumerate([((200, 30, 40), "Red"), ((30, 60, 200), "Blue")]):
            item = Item(
                id=f"it_seed{index:03d}",
                project_id=project["id"],
                crawler_id=crawler["id"],
                attribute="dress.maxi",
                state="done",
                palette=[single_colour(rgb, basic)],
                person=PersonTags(present=True, confidence=0.9, view="front", framing="full_body"),
                created_at=NOW + timedelta(seconds=index),
                updated_at=NOW,
            )
            item_ids.append(stack.context.catalog.create_item(item).id)
        run = Run(
            id="ru_seed000",
            crawler_id=crawler["id"],
            project_id=project["id"],
            status=RunStatus.SUCCEEDED,
            created_at=NOW,
            started_at=NOW,
            finished_at=NOW + timedelta(minutes=1),
        )
        stack.context.catalog.create_run(run)
        export = _post(base, f"/v1/projects/{project['id']}/exports", {"colour": "Red"}, 202)
        ids = {
            "project_id": project["id"],
            "crawler_id": crawler["id"],
            "item_id": item_ids[0],
            "run_id": run.id,
            "export_id": export["id"],
        }
        yield base, ids
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def api_schema(seeded: tuple[str, dict[str, str]]) -> OpenApiSchema:
    base, _ = seeded
    return schemathesis.openapi.from_url(f"{base}/openapi.json")


def _strategy(
    operation: APIOperation[Any, Any, Any, Any], ids: dict[str, str]
) -> st.SearchStrategy[Case[Any]]:
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    names = [p.name for p in operation.path_parameters]
    real = {name: ids[name] for name in names if name in ids}
    if real and (operation.method.upper(), operation.path) not in NO_REAL_IDS:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real))
    return st.one_of(strategies)


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_operation_conforms_to_openapi(
    method: str,
    path: str,
    api_schema: OpenApiSchema,
    seeded: tuple[str, dict[str, str]],
) -> None:
    base, ids = seeded
    operation = api_schema[path][method]  # KeyError: the route is missing from /openapi.json

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_strategy(operation, ids))
    def check(case: Case[Any]) -> None:
        case.call_and_validate(base_url=base, checks=CHECKS, timeout=10)

    check()
