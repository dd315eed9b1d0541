"""BlobEvents on AWS: nothing to do."""

from __future__ import annotations

from studiolab.domain.ports import BlobInfo


class S3NotificationEvents:
    """On AWS, S3 itself sends the object-created notification (bucket notifications wired in
    CDK, filtered by prefix, delivered to the subscribed Lambda) for every write: `put`,
    `put_stream` and uploads through presigned PUT URLs alike. Emitting one here as well would
    deliver every event twice, so `object_created` deliberately does nothing."""

    def object_created(self, info: BlobInfo) -> None:
        return None
