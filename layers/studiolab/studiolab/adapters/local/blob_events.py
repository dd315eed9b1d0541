"""BlobEvents for the local mode: every write becomes a queued S3-shaped notification."""

from __future__ import annotations

from studiolab.domain.ports import BlobInfo, Clock, Jobs
from studiolab.domain.s3events import object_created_event

DEFAULT_TOPIC = "blob.created"


class QueuedBlobEvents:
    """Queues one `ObjectCreated:Put` event (studiolab.domain.s3events) per write on `topic`,
    so the subscribed handler receives what it would receive from an S3 notification on AWS.
    The eTag is unquoted, as in S3's notifications (BlobInfo.etag keeps the quotes, as
    S3's HeadObject does)."""

    def __init__(
        self, jobs: Jobs, *, bucket: str, clock: Clock, topic: str = DEFAULT_TOPIC
    ) -> None:
        self._jobs = jobs
        self._bucket = bucket
        self._clock = clock
        self._topic = topic

    def object_created(self, info: BlobInfo) -> None:
        event = object_created_event(
            bucket=self._bucket,
            key=info.key,
            size=info.size,
            etag=info.etag.strip('"'),
            at=self._clock.now(),
        )
        self._jobs.submit(self._topic, event)
