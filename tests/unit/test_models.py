from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from studiolab.domain.errors import IllegalTransition, InvalidInput
from studiolab.domain.models import (
    Crawler,
    Item,
    ItemFilter,
    PaletteColor,
    PersonTags,
    Project,
    Run,
    RunStatus,
    check_transition,
    parse,
    sources_of,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def crawler_data(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": "cr_1",
        "project_id": "pr_1",
        "name": "skirts",
        "created_at": NOW,
        "updated_at": NOW,
        "start_urls": ["https://shop.example/collections/skirts"],
    }
    data.update(changes)
    return data


def test_project_valid_and_normalised() -> None:
    project = parse(
        Project,
        {
            "id": "pr_1",
            "name": "  Flare skirts ",
            "shop": "Shop X",
            "attribute": "skirt.flare",
            "created_at": NOW,
            "updated_at": NOW,
        },
    )
    assert project.name == "Flare skirts"
    assert project.data_type == "image"


def test_invalid_project_names_every_bad_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(
            Project,
            {
                "id": "pr_1",
                "name": "",
                "shop": "x",
                "attribute": "Skirt Flare",
                "data_type": "video",
                "created_at": NOW,
                "updated_at": NOW,
                "colour": "red",
            },
        )
    assert set(caught.value.fields) == {"name", "attribute", "data_type", "colour"}
    assert "data_type" in caught.value.message
    assert caught.value.http_status == 400


def test_naive_timestamps_refused_and_aware_ones_normalised_to_utc() -> None:
    with pytest.raises(InvalidInput, match="timezone"):
        parse(
            Run,
            {"id": "r", "crawler_id": "c", "project_id": "p", "created_at": datetime(2026, 1, 1)},
        )
    plus_two = datetime(2026, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    run = parse(Run, {"id": "r", "crawler_id": "c", "project_id": "p", "created_at": plus_two})
    assert run.created_at == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert run.created_at.tzinfo == UTC


def test_crawler_defaults_allowed_domains_from_start_urls() -> None:
    crawler = parse(
        Crawler, crawler_data(start_urls=["https://Shop.Example/a", "http://cdn.example/b"])
    )
    assert crawler.allowed_domains == ["cdn.example", "shop.example"]
    assert crawler.politeness.delay_s == 1.0 and crawler.politeness.obey_robots


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"start_urls": []}, "start_urls"),
        ({"start_urls": ["ftp://shop.example/"]}, "start_urls"),
        ({"start_urls": ["/relative"]}, "start_urls"),
        ({"strategy": "magic"}, "strategy"),
        ({"selectors": {"price": ".p", "colour_swatch": ".c"}}, "selectors"),
        ({"selectors": {"price": "  "}}, "selectors"),
        ({"limits": {"max_items": 0}}, "limits.max_items"),
        ({"politeness": {"concurrency": 0}}, "politeness.concurrency"),
        ({"politeness": {"delay_s": -1}}, "politeness.delay_s"),
        ({"allowed_domains": ["shop.example/path"]}, "allowed_domains"),
    ],
)
def test_crawler_rejects_bad_input_naming_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(Crawler, crawler_data(**changes))
    assert field in caught.value.fields


def test_selectors_strategy_needs_selectors() -> None:
    with pytest.raises(InvalidInput, match="selector"):
        parse(Crawler, crawler_data(strategy="selectors"))
    crawler = parse(Crawler, crawler_data(strategy="selectors", selectors={"price": ".price"}))
    assert crawler.selectors == {"price": ".price"}


@pytest.mark.parametrize(
    ("source", "target", "legal"),
    [
        (RunStatus.READY, RunStatus.RUNNING, True),
        (RunStatus.RUNNING, RunStatus.SUCCEEDED, True),
        (RunStatus.RUNNING, RunStatus.ABORTING, True),
        (RunStatus.ABORTING, RunStatus.ABORTED, True),
        (RunStatus.RUNNING, RunStatus.INTERRUPTED, True),
        (RunStatus.INTERRUPTED, RunStatus.RUNNING, True),
        (RunStatus.SUCCEEDED, RunStatus.RUNNING, False),
        (RunStatus.FAILED, RunStatus.RUNNING, False),
        (RunStatus.ABORTED, RunStatus.SUCCEEDED, False),
        (RunStatus.READY, RunStatus.SUCCEEDED, False),
        (RunStatus.ABORTING, RunStatus.RUNNING, False),
        (RunStatus.RUNNING, RunStatus.RUNNING, False),
    ],
)
def test_run_transitions(source: RunStatus, target: RunStatus, legal: bool) -> None:
    assert source.can_become(target) is legal
    assert (source in sources_of(target)) is legal
    if legal:
        check_transition(source, target)
    else:
        with pytest.raises(IllegalTransition, match=f"{source}.*{target}"):
            check_transition(source, target)


def test_terminal_statuses_have_no_way_out() -> None:
    for status in RunStatus:
        assert status.terminal == (not any(status.can_become(other) for other in RunStatus))


def make_item(**changes: object) -> Item:
    data: dict[str, object] = {
        "id": "it_1",
        "project_id": "pr_1",
        "created_at": NOW,
        "updated_at": NOW,
    }
    data.update(changes)
    return parse(Item, data)


def red(fraction: float = 1.0) -> PaletteColor:
    return PaletteColor(
        hex="#C81E1E",
        rgb=(200, 30, 30),
        lab=(43.0, 65.0, 45.0),
        fraction=fraction,
        name="Vivid red",
        basic="Red",
        delta_e=2.0,
    )


def test_palette_hex_is_lowercased_and_validated() -> None:
    assert red().hex == "#c81e1e"
    with pytest.raises(InvalidInput):
        parse(PaletteColor, {**red().model_dump(), "hex": "red"})
    with pytest.raises(InvalidInput):
        parse(PaletteColor, {**red().model_dump(), "basic": "Teal"})


def test_item_price_must_be_a_decimal_string() -> None:
    assert make_item(product={"price": "19.99", "currency": "EUR"}).product.price == "19.99"
    with pytest.raises(InvalidInput) as caught:
        make_item(product={"price": "19,99 €", "currency": "euro"})
    assert set(caught.value.fields) == {"product.price", "product.currency"}


def test_item_filter_semantics() -> None:
    person = PersonTags(present=True, confidence=0.9, view="front", framing="full_body")
    item = make_item(
        crawler_id="cr_1", attribute="skirt.flare", palette=[red()], person=person, state="done"
    )
    assert ItemFilter().matches(item)
    assert ItemFilter(
        crawler_id="cr_1",
        colour="Red",
        model_present=True,
        pose_view="front",
        framing="full_body",
        state="done",
        kind="image",
        attribute="skirt.flare",
    ).matches(item)
    assert not ItemFilter(colour="Blue").matches(item)
    assert not ItemFilter(model_present=False).matches(item)
    bare = make_item()
    assert ItemFilter(model_present=False).matches(bare)
    assert not ItemFilter(pose_view="front").matches(bare)
    assert not ItemFilter(crawler_id="cr_2").matches(item)


def test_models_are_frozen_a_change_is_a_copy() -> None:
    # The SQLite catalog's read cache hands one model object to concurrent readers: an
    # assignment by one of them would change what the others read.
    crawler = Crawler.model_validate(crawler_data())
    with pytest.raises(ValidationError, match="frozen"):
        crawler.name = "other"  # type: ignore[misc]
    renamed = crawler.model_copy(update={"name": "other"})
    assert (crawler.name, renamed.name) == ("skirts", "other")
