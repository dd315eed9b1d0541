"""Crawl workflow fixtures: a local context (SQLite catalog, filesystem blobs) whose workflow
engine is the in-process moto Step Functions interpreter running infra/statemachines/crawl
.asl.json with the real step handlers, crawling the demo shop on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from studiolab.demo import DemoShop, start_demo_shop
from studiolab.domain.models import Crawler, Project, Run
from studiolab.domain.models.crawler import Politeness
from studiolab.runtime.settings import Settings
from studiolab.runtime.wiring import AppContext, build_local, install, run_control
from studiolab.services.runs import RunControl

PRODUCTS = 30
NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def shop() -> Iterator[DemoShop]:
    with start_demo_shop(
        products=PRODUCTS, port=0, crawl_delay=None, image_size=(120, 150)
    ) as demo:
        yield demo


def make_context(tmp_path: Path, **overrides: object) -> AppContext:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "crawl_allow_hosts": ["127.0.0.1"],
        "crawl_batch_pages": 10,
    }
    values.update(overrides)
    return build_local(Settings(**values))  # type: ignore[arg-type]


@pytest.fixture
def context_factory(tmp_path: Path) -> Iterator[Callable[..., AppContext]]:
    made: list[AppContext] = []

    def make(**overrides: object) -> AppContext:
        context = make_context(tmp_path, **overrides)
        install(context)
        made.append(context)
        return context

    yield make
    install(None)
    for context in made:
        context.close()


@pytest.fixture
def context(context_factory: Callable[..., AppContext]) -> AppContext:
    return context_factory()


@pytest.fixture
def runs(context: AppContext) -> RunControl:
    return run_control()


def add_crawler(context: AppContext, shop: DemoShop, **fields: object) -> Crawler:
    project = context.catalog.create_project(
        Project(
            id=context.ids.new_id("pr"),
            name="flare skirts",
            shop="demo",
            attribute="skirt.flare",
            created_at=NOW,
            updated_at=NOW,
        )
    )
    values: dict[str, object] = {
        "id": context.ids.new_id("cr"),
        "project_id": project.id,
        "name": "demo",
        "start_urls": [shop.url + "/"],
        "politeness": Politeness(delay_s=0, concurrency=4),
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(fields)
    return context.catalog.create_crawler(Crawler.model_validate(values))


def wait_for(
    context: AppContext, run_id: str, done: Callable[[Run], bool], timeout: float = 30.0
) -> Run:
    deadline = time.monotonic() + timeout
    while True:
        run = context.catalog.get_run(run_id)
        if done(run):
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {run.status}: {run}")
        time.sleep(0.05)


def wait_terminal(context: AppContext, run_id: str, timeout: float = 30.0) -> Run:
    return wait_for(context, run_id, lambda run: run.status.terminal, timeout)
