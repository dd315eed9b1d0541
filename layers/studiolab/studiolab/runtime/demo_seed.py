"""`studiolab up --demo`: the demo shop beside the stack, plus one demo project and crawler.

The shop runs in this process on 127.0.0.1 (port 8100, the `demo-shop` command's default, or
any free port when 8100 is taken), with its seeded faults on. Its host:port joins the
crawler's SSRF allow-list for this process only. Seeding goes through the project and crawler
services and is idempotent: the "Demo shop" project and its "Demo shop crawler" are made
only when no project of that name exists; on later starts the crawler, if still there, is
pointed at the shop's current URL (the port may differ)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from studiolab.demo import DemoShop, start_demo_shop
from studiolab.domain.models import Crawler, Project
from studiolab.runtime.settings import Settings
from studiolab.runtime.wiring import AppContext
from studiolab.services.crawlers import CrawlerService
from studiolab.services.projects import ProjectService

log = logging.getLogger(__name__)

DEMO_PROJECT = "Demo shop"
DEMO_CRAWLER = "Demo shop crawler"
DEMO_ATTRIBUTE = "skirt.flare"
DEMO_PORT = 8100
DEMO_PRODUCTS = 240
DEMO_CRAWLER_FIELDS: dict[str, object] = {
    "name": DEMO_CRAWLER,
    "strategy": "auto",
    "limits": {"max_items": 60, "max_pages": 5000},
    "politeness": {"delay_s": 0.2, "concurrency": 2, "obey_robots": True},
}


@dataclass(frozen=True)
class Seeded:
    project: Project
    crawler: Crawler | None  # None: the user deleted the demo crawler (not made again)
    created: bool  # False: the project existed (its crawler may have been re-pointed)


def start_demo(port: int | None = DEMO_PORT) -> DemoShop:
    """The demo shop with faults on; `port` None or taken -> any free port."""
    if port:
        try:
            return start_demo_shop(DEMO_PRODUCTS, port=port, faults=True)
        except OSError:
            log.info("port %d is taken; the demo shop takes a free port", port)
    return start_demo_shop(DEMO_PRODUCTS, port=0, faults=True)


def allow_demo_host(settings: Settings, shop: DemoShop) -> Settings:
    """The settings with the shop's host:port on the crawler's SSRF allow-list."""
    entry = f"{shop.host}:{shop.port}"
    hosts = [*settings.crawl_allow_hosts, entry]
    return settings.model_copy(update={"crawl_allow_hosts": list(dict.fromkeys(hosts))})


def seed_demo(context: AppContext, shop_url: str) -> Seeded:
    """Make (once) the demo project and crawler; point the crawler at `shop_url`."""
    projects = ProjectService(
        context.catalog, context.blobs, context.clock, context.ids, context.taxonomy
    )
    crawlers = CrawlerService(context.catalog, context.clock, context.ids)
    start_url = shop_url.rstrip("/") + "/"
    project = _find_project(context, DEMO_PROJECT)
    if project is None:
        project = projects.create(
            name=DEMO_PROJECT, shop="demo shop", attribute=DEMO_ATTRIBUTE, data_type="image"
        ).project
        fields = DEMO_CRAWLER_FIELDS | {"start_urls": [start_url]}
        return Seeded(project, crawlers.create(project.id, fields).crawler, created=True)
    crawler = _find_crawler(context, project.id, DEMO_CRAWLER)
    if crawler is not None and crawler.start_urls != [start_url]:
        crawler = crawlers.update(crawler.id, {"start_urls": [start_url]}).crawler
    return Seeded(project, crawler, created=False)


def _find_project(context: AppContext, name: str) -> Project | None:
    cursor: str | None = None
    while True:
        page = context.catalog.list_projects(limit=200, cursor=cursor)
        for project in page.items:
            if project.name.strip().lower() == name.lower():
                return project
        cursor = page.next
        if cursor is None:
            return None


def _find_crawler(context: AppContext, project_id: str, name: str) -> Crawler | None:
    cursor: str | None = None
    while True:
        page = context.catalog.list_crawlers(project_id, limit=200, cursor=cursor)
        for crawler in page.items:
            if crawler.name == name:
                return crawler
        cursor = page.next
        if cursor is None:
            return None
