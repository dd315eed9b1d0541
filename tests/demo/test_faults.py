"""Seeded faults: only when enabled, deterministic by seed, transient ones recover on retry."""

from __future__ import annotations

import time

from studiolab.demo import DemoShop, FaultPlan, start_demo_shop
from studiolab.demo.catalog import Catalog
from tests.demo.conftest import Client


def fault_targets(plan: FaultPlan) -> list[str]:
    return [
        *(f"/products/{h}" for h in plan.missing + plan.broken + plan.flaky + plan.slow),
        *(f"/cdn/images/{h}-{n}.jpg?width=400" for h, n in plan.broken_images),
        *(f"{path}?page={page}" for path, page in plan.flaky_pages),
    ]


def statuses(shop: DemoShop, targets: list[str]) -> list[int]:
    client = Client(shop.url)
    try:
        return [client.get(target).status for target in targets]
    finally:
        client.close()


def test_no_faults_unless_enabled(shop: DemoShop) -> None:
    plan = FaultPlan.build(shop.catalog, 7, slow_seconds=3.0)
    assert shop.faults is None
    targets = [t for t in fault_targets(plan) if not any(h in t for h in plan.missing)]
    assert set(statuses(shop, targets)) == {200}
    for handle in plan.slow:  # with faults on these would take 3 s each
        started = time.monotonic()
        assert statuses(shop, [f"/products/{handle}"]) == [200]
        assert time.monotonic() - started < 1.5
    assert not any(h in Client(shop.url).get("/sitemap_products_1.xml").text for h in plan.missing)


def test_faults_when_enabled() -> None:
    with start_demo_shop(240, seed=7, faults=True, slow_seconds=0.3) as shop:
        plan = shop.faults
        assert plan is not None and plan.missing and plan.broken and plan.flaky and plan.slow
        client = Client(shop.url)
        sitemap = client.get("/sitemap_products_1.xml").text
        for handle in plan.missing:  # stale sitemap entries
            assert f"/products/{handle}<" in sitemap
            assert client.get(f"/products/{handle}").status == 404
        for handle in plan.broken:
            assert [client.get(f"/products/{handle}").status for _ in range(2)] == [500, 500]
        for handle in plan.flaky:
            first = client.get(f"/products/{handle}")
            assert first.status in {500, 503}
            if first.status == 503:
                assert first.headers["retry-after"] == "1"
            assert client.get(f"/products/{handle}").status == 200
        for path, page in plan.flaky_pages:
            assert client.get(f"{path}?page={page}").status == 500
            assert client.get(f"{path}?page={page}").status == 200
        for handle, n in plan.broken_images:
            assert client.get(f"/cdn/images/{handle}-{n}.jpg").status == 404
            assert client.get(f"/cdn/images/{handle}-1.jpg").status == 200
        started = time.monotonic()
        assert client.get(f"/products/{plan.slow[0]}").status == 200
        assert time.monotonic() - started >= 0.3
        faulty = set(plan.broken + plan.flaky + plan.slow)
        healthy = [p.path() for p in shop.catalog if p.handle not in faulty][:40]
        assert set(statuses(shop, healthy)) == {200}


def test_faults_are_deterministic_by_seed() -> None:
    catalog = Catalog(240, seed=7)
    assert FaultPlan.build(catalog, 7) == FaultPlan.build(Catalog(240, seed=7), 7)
    assert FaultPlan.build(catalog, 7).broken != FaultPlan.build(Catalog(240, seed=9), 9).broken
    runs = []
    for _ in range(2):
        with start_demo_shop(240, seed=7, faults=True, slow_seconds=0.05) as shop:
            assert shop.faults is not None
            targets = fault_targets(shop.faults)
            runs.append((targets, statuses(shop, targets + targets)))
    assert runs[0] == runs[1]
    assert {500, 404, 200} <= set(runs[0][1])
