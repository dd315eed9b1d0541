"""Seeded fault injection: dead links, server errors (permanent and transient) and slow pages.

The plan (which URLs misbehave) depends only on the catalog and the seed; the injector adds the
state for transient faults (a flaky URL fails on its first request and succeeds afterwards)."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from studiolab.demo.catalog import Catalog


@dataclass(frozen=True)
class Fault:
    """How to misbehave for one request: an error status, or a delay before a normal answer."""

    status: int | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    reason: str = ""


@dataclass(frozen=True)
class FaultPlan:
    seed: int
    missing: tuple[str, ...]  # handles of removed products, still in the sitemap: 404
    broken: tuple[str, ...]  # product pages that always answer 500
    flaky: tuple[str, ...]  # product pages that fail once (500, or 503 + Retry-After) then work
    slow: tuple[str, ...]  # product pages answered after `slow_seconds`
    broken_images: tuple[tuple[str, int], ...]  # (handle, n): image answers 404
    flaky_pages: tuple[tuple[str, int], ...]  # (path, page) of listings / JSON pages failing once
    slow_seconds: float

    @classmethod
    def build(cls, catalog: Catalog, seed: int, slow_seconds: float = 2.0) -> FaultPlan:
        rng = random.Random(f"studiolab-demo-faults:{seed}")
        size = len(catalog)
        handles = [product.handle for product in catalog]
        n_broken, n_flaky, n_slow = (
            max(1, size // 200),
            max(3, size // 50),
            min(5, max(1, size // 200)),
        )
        picked = rng.sample(handles, min(size, n_broken + n_flaky + n_slow))
        broken = picked[:n_broken]
        flaky = picked[n_broken : n_broken + n_flaky]
        slow = picked[n_broken + n_flaky :]
        taken = set(picked)
        gallery = [p for p in catalog if len(p.images) >= 2 and p.handle not in taken]
        images = rng.sample(gallery, min(len(gallery), max(1, size // 100)))
        first = catalog[0].collection
        return cls(
            seed=seed,
            missing=tuple(catalog.ghost_handles(max(2, size // 100))),
            broken=tuple(sorted(broken)),
            flaky=tuple(sorted(flaky)),
            slow=tuple(sorted(slow)),
            broken_images=tuple(sorted((p.handle, 2) for p in images)),
            flaky_pages=((f"/collections/{first}", 2), ("/products.json", 2)),
            slow_seconds=slow_seconds,
        )

    def describe(self) -> dict[str, object]:
        return {
            "seed": self.seed,
            "missing": list(self.missing),
            "broken": list(self.broken),
            "flaky": list(self.flaky),
            "slow": list(self.slow),
            "broken_images": [f"{handle}-{n}" for handle, n in self.broken_images],
            "flaky_pages": [f"{path}?page={page}" for path, page in self.flaky_pages],
            "slow_seconds": self.slow_seconds,
        }


class FaultInjector:
    """Applies a plan; `enabled=False` never injects anything."""

    def __init__(self, plan: FaultPlan, *, enabled: bool) -> None:
        self.plan = plan
        self.enabled = enabled
        self._broken = set(plan.broken)
        self._flaky = {handle: k for k, handle in enumerate(plan.flaky)}
        self._slow = set(plan.slow)
        self._images = set(plan.broken_images)
        self._pages = set(plan.flaky_pages)
        self._seen: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def _first_time(self, key: tuple[str, int]) -> bool:
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
            return True

    def reset(self) -> None:
        """Forget which transient faults have fired (they fire again on the next request)."""
        with self._lock:
            self._seen.clear()

    def for_product(self, handle: str, path: str) -> Fault | None:
        if not self.enabled:
            return None
        if handle in self._broken:
            return Fault(status=500, reason="broken product page")
        if handle in self._flaky and self._first_time((path, 0)):
            if self._flaky[handle] % 2:
                return Fault(status=503, headers={"Retry-After": "1"}, reason="transient 503")
            return Fault(status=500, reason="transient 500")
        if handle in self._slow:
            return Fault(delay=self.plan.slow_seconds, reason="slow page")
        return None

    def for_image(self, handle: str, n: int) -> Fault | None:
        if self.enabled and (handle, n) in self._images:
            return Fault(status=404, reason="missing image")
        return None

    def for_page(self, path: str, page: int) -> Fault | None:
        key = (path, page)
        if self.enabled and key in self._pages and self._first_time(key):
            return Fault(status=500, reason="transient 500")
        return None
