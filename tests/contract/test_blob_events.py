"""The local object-created event has the shape of the one S3 sends.

Under mock_aws the bucket notifies an SQS queue (moto implements S3 -> SQS notifications);
we write an object through S3BlobStore, read S3's event from the queue, and compare it with
what QueuedBlobEvents queues locally for the same BlobInfo."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import boto3

from studiolab.adapters.aws.s3_blob_events import S3NotificationEvents
from studiolab.adapters.aws.s3_blobstore import S3BlobStore
from studiolab.adapters.local.blob_events import QueuedBlobEvents
from studiolab.domain.s3events import parse_object_created
from tests.contract.blob_fixtures import (  # noqa: F401
    BUCKET,
    REGION,
    FakeClock,
    RecordingJobs,
    aws_env_fixture,
)

KEY = "raw/p 1/a b.jpg"
BODY = b"\xff\xd8\xff" + b"jpeg" * 100

# Fields real S3 adds that the local event leaves out (handlers must not need them):
# per AWS's "Event message structure" page, and moto's configurationId.
S3_ONLY_PATHS = {
    "Records.0.userIdentity.principalId",
    "Records.0.requestParameters.sourceIPAddress",
    "Records.0.responseElements.x-amz-request-id",
    "Records.0.responseElements.x-amz-id-2",
    "Records.0.s3.configurationId",
    "Records.0.s3.bucket.ownerIdentity.principalId",
    "Records.0.s3.object.versionId",  # versioned buckets only
    "Records.0.s3.object.sequencer",
}
# Present in both, values legitimately differ: the region ("local" locally) and the time.
DIFFERING_VALUES = {"Records.0.awsRegion", "Records.0.eventTime"}
EVENT_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def leaves(value: Any, path: str = "") -> dict[str, Any]:
    """Flatten nested dicts/lists to {"a.0.b": leaf}."""
    items: Iterable[tuple[Any, Any]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((str(index), item) for index, item in enumerate(value))
    else:
        return {path: value}
    flat: dict[str, Any] = {}
    for name, item in items:
        flat.update(leaves(item, f"{path}.{name}" if path else str(name)))
    return flat


def s3_event_for_put(store: S3BlobStore) -> tuple[Any, dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="blob-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    boto3.client("s3", region_name=REGION).put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    info = store.put(KEY, BODY, content_type="image/jpeg")
    events = []
    for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]:
        body = json.loads(message["Body"])
        if body.get("Event") != "s3:TestEvent":  # sent when the notification is configured
            events.append(body)
    assert len(events) == 1
    return info, events[0]


def test_local_event_has_the_shape_of_s3s(aws_env: None) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    info, s3_event = s3_event_for_put(S3BlobStore(BUCKET))
    jobs = RecordingJobs()
    QueuedBlobEvents(jobs, bucket=BUCKET, clock=FakeClock()).object_created(info)
    [(topic, local_event)] = jobs.submitted
    assert topic == "blob.created"

    s3_leaves, local_leaves = leaves(s3_event), leaves(local_event)
    assert set(local_leaves) <= set(s3_leaves), "local event has fields S3's lacks"
    assert set(s3_leaves) - set(local_leaves) <= S3_ONLY_PATHS
    for path, value in local_leaves.items():
        assert type(value) is type(s3_leaves[path]), path
        if path not in DIFFERING_VALUES:
            assert value == s3_leaves[path], path
    assert local_leaves["Records.0.awsRegion"] == "local"
    assert s3_leaves["Records.0.awsRegion"] == REGION
    assert EVENT_TIME.fullmatch(local_leaves["Records.0.eventTime"])
    assert EVENT_TIME.fullmatch(s3_leaves["Records.0.eventTime"])
    # eTag unquoted in notifications, although HeadObject / BlobInfo quote it
    assert local_leaves["Records.0.s3.object.eTag"] == info.etag.strip('"')

    [from_s3] = parse_object_created(s3_event)
    [from_local] = parse_object_created(local_event)
    assert from_s3 == from_local
    assert (from_local.key, from_local.bucket, from_local.size) == (KEY, BUCKET, len(BODY))


def test_s3_notification_events_adapter_emits_nothing(aws_env: None) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    store = S3BlobStore(BUCKET)
    info = store.put("raw/x.jpg", b"x")
    S3NotificationEvents().object_created(info)  # a no-op: S3 sends its own notification
