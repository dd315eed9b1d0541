"""Flow 2 in local mode, end to end: a signed PUT to raw/ -> object-created job -> the vision
Lambda handler -> cutout/ -> the palette handler -> the item is done with its palette."""

from __future__ import annotations

import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from studiolab.domain.blobkeys import item_key
from studiolab.domain.models import Item, Project
from studiolab.runtime.local_stack import LocalStack
from studiolab.runtime.settings import load_settings
from tests.support.images import cutout_png

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def test_upload_flows_through_both_handlers(tmp_path: Path) -> None:
    settings = load_settings(
        mode="local", data_dir=tmp_path / "data", port=0, workers=2, segment_model="none"
    )
    stack = LocalStack(settings)
    stack.start()
    stack.serve_in_background()
    try:
        catalog, blobs = stack.context.catalog, stack.context.blobs
        catalog.create_project(
            Project(
                id="pr_1",
                name="p",
                shop="s",
                attribute="dress.maxi",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        catalog.create_item(Item(id="it_1", project_id="pr_1", created_at=NOW, updated_at=NOW))
        url = blobs.signed_put_url(item_key("raw", "pr_1", "it_1", "photo.png"), expires_in=60)
        request = urllib.request.Request(url, data=cutout_png([(20, 120, 40)]), method="PUT")
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 200

        deadline = time.monotonic() + 120  # segmentation on a loaded machine
        item = catalog.get_item("it_1")
        while item.state not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.1)
            item = catalog.get_item("it_1")
        assert item.state == "done", item.error
        assert item.palette[0].basic == "Green"
        assert item.blobs.thumbnail and blobs.exists(item.blobs.thumbnail)
        assert stack.context.job_queue is not None
        assert stack.context.job_queue.stats().get("dead", 0) == 0
    finally:
        stack.stop()
