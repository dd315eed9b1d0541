"""Workflows port contract, run against both adapters: `StepFunctionsWorkflows` (boto3, under
moto here) and `MotoWorkflows` (the local in-process engine). Both execute a small ASL in
moto's interpreter with the step handler run in-process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from studiolab.domain.errors import InvalidInput, NotFound
from studiolab.domain.ports import Workflows

ASL = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.wait", "IsPresent": True, "Next": "Sleep"}],
            "Default": "Echo",
        },
        "Sleep": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Echo"},
        "Echo": {"Type": "Task", "Resource": "${EchoArn}", "End": True},
    },
}


class Boom(Exception):
    pass


received: list[dict[str, Any]] = []


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    received.append(event)
    if event.get("fail"):
        raise Boom("it broke")
    return {"echo": event}


def _stepfunctions(tmp_path: Path) -> Iterator[Workflows]:
    import boto3
    from moto import mock_aws

    from studiolab.adapters.aws.stepfunctions_workflows import StepFunctionsWorkflows
    from studiolab.adapters.local.inprocess_lambda import run_lambdas_in_process
    from studiolab.adapters.local.moto_workflows import _dummy_zip, substitute

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        session = boto3.session.Session(region_name="us-east-1")
        role = session.client("iam").create_role(
            RoleName="sfn", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
        )["Role"]["Arn"]
        function = session.client("lambda").create_function(
            FunctionName="echo",
            Runtime="python3.12",
            Role=role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": _dummy_zip()},
        )["FunctionArn"]
        client = session.client("stepfunctions")
        arn = client.create_state_machine(
            name="demo",
            definition=substitute(json.dumps(ASL), {"EchoArn": function}),
            roleArn=role,
        )["stateMachineArn"]
        with run_lambdas_in_process(lambda name: echo if name == "echo" else None):
            yield StepFunctionsWorkflows({"demo": arn}, client=client)


def _moto(tmp_path: Path) -> Iterator[Workflows]:
    from studiolab.adapters.local.moto_workflows import MotoWorkflows

    path = tmp_path / "demo.asl.json"
    path.write_text(json.dumps(ASL))
    with MotoWorkflows({"demo": path}, {"Echo": echo}) as workflows:
        yield workflows


@pytest.fixture(params=["stepfunctions", "moto"])
def workflows(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workflows]:
    received.clear()
    if request.param == "stepfunctions":
        yield from _stepfunctions(tmp_path)
    else:
        yield from _moto(tmp_path)


def _settle(workflows: Workflows, ref: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while (status := workflows.describe(ref).status) == "RUNNING":
        assert time.monotonic() < deadline, f"{ref} still running"
        time.sleep(0.02)
    return status


def test_start_runs_the_machine_with_the_payload(workflows: Workflows) -> None:
    ref = workflows.start("demo", "first", {"run_id": "run_1", "text": "été 👗"})
    assert isinstance(ref, str) and ref
    assert _settle(workflows, ref) == "SUCCEEDED"
    assert received == [{"run_id": "run_1", "text": "été 👗"}]
    info = workflows.describe(ref)
    assert info.error is None


def test_a_failing_step_fails_the_execution_with_its_error_name(workflows: Workflows) -> None:
    ref = workflows.start("demo", "failing", {"fail": True})
    assert _settle(workflows, ref) == "FAILED"
    assert workflows.describe(ref).error == "Boom"


def test_stop_aborts_a_running_execution_and_is_idempotent(workflows: Workflows) -> None:
    ref = workflows.start("demo", "waiting", {"wait": 30})
    assert workflows.describe(ref).status == "RUNNING"
    workflows.stop(ref, error="Stopped", cause="by the test")
    assert _settle(workflows, ref) == "ABORTED"
    workflows.stop(ref)  # ended: nothing to do
    assert received == []


def test_unknown_execution_is_not_found(workflows: Workflows) -> None:
    ref = workflows.start("demo", "known", {})
    missing = ref.rsplit(":", 1)[0] + ":unknown"
    with pytest.raises(NotFound):
        workflows.describe(missing)
    with pytest.raises(NotFound):
        workflows.stop(missing)
    _settle(workflows, ref)


def test_unknown_machine_is_invalid_input(workflows: Workflows) -> None:
    with pytest.raises(InvalidInput, match="unknown state machine"):
        workflows.start("nope", "x", {})


def test_payload_must_be_json(workflows: Workflows) -> None:
    with pytest.raises(InvalidInput, match="JSON"):
        workflows.start("demo", "bad", {"nan": float("nan")})
