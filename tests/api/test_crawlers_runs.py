"""Crawlers and runs through the Chalice test client (runs on a fake workflow engine)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from studiolab.domain.errors import NotFound
from studiolab.domain.ports import ExecutionInfo
from studiolab.runtime.wiring import AppContext
from tests.api.conftest import Api, assert_error

CRAWLER = {"name": "Dresses", "start_urls": ["https://shop.example/dresses"]}


class FakeWorkflows:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.stopped: list[str] = []

    def start(self, machine: str, name: str, payload: Mapping[str, Any]) -> str:
        self.started.append(name)
        return f"ref-{name}"

    def stop(self, ref: str, *, error: str = "", cause: str = "") -> None:
        if ref not in {f"ref-{name}" for name in self.started}:
            raise NotFound(ref)
        self.stopped.append(ref)

    def describe(self, ref: str) -> ExecutionInfo:
        return ExecutionInfo("RUNNING")


@pytest.fixture
def workflows(ctx: AppContext) -> FakeWorkflows:
    fake = FakeWorkflows()
    ctx.workflows = fake
    return fake


def test_crawler_crud(api: Api) -> None:
    pid = api.project()["id"]
    created = api.post(f"/v1/projects/{pid}/crawlers", CRAWLER)
    assert created.status == 201, created.body
    crawler = created.body
    assert crawler["project_id"] == pid and crawler["allowed_domains"] == ["shop.example"]
    assert crawler["counts"] == {}
    assert api.get(f"/v1/crawlers/{crawler['id']}").body == crawler
    listed = api.get(f"/v1/projects/{pid}/crawlers")
    assert listed.status == 200 and listed.body == {"items": [crawler], "next": None}

    patch = {"strategy": "selectors", "selectors": {"product_link": "a.p"}, "version": 1}
    updated = api.patch(f"/v1/crawlers/{crawler['id']}", patch)
    assert updated.status == 200, updated.body
    assert updated.body["strategy"] == "selectors" and updated.body["version"] == 2
    assert_error(api.patch(f"/v1/crawlers/{crawler['id']}", {"name": "x", "version": 1}), 409)

    assert api.delete(f"/v1/crawlers/{crawler['id']}").status == 204
    assert_error(api.get(f"/v1/crawlers/{crawler['id']}"), 404, "not_found")


def test_crawler_validation(api: Api) -> None:
    pid = api.project()["id"]
    bad = api.post(
        f"/v1/projects/{pid}/crawlers",
        {"name": "c", "start_urls": ["ftp://x"], "selectors": {"bogus": "a"}},
    )
    fields = assert_error(bad, 400, "invalid_input")["fields"]
    assert "start_urls" in fields and "selectors" in fields
    nested = api.post(f"/v1/projects/{pid}/crawlers", CRAWLER | {"politeness": {"delay_s": -1}})
    assert "politeness.delay_s" in assert_error(nested, 400)["fields"]
    assert_error(api.post("/v1/projects/pr_missing/crawlers", CRAWLER), 404)
    assert_error(api.get("/v1/projects/pr_missing/crawlers"), 404)
    assert_error(api.patch("/v1/crawlers/cr_missing", {"name": "x"}), 404)


def test_runs_start_conflict_status_stop(api: Api, workflows: FakeWorkflows) -> None:
    pid = api.project()["id"]
    cid = api.post(f"/v1/projects/{pid}/crawlers", CRAWLER).body["id"]
    started = api.post(f"/v1/crawlers/{cid}/runs")
    assert started.status == 201, started.body
    run = started.body
    assert run["status"] == "RUNNING" and run["crawler_id"] == cid
    assert {"elapsed_s", "items_per_min", "eta_s", "counters", "status_message"} <= set(run)
    assert_error(api.post(f"/v1/crawlers/{cid}/runs"), 409, "conflict")
    assert_error(api.delete(f"/v1/crawlers/{cid}"), 409, "conflict")

    got = api.get(f"/v1/runs/{run['id']}")
    assert got.status == 200 and got.body["id"] == run["id"]
    listed = api.get(f"/v1/crawlers/{cid}/runs")
    assert [r["id"] for r in listed.body["items"]] == [run["id"]] and listed.body["next"] is None

    graceful = api.post(f"/v1/runs/{run['id']}/stop")
    assert graceful.status == 200 and graceful.body["status"] == "ABORTING"
    now = api.post(f"/v1/runs/{run['id']}/stop?now=true")
    assert now.body["status"] == "ABORTED" and workflows.stopped
    assert_error(api.post(f"/v1/runs/{run['id']}/stop?now=soon"), 400, "invalid_input")

    again = api.post(f"/v1/crawlers/{cid}/runs")
    assert again.status == 201


def test_runs_missing(api: Api, workflows: FakeWorkflows) -> None:
    assert_error(api.post("/v1/crawlers/cr_missing/runs"), 404)
    assert_error(api.get("/v1/crawlers/cr_missing/runs"), 404)
    assert_error(api.get("/v1/runs/run_missing"), 404)
    assert_error(api.post("/v1/runs/run_missing/stop"), 404)
