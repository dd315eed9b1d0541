"""The catalog table's I/O: boto3 low-level calls with their errors sorted out.

A failed condition surfaces as ConditionFailed (single-record writes) or Cancelled (a
transaction, with one reason per action) for the catalog to interpret; every other client
or transport error becomes BackendError."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from studiolab.adapters.aws.dynamodb_codec import Record
from studiolab.adapters.aws.table_schema import GSI1, GSI1PK, GSI1SK, GSI2PK, GSI2SK
from studiolab.domain.errors import BackendError, ConcurrentUpdate, StudiolabError

MAX_ATTEMPTS = 8
CHECK_FAILED = "ConditionalCheckFailed"
_TRANSIENT = {"None", "TransactionConflict"}


class ConditionFailed(Exception):
    """A single-record write's condition did not hold."""


class Cancelled(Exception):
    """A transaction was cancelled; one reason code per action, "None" where it held."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons

    def failed(self, index: int) -> bool:
        return len(self.reasons) > index and self.reasons[index] == CHECK_FAILED

    def error(self, operation: str) -> StudiolabError:
        """What to raise when no condition of ours explains the cancellation."""
        if "TransactionConflict" in self.reasons:
            return ConcurrentUpdate(f"{operation} kept colliding with other writes; retry")
        return BackendError(f"DynamoDB {operation} cancelled: {self.reasons}")


def backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.005 * 2**attempt))


class DynamoTable:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.name = table_name
        self._client = client if client is not None else boto3.client("dynamodb")

    def call(self, operation: str, **request: Any) -> dict[str, Any]:
        """One client call on this table (TableName added unless it is a transaction)."""
        if operation != "transact_write_items":
            request["TableName"] = self.name
        try:
            response: dict[str, Any] = getattr(self._client, operation)(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                raise ConditionFailed from error
            if code == "TransactionCanceledException":
                reasons = error.response.get("CancellationReasons") or []
                raise Cancelled([str(r.get("Code", "None")) for r in reasons]) from error
            raise BackendError(f"DynamoDB {operation} failed: {error}") from error
        except BotoCoreError as error:
            raise BackendError(f"DynamoDB {operation} failed: {error}") from error
        return response

    def get(self, key: Record) -> Record | None:
        record: Record | None = self.call("get_item", Key=key, ConsistentRead=True).get("Item")
        return record

    def transact(self, actions: list[dict[str, Any]]) -> None:
        """TransactWriteItems, retried while the only obstacle is a concurrent transaction."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                self.call("transact_write_items", TransactItems=actions)
                return
            except Cancelled as cancelled:
                if set(cancelled.reasons) - _TRANSIENT or attempt + 1 == MAX_ATTEMPTS:
                    raise
            backoff(attempt)

    def query(
        self, index: str, partition: str, *, before: str | None, batch: int
    ) -> Iterator[Record]:
        """Records of one index partition, newest first, with sort key < `before`."""
        hash_key, range_key = (GSI1PK, GSI1SK) if index == GSI1 else (GSI2PK, GSI2SK)
        names, values = {"#h": hash_key}, {":h": {"S": partition}}
        condition = "#h = :h"
        if before is not None:
            names["#r"], values[":r"] = range_key, {"S": before}
            condition += " AND #r < :r"
        request: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": batch,
        }
        while True:
            response = self.call("query", **request)
            yield from response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last
