"""Catalog port contract, run against every adapter (SQLite; DynamoDB under moto).

The same assertions for both: CRUD and optimistic versions, newest-first listings with
opaque cursors, item filters agreeing with ItemFilter.matches, counters, and the run state
machine, including races between threads. Timestamps are explicit, so orders are exact."""

from __future__ import annotations

import base64
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import pytest

from studiolab.domain.errors import (
    ConcurrentUpdate,
    Conflict,
    IllegalTransition,
    InvalidInput,
    NotFound,
)
from studiolab.domain.models import (
    BASIC_COLOURS,
    RUN_COUNTER_FIELDS,
    Crawler,
    Export,
    Item,
    ItemFilter,
    PaletteColor,
    PersonTags,
    Project,
    Run,
    RunError,
    RunStatus,
)
from studiolab.domain.ports import MAX_PAGE_SIZE, Catalog, Page

# The `catalog` fixture: each adapter in turn.
pytest_plugins = ["tests.contract.catalog_fixtures"]

T = TypeVar("T")
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
PROJECT = "prj_main"
CRAWLER = "crw_main"
OTHER = "prj_other"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# ---- entity factories -----------------------------------------------------------------------


def make_project(i: int, *, created: datetime | None = None) -> Project:
    moment = created or at(i)
    return Project(
        id=f"prj_{i:04d}",
        name=f"Project {i}",
        shop="Shop",
        attribute="skirt.flare",
        created_at=moment,
        updated_at=moment,
    )


def make_crawler(i: int, *, project_id: str = PROJECT, created: datetime | None = None) -> Crawler:
    moment = created or at(i)
    return Crawler(
        id=f"crw_{i:04d}",
        project_id=project_id,
        name=f"Crawler {i}",
        start_urls=["https://shop.example/skirts"],
        created_at=moment,
        updated_at=moment,
    )


def make_run(
    i: int,
    *,
    crawler_id: str = CRAWLER,
    status: RunStatus = RunStatus.SUCCEEDED,
    created: datetime | None = None,
) -> Run:
    return Run(
        id=f"run_{i:04d}",
        crawler_id=crawler_id,
        project_id=PROJECT,
        status=status,
        created_at=created or at(i),
    )


def make_export(i: int, *, project_id: str = PROJECT, created: datetime | None = None) -> Export:
    return Export(
        id=f"exp_{i:04d}",
        project_id=project_id,
        filters=ItemFilter(kind="image"),
        created_at=created or at(i),
    )


def colour(basic: str) -> PaletteColor:
    return PaletteColor.model_validate(
        {
            "hex": "#AABBCC",
            "rgb": (170, 187, 204),
            "lab": (75.0, -2.0, -10.0),
            "fraction": 0.25,
            "name": f"light {basic.lower()}",
            "basic": basic,
            "delta_e": 3.5,
        }
    )


def make_item(
    i: int,
    *,
    project_id: str = PROJECT,
    crawler_id: str | None = CRAWLER,
    created: datetime | None = None,
    **fields: Any,
) -> Item:
    moment = created or at(i)
    return Item.model_validate(
        {
            "id": f"itm_{i:04d}",
            "project_id": project_id,
            "crawler_id": crawler_id,
            "created_at": moment,
            "updated_at": moment,
            **fields,
        }
    )


@dataclass(frozen=True)
class Kind:
    """One entity type, seen through the generic part of the port."""

    name: str
    make: Callable[..., Any]
    list_of: Callable[[Catalog], Callable[..., Page[Any]]]
    parent: str  # make(..., **{parent: value}) puts a record in another listing

    def create(self, catalog: Catalog, entity: Any) -> Any:
        return getattr(catalog, f"create_{self.name}")(entity)

    def get(self, catalog: Catalog, entity_id: str) -> Any:
        return getattr(catalog, f"get_{self.name}")(entity_id)

    def delete(self, catalog: Catalog, entity_id: str) -> None:
        getattr(catalog, f"delete_{self.name}")(entity_id)


KINDS = {
    "project": Kind("project", make_project, lambda c: c.list_projects, ""),
    "crawler": Kind(
        "crawler",
        make_crawler,
        lambda c: lambda **kw: c.list_crawlers(PROJECT, **kw),
        "project_id",
    ),
    "run": Kind("run", make_run, lambda c: lambda **kw: c.list_runs(CRAWLER, **kw), "crawler_id"),
    "item": Kind(
        "item", make_item, lambda c: lambda **kw: c.list_items(PROJECT, **kw), "project_id"
    ),
    "export": Kind(
        "export",
        make_export,
        lambda c: lambda **kw: c.list_exports(PROJECT, **kw),
        "project_id",
    ),
}
UPDATABLE = ["project", "crawler", "item", "export"]


def newest_first(entities: list[Any]) -> list[Any]:
    return sorted(entities, key=lambda e: (e.created_at, e.id), reverse=True)


def collect(list_page: Callable[..., Page[T]], limit: int, **kwargs: Any) -> list[T]:
    """Every record of a listing, page by page; a non-final page must be full."""
    found: list[T] = []
    cursor: str | None = None
    for _ in range(1000):
        page = list_page(limit=limit, cursor=cursor, **kwargs)
        if page.next is not None:
            assert len(page.items) == limit, "only the last page may be short"
        found += page.items
        if page.next is None:
            return found
        cursor = page.next
    raise AssertionError("listing never ended")


def concurrently(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls on threads released together; each result or the exception raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def work(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=work, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a catalog call hung"
    return results


# ---- CRUD, common to every entity -----------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS.values(), ids=KINDS.keys())
def test_create_returns_and_stores_the_entity(catalog: Catalog, kind: Kind) -> None:
    entity = kind.make(1)
    assert kind.create(catalog, entity) == entity
    assert kind.get(catalog, entity.id) == entity


@pytest.mark.parametrize("kind", KINDS.values(), ids=KINDS.keys())
def test_get_of_an_unknown_id_is_not_found(catalog: Catalog, kind: Kind) -> None:
    kind.create(catalog, kind.make(1))
    with pytest.raises(NotFound):
        kind.get(catalog, "nope_0001")


@pytest.mark.parametrize("kind", KINDS.values(), ids=KINDS.keys())
def test_create_refuses_an_existing_id_and_keeps_the_first(catalog: Catalog, kind: Kind) -> None:
    first = kind.make(1)
    kind.create(catalog, first)
    with pytest.raises(Conflict):
        kind.create(catalog, kind.make(1, created=at(500)))
    assert kind.get(catalog, first.id) == first


@pytest.mark.parametrize("kind", KINDS.values(), ids=KINDS.keys())
def test_delete_is_idempotent_and_deletes_only_that_record(catalog: Catalog, kind: Kind) -> None:
    keep, gone = kind.make(1), kind.make(2)
    kind.create(catalog, keep)
    kind.create(catalog, gone)
    kind.delete(catalog, gone.id)
    kind.delete(catalog, gone.id)
    kind.delete(catalog, "never_existed")
    with pytest.raises(NotFound):
        kind.get(catalog, gone.id)
    assert kind.get(catalog, keep.id) == keep
    assert kind.list_of(catalog)().items == [keep]


@pytest.mark.parametrize("name", UPDATABLE)
def test_update_bumps_the_version_and_stores_the_change(catalog: Catalog, name: str) -> None:
    kind = KINDS[name]
    entity = kind.create(catalog, kind.make(1))
    change = {"updated_at": at(100)} if name != "export" else {"status": "RUNNING"}
    first = getattr(catalog, f"update_{name}")(entity.model_copy(update=change))
    assert first.version == entity.version + 1
    assert first == entity.model_copy(update={**change, "version": 2})
    assert kind.get(catalog, entity.id) == first
    second = getattr(catalog, f"update_{name}")(first)
    assert second.version == 3 and kind.get(catalog, entity.id).version == 3


@pytest.mark.parametrize("name", UPDATABLE)
def test_a_stale_update_is_refused_and_changes_nothing(catalog: Catalog, name: str) -> None:
    kind = KINDS[name]
    entity = kind.create(catalog, kind.make(1))
    update = getattr(catalog, f"update_{name}")
    winner = update(entity.model_copy(update={"updated_at": at(50)} if name != "export" else {}))
    with pytest.raises(ConcurrentUpdate):
        update(entity)  # still at version 1
    with pytest.raises(ConcurrentUpdate):
        update(entity.model_copy(update={"version": 7}))
    assert kind.get(catalog, entity.id) == winner


@pytest.mark.parametrize("name", UPDATABLE)
def test_update_of_an_unknown_record_is_not_found(catalog: Catalog, name: str) -> None:
    with pytest.raises(NotFound):
        getattr(catalog, f"update_{name}")(KINDS[name].make(9))


# ---- listings -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS.values(), ids=KINDS.keys())
def test_listing_is_newest_first_and_pages_yield_every_record_once(
    catalog: Catalog, kind: Kind
) -> None:
    # 23 records, created in shuffled order, with timestamps shared by threes (ties -> id).
    order = list(range(23))
    random.Random(5).shuffle(order)
    records = [kind.make(i, created=at(10 + i // 3)) for i in order]
    for record in records:
        kind.create(catalog, record)
    if kind.parent:  # a record of another listing must never show up in this one
        kind.create(catalog, kind.make(99, **{kind.parent: "elsewhere"}))
    expected = newest_first(records)
    list_page = kind.list_of(catalog)
    for limit in (1, 5, 22, 23, MAX_PAGE_SIZE):
        assert collect(list_page, limit) == expected, f"limit={limit}"
    assert list_page().items == expected  # default limit 50


@pytest.mark.parametrize("kind", KINDS.values(), ids=KINDS.keys())
@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE_SIZE + 1])
def test_a_limit_outside_the_range_is_invalid(catalog: Catalog, kind: Kind, limit: int) -> None:
    with pytest.raises(InvalidInput):
        kind.list_of(catalog)(limit=limit)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


GARBAGE_CURSORS = [
    "",
    "x",
    "!!!!",
    "not-a-cursor",
    _b64("[]"),
    _b64("{}"),
    _b64('{"t": 1}'),
    _b64(json.dumps({"l": "0" * 16, "t": "2026-01-01T00:00:00.000000+00:00", "i": "a"})),
    "A" * 5000,
]


@pytest.mark.parametrize("cursor", GARBAGE_CURSORS)
def test_a_garbage_cursor_is_invalid(catalog: Catalog, cursor: str) -> None:
    catalog.create_project(make_project(1))
    with pytest.raises(InvalidInput):
        catalog.list_projects(cursor=cursor)
    with pytest.raises(InvalidInput):
        catalog.list_items(PROJECT, cursor=cursor)


def test_a_cursor_of_another_listing_is_invalid(catalog: Catalog) -> None:
    for i in range(3):
        catalog.create_project(make_project(i))
        catalog.create_crawler(make_crawler(i))
        catalog.create_crawler(make_crawler(10 + i, project_id=OTHER))
        catalog.create_item(make_item(i, kind="image"))
    projects = catalog.list_projects(limit=1).next
    crawlers = catalog.list_crawlers(PROJECT, limit=1).next
    items = catalog.list_items(PROJECT, filters=ItemFilter(kind="image"), limit=1).next
    assert projects and crawlers and items
    with pytest.raises(InvalidInput):
        catalog.list_crawlers(PROJECT, cursor=projects)
    with pytest.raises(InvalidInput):
        catalog.list_crawlers(OTHER, cursor=crawlers)  # same kind, another parent
    with pytest.raises(InvalidInput):
        catalog.list_exports(PROJECT, cursor=crawlers)
    with pytest.raises(InvalidInput):
        catalog.list_items(PROJECT, cursor=items)  # same items, other filters
    with pytest.raises(InvalidInput):
        catalog.list_items(PROJECT, filters=ItemFilter(kind="text"), cursor=items)
    # and the right listing accepts them
    assert catalog.list_crawlers(PROJECT, cursor=crawlers).items
    assert catalog.list_items(PROJECT, filters=ItemFilter(kind="image"), cursor=items).items


def test_a_cursor_stays_valid_when_its_record_is_deleted(catalog: Catalog) -> None:
    items = [make_item(i) for i in range(10)]
    for item in items:
        catalog.create_item(item)
    first = catalog.list_items(PROJECT, limit=4)
    assert first.next is not None
    catalog.delete_item(first.items[-1].id)
    rest = collect(partial(catalog.list_items, PROJECT), 4)
    assert [i.id for i in rest] == [i.id for i in newest_first(items) if i != first.items[-1]]
    after = catalog.list_items(PROJECT, limit=50, cursor=first.next).items
    assert after == newest_first(items)[4:]


# ---- items: filters -------------------------------------------------------------------------

CRAWLERS = ["crw_a", "crw_b", "crw_c"]
ATTRIBUTES = ["skirt.flare", "skirt.pencil"]
STATES = ["pending", "processing", "done", "failed", "skipped"]
VIEWS = ["front", "back", "side", "unknown"]
FRAMINGS = ["full_body", "upper_body", "lower_body", "detail", "none"]


def varied_items(count: int = 60) -> list[Item]:
    """Items covering every filter value, in two projects (crw_c crawls both), with some
    timestamps shared and ids not in creation order."""
    rng = random.Random(1234)
    ids = list(range(count))
    rng.shuffle(ids)
    items = []
    for n in range(count):
        person = None
        if rng.random() < 0.75:
            person = PersonTags.model_validate(
                {
                    "present": rng.random() < 0.7,
                    "confidence": 0.9,
                    "view": rng.choice(VIEWS),
                    "framing": rng.choice(FRAMINGS),
                }
            )
        items.append(
            make_item(
                ids[n],
                project_id=OTHER if n % 7 == 3 else PROJECT,
                crawler_id=rng.choice([*CRAWLERS, None]),
                created=at(n // 2),
                kind=rng.choice(["image", "image", "text"]),
                attribute=rng.choice([*ATTRIBUTES, None]),
                state=rng.choice(STATES),
                person=person,
                palette=[colour(c) for c in rng.sample(BASIC_COLOURS, rng.randint(0, 3))],
            )
        )
    return items


SINGLE_FILTERS = (
    [ItemFilter()]
    + [ItemFilter(crawler_id=c) for c in [*CRAWLERS, "crw_unknown"]]
    + [ItemFilter(attribute=a) for a in [*ATTRIBUTES, "dress.wrap"]]
    + [ItemFilter(kind=k) for k in ("image", "text")]
    + [ItemFilter.model_validate({"state": s}) for s in STATES]
    + [ItemFilter(model_present=p) for p in (True, False)]
    + [ItemFilter.model_validate({"pose_view": v}) for v in VIEWS]
    + [ItemFilter.model_validate({"framing": f}) for f in FRAMINGS]
    + [ItemFilter.model_validate({"colour": c}) for c in BASIC_COLOURS]
)
COMBINED_FILTERS = [
    ItemFilter.model_validate(data)
    for data in (
        {"crawler_id": "crw_a", "kind": "image"},
        {"crawler_id": "crw_c", "model_present": True, "colour": "Red"},
        {"crawler_id": "crw_b", "state": "done", "attribute": "skirt.flare"},
        {"kind": "image", "model_present": True, "pose_view": "front"},
        {"model_present": False, "framing": "none"},
        {"pose_view": "side", "framing": "upper_body"},
        {"colour": "Grey", "kind": "image", "state": "failed"},
        {"attribute": "skirt.pencil", "colour": "Black", "model_present": True},
        {
            "crawler_id": "crw_a",
            "attribute": "skirt.flare",
            "kind": "image",
            "state": "done",
            "model_present": True,
            "pose_view": "front",
            "framing": "full_body",
            "colour": "Red",
        },
    )
]


@pytest.fixture
def stocked(catalog: Catalog) -> tuple[Catalog, list[Item]]:
    items = varied_items()
    for item in items:
        catalog.create_item(item)
    return catalog, items


def _check_filters(catalog: Catalog, items: list[Item], filters: list[ItemFilter]) -> None:
    for wanted in filters:
        expected = newest_first([i for i in items if i.project_id == PROJECT and wanted.matches(i)])
        for limit in (3, 50):
            found = collect(partial(catalog.list_items, PROJECT, filters=wanted), limit)
            assert [i.id for i in found] == [i.id for i in expected], (wanted, limit)


def test_the_generated_items_cover_every_filter_value() -> None:
    """Guards the data of the two tests below: no filter may pass just by matching nothing."""
    everything = varied_items()
    items = [i for i in everything if i.project_id == PROJECT]
    unmatched = [ItemFilter(crawler_id="crw_unknown"), ItemFilter(attribute="dress.wrap")]
    for wanted in SINGLE_FILTERS + COMBINED_FILTERS[:-1]:
        if wanted not in unmatched:
            assert any(wanted.matches(i) for i in items), wanted
    # a crawler's items in another project must not leak into this project's listing
    assert {i.crawler_id for i in everything if i.project_id == OTHER} & set(CRAWLERS)


def test_each_item_filter_agrees_with_matches(stocked: tuple[Catalog, list[Item]]) -> None:
    _check_filters(*stocked, SINGLE_FILTERS)


def test_combined_item_filters_agree_with_matches(stocked: tuple[Catalog, list[Item]]) -> None:
    _check_filters(*stocked, COMBINED_FILTERS)


def test_updated_items_are_filtered_by_their_new_values(catalog: Catalog) -> None:
    item = catalog.create_item(make_item(1, palette=[colour("Red")], state="pending"))
    changed = item.model_copy(
        update={
            "palette": [colour("Blue"), colour("Green")],
            "state": "done",
            "person": PersonTags(present=True, confidence=1.0, view="back", framing="detail"),
            "attribute": "skirt.flare",
        }
    )
    catalog.update_item(changed)

    def ids(**filters: Any) -> list[str]:
        return [i.id for i in catalog.list_items(PROJECT, filters=ItemFilter(**filters)).items]

    assert ids(colour="Red") == [] and ids(state="pending") == []
    assert ids(colour="Blue") == ids(colour="Green") == ids(state="done") == [item.id]
    assert ids(model_present=True, pose_view="back", framing="detail") == [item.id]
    assert ids(attribute="skirt.flare") == [item.id]


@pytest.mark.parametrize(
    "change",
    [{"project_id": OTHER}, {"crawler_id": "crw_x"}, {"crawler_id": None}, {"kind": "text"}],
)
def test_update_item_cannot_move_or_retype_an_item(
    catalog: Catalog, change: dict[str, Any]
) -> None:
    item = catalog.create_item(make_item(1))
    with pytest.raises(InvalidInput):
        catalog.update_item(item.model_copy(update=change))
    assert catalog.get_item(item.id) == item
    assert catalog.get_counts("project", PROJECT) == {"images": 1, "items": 1}


# ---- counts ---------------------------------------------------------------------------------


def test_create_and_delete_item_maintain_the_counts(catalog: Catalog) -> None:
    catalog.create_item(make_item(1, kind="image"))
    catalog.create_item(make_item(2, kind="image"))
    catalog.create_item(make_item(3, kind="text"))
    catalog.create_item(make_item(4, kind="text", crawler_id=None))
    assert catalog.get_counts("project", PROJECT) == {"images": 2, "items": 4, "texts": 2}
    assert catalog.get_counts("crawler", CRAWLER) == {"images": 2, "items": 3, "texts": 1}
    with pytest.raises(Conflict):
        catalog.create_item(make_item(1, kind="text"))  # refused: counts untouched
    catalog.delete_item("itm_0001")
    catalog.delete_item("itm_0001")  # idempotent: subtracts once
    catalog.delete_item("itm_0004")
    assert catalog.get_counts("project", PROJECT) == {"images": 1, "items": 2, "texts": 1}
    assert catalog.get_counts("crawler", CRAWLER) == {"images": 1, "items": 2, "texts": 1}
    assert catalog.get_counts("project", OTHER) == {}


def test_increment_counts_adds_atomically_and_returns_the_counts(catalog: Catalog) -> None:
    assert catalog.get_counts("crawler", CRAWLER) == {}
    assert catalog.increment_counts("crawler", CRAWLER, {"pages": 3, "errors": 1}) == {
        "errors": 1,
        "pages": 3,
    }
    assert catalog.increment_counts("crawler", CRAWLER, {"pages": -5}) == {
        "errors": 1,
        "pages": -2,
    }
    assert catalog.increment_counts("crawler", CRAWLER, {}) == {"errors": 1, "pages": -2}
    assert catalog.get_counts("project", CRAWLER) == {}  # scopes are separate
    assert catalog.get_counts("crawler", CRAWLER) == {"errors": 1, "pages": -2}


@pytest.mark.parametrize(
    ("scope", "deltas"),
    [
        ("shop", {"items": 1}),
        ("project", {"items": "1"}),
        ("project", {"items": True}),
        ("project", {"": 1}),
        ("project", {"items": 1.5}),
    ],
)
def test_increment_counts_refuses_bad_input(
    catalog: Catalog, scope: Any, deltas: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInput):
        catalog.increment_counts(scope, PROJECT, deltas)
    assert catalog.get_counts("project", PROJECT) == {}


def test_concurrent_increments_sum_exactly(catalog: Catalog) -> None:
    def work() -> None:
        for _ in range(15):
            catalog.increment_counts("project", PROJECT, {"hits": 1, "bytes": 10})

    concurrently(*[work] * 8)
    assert catalog.get_counts("project", PROJECT) == {"bytes": 8 * 15 * 10, "hits": 8 * 15}


def test_concurrent_item_creates_and_deletes_keep_counts_exact(catalog: Catalog) -> None:
    def create(start: int) -> Callable[[], None]:
        def work() -> None:
            for i in range(start, start + 10):
                catalog.create_item(make_item(i))

        return work

    concurrently(*[create(k * 100) for k in range(6)])
    assert catalog.get_counts("crawler", CRAWLER) == {"images": 60, "items": 60}
    doomed = [k * 100 + i for k in range(6) for i in range(5)]
    # every item deleted by two threads at once: each delete subtracts exactly once
    concurrently(*[partial(catalog.delete_item, f"itm_{i:04d}") for i in doomed * 2])
    assert catalog.get_counts("project", PROJECT) == {"images": 30, "items": 30}
    assert len(collect(partial(catalog.list_items, PROJECT), 7)) == 30


# ---- runs -----------------------------------------------------------------------------------


def open_run(catalog: Catalog, i: int = 1, *, crawler_id: str = CRAWLER, **fields: Any) -> Run:
    return catalog.create_run(
        make_run(i, crawler_id=crawler_id, status=RunStatus.READY).model_copy(update=fields)
    )


def test_update_run_makes_a_legal_transition_with_its_fields(catalog: Catalog) -> None:
    run = open_run(catalog)
    running = catalog.update_run(
        run.id,
        status=RunStatus.RUNNING,
        set_fields={"started_at": at(60), "expected_items": 120, "execution_ref": "exec-1"},
    )
    assert running.status is RunStatus.RUNNING and running.version == 2
    assert (running.started_at, running.expected_items, running.execution_ref) == (
        at(60),
        120,
        "exec-1",
    )
    assert catalog.get_run(run.id) == running
    done = catalog.update_run(
        run.id,
        status=RunStatus.SUCCEEDED,
        expected_version=2,
        set_fields={"finished_at": at(90), "status_message": "all pages crawled"},
        add={"pages_ok": 3, "items": 2},
    )
    assert done == running.model_copy(
        update={
            "status": RunStatus.SUCCEEDED,
            "version": 3,
            "finished_at": at(90),
            "status_message": "all pages crawled",
            "counters": running.counters.model_copy(update={"pages_ok": 3, "items": 2}),
        }
    )
    assert catalog.get_run(run.id) == done


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (RunStatus.SUCCEEDED, RunStatus.RUNNING),
        (RunStatus.FAILED, RunStatus.SUCCEEDED),
        (RunStatus.READY, RunStatus.SUCCEEDED),
        (RunStatus.RUNNING, RunStatus.RUNNING),
        (RunStatus.ABORTED, RunStatus.INTERRUPTED),
    ],
)
def test_an_illegal_transition_is_refused_and_changes_nothing(
    catalog: Catalog, start: RunStatus, target: RunStatus
) -> None:
    run = catalog.create_run(make_run(1, status=start))
    with pytest.raises(IllegalTransition):
        catalog.update_run(
            run.id, status=target, set_fields={"status_message": "x"}, add={"pages_ok": 1}
        )
    assert catalog.get_run(run.id) == run


@pytest.mark.parametrize(
    "set_fields",
    [
        {"status": "RUNNING"},
        {"counters": {"items": 3}},
        {"version": 9},
        {"id": "run_x"},
        {"bogus": 1},
        {"expected_items": -1},
        {"started_at": "yesterday"},
        {"started_at": datetime(2026, 1, 1)},
        {"stop_requested": "maybe"},
        {"error": {"code": "x"}},
    ],
)
def test_set_fields_are_validated_before_anything_is_written(
    catalog: Catalog, set_fields: dict[str, Any]
) -> None:
    run = open_run(catalog)
    with pytest.raises(InvalidInput):
        catalog.update_run(run.id, status=RunStatus.RUNNING, set_fields=set_fields)
    assert catalog.get_run(run.id) == run


def test_set_fields_accept_every_settable_field(catalog: Catalog) -> None:
    run = open_run(catalog)
    fields = {
        "expected_items": 10,
        "stop_requested": True,
        "started_at": at(1),
        "finished_at": at(2),
        "heartbeat_at": at(3),
        "status_message": "ok",
        "error": RunError(code="timeout", message="too slow"),
        "execution_ref": "arn:x",
    }
    updated = catalog.update_run(run.id, set_fields=fields)
    assert updated == run.model_copy(update={**fields, "version": 2})
    assert catalog.get_run(run.id) == updated
    cleared = catalog.update_run(run.id, set_fields={"error": None, "started_at": None})
    assert (cleared.error, cleared.started_at, cleared.version) == (None, None, 3)
    assert catalog.get_run(run.id) == cleared


def test_counter_adds_are_atomic_and_do_not_bump_the_version(catalog: Catalog) -> None:
    run = open_run(catalog)
    after = catalog.update_run(run.id, add={"pages_ok": 2, "bytes": 1000})
    after = catalog.update_run(run.id, add={"pages_ok": 1, "pages_failed": 1, "images": 0})
    assert after.version == 1
    untouched = {name: 0 for name in RUN_COUNTER_FIELDS}  # every counter the model has
    assert after.counters.model_dump() == untouched | {
        "pages_ok": 3,
        "pages_failed": 1,
        "bytes": 1000,
    }
    assert catalog.get_run(run.id) == after


@pytest.mark.parametrize(
    "add",
    [{"pages": 1}, {"status": 1}, {"items": -1}, {"items": 1.5}, {"items": "2"}, {"items": True}],
)
def test_bad_counter_adds_are_refused(catalog: Catalog, add: dict[str, Any]) -> None:
    run = open_run(catalog)
    with pytest.raises(InvalidInput):
        catalog.update_run(run.id, add=add)
    assert catalog.get_run(run.id) == run


def test_expected_version_guards_the_write(catalog: Catalog) -> None:
    run = open_run(catalog)
    with pytest.raises(ConcurrentUpdate):
        catalog.update_run(run.id, status=RunStatus.RUNNING, expected_version=2)
    with pytest.raises(ConcurrentUpdate):
        catalog.update_run(run.id, add={"items": 1}, expected_version=5)
    with pytest.raises(ConcurrentUpdate):
        catalog.update_run(run.id, expected_version=3)
    assert catalog.get_run(run.id) == run
    assert catalog.update_run(run.id, add={"items": 1}, expected_version=1).version == 1
    running = catalog.update_run(run.id, status=RunStatus.RUNNING, expected_version=1)
    assert (running.status, running.version, running.counters.items) == (RunStatus.RUNNING, 2, 1)


def test_update_run_without_changes_returns_the_stored_run(catalog: Catalog) -> None:
    run = open_run(catalog)
    assert catalog.update_run(run.id) == run
    assert catalog.update_run(run.id, set_fields={}, add={}, expected_version=1) == run
    assert catalog.get_run(run.id) == run


def test_update_of_an_unknown_run_is_not_found(catalog: Catalog) -> None:
    for kwargs in (
        {},
        {"status": RunStatus.RUNNING},
        {"add": {"items": 1}},
        {"set_fields": {"status_message": "x"}},
        {"status": RunStatus.FAILED},
    ):
        with pytest.raises(NotFound):
            catalog.update_run("run_missing", **kwargs)


def test_racing_terminal_transitions_have_exactly_one_winner(catalog: Catalog) -> None:
    for round_ in range(6):
        run = open_run(catalog, round_, status=RunStatus.RUNNING)
        targets = [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.TIMED_OUT]
        results = concurrently(*[partial(catalog.update_run, run.id, status=t) for t in targets])
        winners = [r for r in results if isinstance(r, Run)]
        assert len(winners) == 1, results
        assert all(isinstance(r, IllegalTransition) for r in results if r not in winners)
        stored = catalog.get_run(run.id)
        assert stored.status == winners[0].status and stored.version == 2


def test_concurrent_counter_adds_sum_exactly(catalog: Catalog) -> None:
    run = open_run(catalog, status=RunStatus.RUNNING)

    def work() -> None:
        for _ in range(12):
            catalog.update_run(run.id, add={"pages_ok": 1, "bytes": 100})

    def progress() -> None:  # version-bumping writes interleaved with the increments
        for n in range(6):
            catalog.update_run(run.id, set_fields={"heartbeat_at": at(n)})

    concurrently(*[work] * 6, progress)
    stored = catalog.get_run(run.id)
    assert (stored.counters.pages_ok, stored.counters.bytes) == (72, 7200)
    assert stored.version == 1 + 6 and stored.heartbeat_at == at(5)


def test_concurrent_starts_on_one_crawler_have_exactly_one_winner(catalog: Catalog) -> None:
    for round_ in range(4):
        crawler = f"crw_race{round_}"
        results = concurrently(
            *[partial(open_run, catalog, round_ * 10 + k, crawler_id=crawler) for k in range(4)]
        )
        winners = [r for r in results if isinstance(r, Run)]
        assert len(winners) == 1, results
        assert all(isinstance(r, Conflict) for r in results if r not in winners)
        assert [r.id for r in catalog.list_runs(crawler).items] == [winners[0].id]


def test_the_open_run_slot_is_freed_only_by_a_closed_status(catalog: Catalog) -> None:
    first = open_run(catalog, 1)
    with pytest.raises(Conflict):
        open_run(catalog, 2)
    for status in (RunStatus.RUNNING, RunStatus.INTERRUPTED, RunStatus.RUNNING, RunStatus.ABORTING):
        catalog.update_run(first.id, status=status)
        with pytest.raises(Conflict):
            open_run(catalog, 2)
    catalog.update_run(first.id, status=RunStatus.ABORTED)
    second = open_run(catalog, 2)
    assert open_run(catalog, 3, crawler_id="crw_other").crawler_id == "crw_other"
    catalog.create_run(make_run(4, status=RunStatus.FAILED))  # a closed run needs no slot
    catalog.update_run(second.id, status=RunStatus.FAILED)
    third = open_run(catalog, 5)
    assert [r.id for r in catalog.list_runs(CRAWLER).items] == [
        "run_0005",
        "run_0004",
        "run_0002",
        "run_0001",
    ]
    assert catalog.get_run(third.id).status is RunStatus.READY


def test_a_duplicate_open_run_id_is_a_conflict_and_keeps_the_slot(catalog: Catalog) -> None:
    run = open_run(catalog, 1)
    with pytest.raises(Conflict):
        open_run(catalog, 1, crawler_id="crw_other")
    catalog.update_run(run.id, status=RunStatus.FAILED)
    assert open_run(catalog, 2).status is RunStatus.READY
    assert open_run(catalog, 3, crawler_id="crw_other").status is RunStatus.READY


def test_deleting_an_open_run_frees_its_crawler(catalog: Catalog) -> None:
    run = open_run(catalog, 1)
    catalog.delete_run(run.id)
    catalog.delete_run(run.id)
    assert open_run(catalog, 2).id == "run_0002"
    assert [r.id for r in catalog.list_open_runs()] == ["run_0002"]


def test_list_open_runs_is_every_open_run_across_crawlers(catalog: Catalog) -> None:
    assert catalog.list_open_runs() == []
    runs = [open_run(catalog, i, crawler_id=f"crw_{i}") for i in range(6)]
    catalog.create_run(make_run(10, crawler_id="crw_0", status=RunStatus.SUCCEEDED))
    catalog.update_run(runs[1].id, status=RunStatus.RUNNING)
    catalog.update_run(runs[2].id, status=RunStatus.FAILED)
    catalog.update_run(runs[3].id, status=RunStatus.RUNNING)
    catalog.update_run(runs[3].id, status=RunStatus.INTERRUPTED)
    catalog.update_run(runs[4].id, status=RunStatus.ABORTED)
    catalog.update_run(runs[5].id, add={"items": 4})
    open_now = catalog.list_open_runs()
    assert [r.id for r in open_now] == ["run_0005", "run_0003", "run_0001", "run_0000"]
    assert open_now == [catalog.get_run(r.id) for r in open_now]
    assert open_now[0].counters.items == 4
