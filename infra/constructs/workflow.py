"""The crawl workflow: one zip Lambda per step, the state machine from
infra/statemachines/crawl.asl.json (step ARNs substituted, logs ALL, X-Ray), and the
reconciler on a 5-minute schedule and on abnormal execution ends."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn

from infra.constructs.functions import Functions
from infra.constructs.nag import ack

REPO_ROOT = Path(__file__).resolve().parents[2]
CRAWL_ASL = REPO_ROOT / "infra" / "statemachines" / "crawl.asl.json"
CRAWL_MACHINE = "crawl"

# ASL placeholder -> handler in functions/crawl_steps/handler.py.
CRAWL_STEPS: dict[str, str] = {
    "StartRunArn": "start_run",
    "FetchBatchArn": "fetch_batch",
    "DownloadImageArn": "download_image",
    "FinishRunArn": "finish_run",
    "FailRunArn": "fail_run",
    "ContinueAsNewArn": "continue_as_new",
}


@dataclass
class CrawlWorkflow:
    machine_name: str
    machine_arn: str
    steps: dict[str, lambda_.Function]
    reconciler: lambda_.Function
    state_machine: sfn.StateMachine
    start: iam.PolicyStatement  # states:StartExecution on the crawl machine
    inspect: iam.PolicyStatement  # states:DescribeExecution/StopExecution on its executions

    def machines_env(self, stack: Stack) -> str:
        """STUDIOLAB_STATE_MACHINES: {"crawl": <arn>} (the ARN is known before the machine)."""
        return stack.to_json_string({CRAWL_MACHINE: self.machine_arn})

    def grant_control(self, function: lambda_.IFunction) -> None:
        """Start, describe and stop crawl executions (API, reconciler)."""
        function.add_to_role_policy(self.start)
        function.add_to_role_policy(self.inspect)
        ack(
            function,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:"
            f"<AWS::AccountId>:execution:{self.machine_name}:*]",
            "Describe/stop any execution of the crawl state machine only (execution names are "
            "per run, unknown at deploy time).",
        )


def crawl_workflow(stack: Stack, functions: Functions) -> CrawlWorkflow:
    machine_name = f"{stack.stack_name}-{CRAWL_MACHINE}"
    machine_arn = stack.format_arn(
        service="states",
        resource="stateMachine",
        resource_name=machine_name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    executions = stack.format_arn(
        service="states",
        resource="execution",
        resource_name=f"{machine_name}:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    machines = stack.to_json_string({CRAWL_MACHINE: machine_arn})
    steps: dict[str, lambda_.Function] = {}
    for placeholder, handler in [*CRAWL_STEPS.items(), ("Reconcile", "reconcile")]:
        construct_id = "Crawl" + "".join(p.title() for p in handler.split("_"))
        function = functions.zip_function(
            construct_id,
            "crawl_steps",
            f"handler.{handler}",
            environment=functions.environment(
                f"crawl-{handler}", STUDIOLAB_STATE_MACHINES=machines
            ),
            timeout=Duration.minutes(2),
        )
        functions.grant_table(function)
        functions.grant_objects(
            function, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "state"
        )
        steps[placeholder] = function
    functions.grant_objects(steps["DownloadImageArn"], ["s3:PutObject"], "raw")
    start = iam.PolicyStatement(actions=["states:StartExecution"], resources=[machine_arn])
    inspect = iam.PolicyStatement(
        actions=["states:DescribeExecution", "states:StopExecution"], resources=[executions]
    )
    steps["ContinueAsNewArn"].add_to_role_policy(start)
    reconciler = steps.pop("Reconcile")
    machine = _state_machine(stack, machine_name, steps)
    workflow = CrawlWorkflow(machine_name, machine_arn, steps, reconciler, machine, start, inspect)
    workflow.grant_control(reconciler)
    _reconciler_triggers(stack, reconciler, machine)
    return workflow


def _state_machine(
    stack: Stack, machine_name: str, steps: dict[str, lambda_.Function]
) -> sfn.StateMachine:
    log_group = logs.LogGroup(
        stack,
        "CrawlMachineLogs",
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.DESTROY,
    )
    machine = sfn.StateMachine(
        stack,
        "CrawlMachine",
        state_machine_name=machine_name,
        # inline (DefinitionString), not an S3 asset: cfn-lint validates the ASL in the
        # template (E3601 schema, E1029 placeholders without a substitution)
        definition_body=sfn.DefinitionBody.from_string(CRAWL_ASL.read_text()),
        definition_substitutions={
            placeholder: function.function_arn for placeholder, function in steps.items()
        },
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL),
        tracing_enabled=True,
    )
    for function in steps.values():
        machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[function.function_arn]
            )
        )
    ack(
        machine,
        "AwsSolutions-IAM5[Resource::*]",
        "CloudWatch Logs delivery (logs:CreateLogDelivery, ...) and X-Ray "
        "(xray:PutTraceSegments, ...) support no resource-level permissions.",
    )
    return machine


def _reconciler_triggers(
    stack: Stack, reconciler: lambda_.Function, machine: sfn.StateMachine
) -> None:
    events.Rule(
        stack,
        "ReconcileSchedule",
        description="Periodic reconciliation of crawl runs with their executions",
        schedule=events.Schedule.rate(Duration.minutes(5)),
        targets=[targets.LambdaFunction(reconciler, retry_attempts=2)],
    )
    events.Rule(
        stack,
        "ReconcileOnExecutionEnd",
        description="Reconcile when a crawl execution ends abnormally",
        event_pattern=events.EventPattern(
            source=["aws.states"],
            detail_type=["Step Functions Execution Status Change"],
            detail={
                "stateMachineArn": [machine.state_machine_arn],
                "status": ["FAILED", "TIMED_OUT", "ABORTED"],
            },
        ),
        targets=[targets.LambdaFunction(reconciler, retry_attempts=2)],
    )
