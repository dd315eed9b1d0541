"""The AWS Jobs adapter: one asynchronous Lambda invocation per job.

Lambda's async invocation queue gives the at-least-once delivery and the retries (twice by
default, then the function's on-failure destination / DLQ, configured in CDK)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from studiolab.domain.errors import BackendError, InvalidInput, PayloadTooLarge

logger = logging.getLogger(__name__)

# Lambda's limit for an asynchronous invocation's payload.
MAX_EVENT_PAYLOAD_BYTES = 1024 * 1024


class LambdaJobs:
    def __init__(self, functions: Mapping[str, str], *, client: Any = None) -> None:
        """`functions`: topic -> function name or ARN (from settings, set by CDK)."""
        for topic, function in functions.items():
            if not topic or not function:
                raise ValueError(f"empty topic or function name in {dict(functions)!r}")
        self._functions = dict(functions)
        self._client = client if client is not None else boto3.client("lambda")

    def submit(self, topic: str, payload: Mapping[str, Any]) -> str:
        """Invoke the topic's function asynchronously; returns the invocation's request id."""
        function = self._functions.get(topic)
        if function is None:
            raise InvalidInput(f"unknown topic {topic!r}", fields={"topic": "unknown"})
        if not isinstance(payload, Mapping):
            raise InvalidInput("payload must be a mapping", fields={"payload": "not a mapping"})
        try:
            body = json.dumps(dict(payload), allow_nan=False, separators=(",", ":")).encode()
        except (TypeError, ValueError) as error:
            raise InvalidInput(
                f"payload is not JSON-serialisable: {error}", fields={"payload": "not JSON"}
            ) from error
        if len(body) > MAX_EVENT_PAYLOAD_BYTES:
            raise PayloadTooLarge(
                f"job payload is {len(body)} bytes; Lambda accepts {MAX_EVENT_PAYLOAD_BYTES}"
            )
        try:
            response = self._client.invoke(
                FunctionName=function, InvocationType="Event", Payload=body
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "RequestEntityTooLargeException":
                raise PayloadTooLarge(f"job payload refused by Lambda: {error}") from error
            raise BackendError(f"invoking {function} for topic {topic!r}: {error}") from error
        except BotoCoreError as error:
            raise BackendError(f"invoking {function} for topic {topic!r}: {error}") from error
        request_id = str(response.get("ResponseMetadata", {}).get("RequestId", ""))
        logger.debug(
            "job %s queued on %s (status %s)", request_id, function, response.get("StatusCode")
        )
        return request_id
