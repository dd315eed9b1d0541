"""S3 object-created notifications: built locally in exactly the shape S3 sends, parsed the
same way in both modes (keys URL-encoded with '+' for spaces, as S3 and moto do)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from studiolab.domain.errors import InvalidInput


@dataclass(frozen=True)
class ObjectCreated:
    bucket: str
    key: str
    size: int
    etag: str


def object_created_event(
    *, bucket: str, key: str, size: int, etag: str, at: datetime, region: str = "local"
) -> dict[str, Any]:
    """One-record S3 `ObjectCreated:Put` notification event."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key, safe=""), "size": size, "eTag": etag},
                },
            }
        ]
    }


def parse_object_created(event: Mapping[str, Any]) -> list[ObjectCreated]:
    """The created objects of an S3 notification event; InvalidInput if it is not one."""
    records = event.get("Records")
    if not isinstance(records, list):
        raise InvalidInput("not an S3 notification event: no Records list")
    created: list[ObjectCreated] = []
    for index, record in enumerate(records):
        try:
            if not str(record["eventName"]).startswith("ObjectCreated:"):
                continue
            s3 = record["s3"]
            created.append(
                ObjectCreated(
                    bucket=str(s3["bucket"]["name"]),
                    key=unquote_plus(str(s3["object"]["key"])),
                    size=int(s3["object"].get("size", 0)),
                    etag=str(s3["object"].get("eTag", "")),
                )
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidInput(
                f"malformed S3 record {index}: {error!r}", fields={f"Records.{index}": "malformed"}
            ) from error
    return created
