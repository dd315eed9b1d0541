"""`StepFunctionsWorkflows`: the Workflows port over AWS Step Functions (boto3).

Machines are named logically ("crawl"); CDK hands the name -> state machine ARN map over
through settings (STUDIOLAB_STATE_MACHINES). The local moto-backed adapter reuses this class
with moto's ARNs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from studiolab.domain.errors import InvalidInput, NotFound
from studiolab.domain.ports import ExecutionInfo, ExecutionStatus

_STATUSES: frozenset[str] = frozenset({"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
_NOT_FOUND = ("ExecutionDoesNotExist", "InvalidArn", "StateMachineDoesNotExist")
# Step Functions limits (error 256, cause 32,768 characters).
_MAX_ERROR, _MAX_CAUSE = 256, 32_768


class StepFunctionsWorkflows:
    def __init__(
        self, machines: Mapping[str, str], *, client: Any = None, region: str | None = None
    ) -> None:
        if client is None:
            import boto3

            client = boto3.client("stepfunctions", region_name=region)
        self._client = client
        self._machines = dict(machines)

    def machine_arn(self, machine: str) -> str:
        try:
            return self._machines[machine]
        except KeyError:
            raise InvalidInput(
                f"unknown state machine {machine!r}; known: {sorted(self._machines)}"
            ) from None

    def start(self, machine: str, name: str, payload: Mapping[str, Any]) -> str:
        arn = self.machine_arn(machine)
        try:
            body = json.dumps(dict(payload), allow_nan=False)
        except (TypeError, ValueError) as error:
            raise InvalidInput(f"workflow payload is not JSON: {error}") from error
        reply = self._client.start_execution(stateMachineArn=arn, name=name, input=body)
        return cast(str, reply["executionArn"])

    def stop(self, ref: str, *, error: str = "", cause: str = "") -> None:
        if self.describe(ref).status != "RUNNING":
            return
        self._client.stop_execution(
            executionArn=ref, error=error[:_MAX_ERROR], cause=cause[:_MAX_CAUSE]
        )

    def describe(self, ref: str) -> ExecutionInfo:
        try:
            reply = self._client.describe_execution(executionArn=ref)
        except Exception as failure:
            code = getattr(failure, "response", {}).get("Error", {}).get("Code", "")
            if code in _NOT_FOUND:
                raise NotFound(f"no workflow execution {ref!r}") from failure
            raise
        status = str(reply["status"])
        if status not in _STATUSES:  # PENDING_REDRIVE and future states: still alive
            status = "RUNNING"
        return ExecutionInfo(
            status=cast(ExecutionStatus, status),
            error=reply.get("error") or None,
            cause=reply.get("cause") or None,
        )
