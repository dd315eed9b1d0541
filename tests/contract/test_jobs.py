"""Jobs port contract, run against every adapter: the local SQLite queue + worker threads, and
async Lambda invocations (moto, with the functions run in-process by inprocess_lambda).

Also the in-process Lambda hook itself: its return contract, and the guard that fails loudly
when the moto private method it replaces changes."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from studiolab.adapters.local.sqlite_db import SqliteDatabase
from studiolab.adapters.local.sqlite_jobs import SqliteJobQueue
from studiolab.adapters.local.workers import WorkerPool
from studiolab.adapters.system import SystemClock
from studiolab.domain.errors import InvalidInput
from studiolab.domain.ports import Jobs

TOPIC = "echo"
FUNCTION = "studiolab-echo"
REGION = "us-east-1"

PAYLOAD: dict[str, Any] = {
    "Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "raw/p%2Fi+1.jpg"}}}],
    "text": "robe d'été, 夏のドレス 👗 \u2013 \x00",
    "int": 2**53,
    "float": 0.1,
    "neg": -3,
    "flags": [True, False, None],
    "nested": {"empty": {}, "list": [], "str": ""},
}


@dataclass
class JobsUnderTest:
    jobs: Jobs
    drain: Callable[[], None]
    received: list[dict[str, Any]] = field(default_factory=list)


def _dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return None\n")
    return buffer.getvalue()


@pytest.fixture
def lambda_client() -> Iterator[Any]:
    """moto with one function, FUNCTION, whose code is never run (in-process instead).
    Fake credentials come from tests/conftest.py."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        role = boto3.client("iam", region_name=REGION).create_role(
            RoleName="studiolab-test-lambda",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        client = boto3.client("lambda", region_name=REGION)
        client.create_function(
            FunctionName=FUNCTION,
            Runtime="python3.12",
            Role=role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": _dummy_zip()},
        )
        yield client


def _sqlite_jobs(tmp_path: Path) -> Iterator[JobsUnderTest]:
    db = SqliteDatabase(tmp_path / "catalog.sqlite")
    queue = SqliteJobQueue(db, clock=SystemClock(), topics={TOPIC})
    received: list[dict[str, Any]] = []
    pool = WorkerPool(queue, {TOPIC: received.append}, threads=2, poll_interval_s=0.05)

    def drain() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            stats = queue.stats()
            if stats["pending"] == stats["running"] == 0:
                return
            time.sleep(0.02)
        raise AssertionError(f"jobs not drained: {queue.stats()}")

    pool.start()
    try:
        yield JobsUnderTest(jobs=queue, drain=drain, received=received)
    finally:
        assert pool.stop(timeout=5)
        db.close()


def _lambda_jobs(client: Any) -> Iterator[JobsUnderTest]:
    from studiolab.adapters.aws.lambda_jobs import LambdaJobs
    from studiolab.adapters.local.inprocess_lambda import run_lambdas_in_process

    received: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        assert context.function_name == FUNCTION
        received.append(event)

    def resolve(name: str) -> Callable[[Any, Any], Any] | None:
        return handler if name == FUNCTION else None

    with run_lambdas_in_process(resolve):
        # moto runs Event invocations synchronously: nothing to drain
        yield JobsUnderTest(
            jobs=LambdaJobs({TOPIC: FUNCTION}, client=client),
            drain=lambda: None,
            received=received,
        )


@pytest.fixture(params=["sqlite", "lambda"])
def jobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobsUnderTest]:
    if request.param == "sqlite":
        yield from _sqlite_jobs(tmp_path)
    else:
        yield from _lambda_jobs(request.getfixturevalue("lambda_client"))


# -- the contract -----------------------------------------------------------------------------


def test_submit_is_accepted_and_returns_an_id(jobs: JobsUnderTest) -> None:
    first = jobs.jobs.submit(TOPIC, {"n": 1})
    second = jobs.jobs.submit(TOPIC, {"n": 2})
    assert isinstance(first, str) and first
    assert first != second
    jobs.drain()


def test_unknown_topic_is_refused(jobs: JobsUnderTest) -> None:
    with pytest.raises(InvalidInput, match="unknown topic"):
        jobs.jobs.submit("no-such-topic", {"n": 1})
    jobs.drain()
    assert jobs.received == []


def test_payload_not_json_is_refused(jobs: JobsUnderTest) -> None:
    with pytest.raises(InvalidInput, match="JSON"):
        jobs.jobs.submit(TOPIC, {"when": object()})
    with pytest.raises(InvalidInput, match="JSON"):
        jobs.jobs.submit(TOPIC, {"nan": float("nan")})


def test_payload_reaches_the_handler_intact(jobs: JobsUnderTest) -> None:
    jobs.jobs.submit(TOPIC, PAYLOAD)
    jobs.drain()
    assert jobs.received == [PAYLOAD]


def test_every_job_is_delivered(jobs: JobsUnderTest) -> None:
    for n in range(20):
        jobs.jobs.submit(TOPIC, {"n": n})
    jobs.drain()
    assert sorted(event["n"] for event in jobs.received) == list(range(20))


# -- the in-process Lambda hook ---------------------------------------------------------------


def test_in_process_request_response_and_error_contract(lambda_client: Any) -> None:
    from studiolab.adapters.local.inprocess_lambda import run_lambdas_in_process

    class ShopUnreachable(Exception):
        pass

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        assert context.get_remaining_time_in_millis() > 0
        if event.get("fail"):
            raise ShopUnreachable("connection refused")
        return {"doubled": event["n"] * 2}

    with run_lambdas_in_process(lambda name: handler if name == FUNCTION else None):
        ok = lambda_client.invoke(FunctionName=FUNCTION, Payload=json.dumps({"n": 21}))
        assert ok["StatusCode"] == 200 and "FunctionError" not in ok
        assert json.loads(ok["Payload"].read()) == {"doubled": 42}

        failed = lambda_client.invoke(FunctionName=FUNCTION, Payload=json.dumps({"fail": 1}))
        assert failed["FunctionError"]
        error = json.loads(failed["Payload"].read())
        # Step Functions' Catch matches this name
        assert error["errorType"] == "ShopUnreachable"
        assert error["errorMessage"] == "connection refused"


def test_in_process_resolves_by_handler_string(lambda_client: Any) -> None:
    from studiolab.adapters.local.inprocess_lambda import run_lambdas_in_process

    handlers = {"handler.lambda_handler": lambda event, context: "by handler"}
    with run_lambdas_in_process(handlers.__getitem__):  # KeyError for the function name
        reply = lambda_client.invoke(FunctionName=FUNCTION, Payload=b"{}")
    assert json.loads(reply["Payload"].read()) == "by handler"


def test_in_process_unknown_function_is_a_function_error(lambda_client: Any) -> None:
    from studiolab.adapters.local.inprocess_lambda import run_lambdas_in_process

    with run_lambdas_in_process(lambda name: None):
        reply = lambda_client.invoke(FunctionName=FUNCTION, Payload=b"{}")
    assert reply["FunctionError"]
    assert json.loads(reply["Payload"].read())["errorType"] == "Runtime.HandlerNotFound"


def test_in_process_concurrent_invocations(lambda_client: Any) -> None:
    from studiolab.adapters.local.inprocess_lambda import run_lambdas_in_process

    barrier = threading.Barrier(4, timeout=5)

    def handler(event: dict[str, Any], context: Any) -> int:
        barrier.wait()  # all four run at the same time: the hook holds no lock around calls
        return int(event["n"])

    results: dict[int, int] = {}

    def call(n: int) -> None:
        reply = lambda_client.invoke(FunctionName=FUNCTION, Payload=json.dumps({"n": n}))
        results[n] = json.loads(reply["Payload"].read())

    with run_lambdas_in_process(lambda name: handler):
        threads = [threading.Thread(target=call, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert results == {n: n for n in range(4)}


def test_in_process_restores_moto_on_exit() -> None:
    from moto.awslambda.models import LambdaFunction

    from studiolab.adapters.local.inprocess_lambda import run_lambdas_in_process

    original = LambdaFunction.__dict__["_invoke_lambda"]
    with run_lambdas_in_process(lambda name: None):
        with run_lambdas_in_process(lambda name: None):
            assert LambdaFunction.__dict__["_invoke_lambda"] is not original
        assert LambdaFunction.__dict__["_invoke_lambda"] is not original
    assert LambdaFunction.__dict__["_invoke_lambda"] is original


def test_in_process_fails_loudly_when_moto_private_method_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.awslambda.models import LambdaFunction

    from studiolab.adapters.local.inprocess_lambda import run_lambdas_in_process

    monkeypatch.delattr(LambdaFunction, "_invoke_lambda")
    with (
        pytest.raises(RuntimeError, match=r"_invoke_lambda is missing"),
        run_lambdas_in_process(lambda name: None),
    ):
        pass


def test_in_process_fails_loudly_when_moto_private_signature_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.awslambda.models import LambdaFunction

    from studiolab.adapters.local.inprocess_lambda import run_lambdas_in_process

    def changed(self: Any, event: Any, context: Any) -> dict[str, Any]:
        return {}

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", changed)
    with (
        pytest.raises(RuntimeError, match=r"private API changed"),
        run_lambdas_in_process(lambda name: None),
    ):
        pass


def test_in_process_fails_loudly_when_invoke_stops_calling_the_hook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.awslambda.models import LambdaFunction

    from studiolab.adapters.local.inprocess_lambda import run_lambdas_in_process

    def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> str:
        return self._run_somewhere_else(body)  # type: ignore[no-any-return]

    monkeypatch.setattr(LambdaFunction, "invoke", invoke)
    with (
        pytest.raises(RuntimeError, match=r"no longer calls _invoke_lambda"),
        run_lambdas_in_process(lambda name: None),
    ):
        pass
