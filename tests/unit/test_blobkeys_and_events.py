from __future__ import annotations

from datetime import UTC, datetime

import pytest

from studiolab.domain.blobkeys import check_key
from studiolab.domain.errors import InvalidInput
from studiolab.domain.s3events import object_created_event, parse_object_created


@pytest.mark.parametrize("key", ["raw/p/i.jpg", "a", "exports/x y+z/é.zip"])
def test_good_keys(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    "key",
    ["", "/abs", "a/", "../x", "a/../b", "a//b", "a/./b", "a\\b", "a\x00b", "a\nb", "k" * 1025],
)
def test_bad_keys(key: str) -> None:
    with pytest.raises(InvalidInput):
        check_key(key)


def test_event_roundtrip_encodes_like_s3() -> None:
    at = datetime(2026, 11, 28, 1, 2, 3, 456789, tzinfo=UTC)
    event = object_created_event(bucket="b", key="raw/p 1/a+b.jpg", size=7, etag='"e"', at=at)
    record = event["Records"][0]
    assert record["s3"]["object"]["key"] == "raw%2Fp+1%2Fa%2Bb.jpg"
    assert record["eventTime"] == "2026-11-28T01:02:03.456Z"
    [created] = parse_object_created(event)
    assert (created.bucket, created.key, created.size) == ("b", "raw/p 1/a+b.jpg", 7)


def test_non_created_records_are_skipped_and_garbage_refused() -> None:
    event = object_created_event(bucket="b", key="k", size=1, etag="e", at=datetime.now(UTC))
    event["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    assert parse_object_created(event) == []
    with pytest.raises(InvalidInput, match="no Records"):
        parse_object_created({"detail": {}})
    with pytest.raises(InvalidInput, match="malformed S3 record 0"):
        parse_object_created({"Records": [{"eventName": "ObjectCreated:Put"}]})


def test_item_key_layout_roundtrip() -> None:
    from studiolab.domain.blobkeys import item_key, parse_item_key

    key = item_key("raw", "pr_1", "it_2", "image.jpg")
    assert key == "raw/pr_1/it_2/image.jpg"
    assert parse_item_key(key) == ("raw", "pr_1", "it_2", "image.jpg")
    for bad in ("raw/pr_1/image.jpg", "other/pr/it/x", "raw/pr/it/x/y"):
        with pytest.raises(InvalidInput):
            parse_item_key(bad)
    with pytest.raises(InvalidInput):
        item_key("raw", "pr_1", "..", "x")
