"""`MotoWorkflows`: the Workflows port run in this process by moto's Step Functions
interpreter (the LocalStack interpreter vendored in moto 5.x).

On `open()` it starts one `mock_aws(config={"stepfunctions": {"execute_state_machine": True}})`
for the life of the process, creates a dummy IAM role and one dummy moto Lambda function per
step (`studiolab-<Step>`), registers every `<machine>.asl.json` with its `${<Step>Arn}`
placeholders replaced by those functions' ARNs, and routes every Lambda invocation to the
step's Python handler in-process (adapters/local/inprocess_lambda.py). Executions run on
moto's background threads; Map iterations call handlers on several threads at once.

Under the mock every boto3 call in the process is intercepted: local adapters never use boto3.
Executions live in memory: after a restart `describe` of an old reference is NotFound, which is
how the reconciler knows the execution was lost.
"""

from __future__ import annotations

import io
import json
import re
import threading
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from studiolab.adapters.aws.stepfunctions_workflows import StepFunctionsWorkflows
from studiolab.adapters.local.inprocess_lambda import LambdaHandler, install, uninstall
from studiolab.domain.errors import ConfigError
from studiolab.domain.ports import ExecutionInfo

REGION = "us-east-1"
FUNCTION_PREFIX = "studiolab-"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def lambda_handler(event, context):\n    return None\n")
    return buffer.getvalue()


def substitute(definition: str, values: Mapping[str, str]) -> str:
    """Replace `${Name}` placeholders; ConfigError naming any left unresolved."""
    missing = sorted({name for name in _PLACEHOLDER.findall(definition) if name not in values})
    if missing:
        raise ConfigError(f"state machine placeholders without a value: {missing}")
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], definition)


class MotoWorkflows:
    """`functions` maps a step name ("FetchBatch") to its handler; `machines` maps a machine
    name ("crawl") to its ASL file."""

    def __init__(
        self,
        machines: Mapping[str, Path],
        functions: Mapping[str, LambdaHandler],
        *,
        region: str = REGION,
    ) -> None:
        self._machine_files = dict(machines)
        self._handlers = {FUNCTION_PREFIX + step: fn for step, fn in functions.items()}
        self._steps = list(functions)
        self._region = region
        self._lock = threading.Lock()
        self._mock: Any = None
        self._inner: StepFunctionsWorkflows | None = None
        self.client: Any = None

    # -- lifecycle ------------------------------------------------------------------------

    def open(self) -> MotoWorkflows:
        with self._lock:
            if self._inner is not None:
                return self
            import boto3
            from moto import mock_aws

            mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
            mock.start()
            try:
                install(self._resolve)
                self._inner = self._register(boto3.session.Session(region_name=self._region))
            except BaseException:
                uninstall(self._resolve)
                mock.stop()
                raise
            self._mock = mock
        return self

    def close(self) -> None:
        with self._lock:
            if self._inner is None:
                return
            uninstall(self._resolve)
            self._mock.stop()
            self._mock, self._inner, self.client = None, None, None

    def __enter__(self) -> MotoWorkflows:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _register(self, session: Any) -> StepFunctionsWorkflows:
        role = session.client("iam").create_role(
            RoleName="studiolab-local-workflows", AssumeRolePolicyDocument=json.dumps(_TRUST)
        )["Role"]["Arn"]
        lambdas = session.client("lambda")
        values: dict[str, str] = {}
        for step in self._steps:
            reply = lambdas.create_function(
                FunctionName=FUNCTION_PREFIX + step,
                Runtime="python3.12",
                Role=role,
                Handler="handler.lambda_handler",
                Code={"ZipFile": _dummy_zip()},
                Timeout=900,
            )
            values[f"{step}Arn"] = reply["FunctionArn"]
        self.client = session.client("stepfunctions")
        arns: dict[str, str] = {}
        for machine, path in self._machine_files.items():
            definition = substitute(path.read_text(encoding="utf-8"), values)
            arns[machine] = self.client.create_state_machine(
                name=f"studiolab-{machine}", definition=definition, roleArn=role
            )["stateMachineArn"]
        return StepFunctionsWorkflows(arns, client=self.client)

    def _resolve(self, name: str) -> LambdaHandler | None:
        return self._handlers.get(name)

    def _workflows(self) -> StepFunctionsWorkflows:
        inner = self._inner
        if inner is None:
            self.open()  # lazily: building a local context must not start moto
            inner = self._inner
            assert inner is not None
        return inner

    def machine_arn(self, machine: str) -> str:
        return self._workflows().machine_arn(machine)

    # -- the port ---------------------------------------------------------------------------

    def start(self, machine: str, name: str, payload: Mapping[str, Any]) -> str:
        return self._workflows().start(machine, name, payload)

    def stop(self, ref: str, *, error: str = "", cause: str = "") -> None:
        self._workflows().stop(ref, error=error, cause=cause)

    def describe(self, ref: str) -> ExecutionInfo:
        return self._workflows().describe(ref)


def handlers_from_module(module: Any, steps: Mapping[str, str]) -> dict[str, LambdaHandler]:
    """{step: module.<attribute>} for a Lambda entry-point module (functions/crawl_steps)."""
    found: dict[str, Callable[[Any, Any], Any]] = {}
    for step, attribute in steps.items():
        function = getattr(module, attribute, None)
        if not callable(function):
            raise ConfigError(f"{module.__name__} has no handler {attribute!r} for {step}")
        found[step] = function
    return found
