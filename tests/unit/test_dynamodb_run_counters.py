"""Runs stored before a counter existed still load: the missing counter reads as 0."""

from __future__ import annotations

from datetime import UTC, datetime

from studiolab.adapters.aws.dynamodb_codec import run_attributes, run_overrides
from studiolab.domain.models import Run
from studiolab.domain.models.run import RUN_COUNTER_FIELDS


def test_a_run_record_without_the_newer_counters_reads_them_as_zero() -> None:
    run = Run(id="run_1", crawler_id="cr_1", project_id="pr_1", created_at=datetime.now(UTC))
    record = run_attributes(
        run.model_copy(update={"counters": run.counters.model_copy(update={"items": 7})})
    )
    newer = [
        name
        for name in RUN_COUNTER_FIELDS
        if name not in ("pages_ok", "pages_failed", "items", "images", "bytes")
    ]
    assert newer, "the test needs counters added after the first release"
    old_record = {"st": {"S": "RUNNING"}, "v": {"N": "3"}} | {
        key: value for key, value in record.items() if key not in {f"c_{n}" for n in newer}
    }

    counters = run_overrides(old_record)["counters"]

    assert counters["items"] == 7
    assert all(counters[name] == 0 for name in newer)
