"""`studiolab up --demo`: the demo shop beside the stack, one demo project and crawler, seeded
once however often the stack starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from studiolab.demo import DemoShop
from studiolab.runtime import demo_seed
from studiolab.runtime.local_stack import LocalStack
from studiolab.runtime.settings import Settings
from studiolab.runtime.wiring import AppContext


@pytest.fixture
def shop() -> Iterator[DemoShop]:
    demo = demo_seed.start_demo(port=None)
    yield demo
    demo.stop()


def start(data_dir: Path, shop: DemoShop) -> LocalStack:
    settings = Settings(data_dir=data_dir, port=0, workers=0, reconcile_interval_s=60)
    stack = LocalStack(demo_seed.allow_demo_host(settings, shop))
    stack.start()
    demo_seed.seed_demo(stack.context, shop.url)
    return stack


def demo_entities(context: AppContext) -> tuple[list[str], list[list[str]]]:
    projects = [p for p in context.catalog.list_projects(limit=100).items]
    names = [p.name for p in projects]
    crawlers = [
        [c.name for c in context.catalog.list_crawlers(p.id, limit=100).items] for p in projects
    ]
    return names, crawlers


def test_seeds_once_and_allows_the_shop(tmp_path: Path, shop: DemoShop) -> None:
    stack = start(tmp_path / "data", shop)
    try:
        assert shop.host == "127.0.0.1"
        assert f"127.0.0.1:{shop.port}" in stack.context.settings.crawl_allow_hosts
        assert demo_entities(stack.context) == (["Demo shop"], [["Demo shop crawler"]])
        project = stack.context.catalog.list_projects(limit=10).items[0]
        assert (project.attribute, project.data_type) == ("skirt.flare", "image")
        crawler = stack.context.catalog.list_crawlers(project.id, limit=10).items[0]
        assert crawler.start_urls == [shop.url + "/"]
        assert crawler.strategy == "auto"
        assert crawler.limits.max_items == 60
        assert crawler.politeness.delay_s == pytest.approx(0.2)
    finally:
        stack.stop()

    stack = start(tmp_path / "data", shop)
    try:
        assert demo_entities(stack.context) == (["Demo shop"], [["Demo shop crawler"]])
    finally:
        stack.stop()


def test_restart_points_the_crawler_at_the_new_shop_url(tmp_path: Path, shop: DemoShop) -> None:
    stack = start(tmp_path / "data", shop)
    stack.stop()
    other = demo_seed.start_demo(port=None)
    try:
        stack = start(tmp_path / "data", other)
        try:
            project = stack.context.catalog.list_projects(limit=10).items[0]
            crawlers = stack.context.catalog.list_crawlers(project.id, limit=10).items
            assert [c.start_urls for c in crawlers] == [[other.url + "/"]]
        finally:
            stack.stop()
    finally:
        other.stop()
