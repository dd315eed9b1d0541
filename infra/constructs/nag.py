"""cdk-nag acknowledgements: every one names its rule and carries a concrete reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

BASIC_EXECUTION_ROLE = (
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSLambdaBasicExecutionRole]"
)


def ack(construct: IConstruct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def acknowledge_function(function: lambda_.Function, *, python_runtime: bool) -> None:
    ack(
        function,
        BASIC_EXECUTION_ROLE,
        "AWS managed basic execution role: only logs:CreateLogGroup/CreateLogStream/"
        "PutLogEvents for the function's own logs.",
    )
    ack(
        function,
        "AwsSolutions-IAM5[Resource::*]",
        "X-Ray active tracing: xray:PutTraceSegments/PutTelemetryRecords support no "
        "resource-level permissions.",
    )
    if python_runtime:
        ack(
            function,
            "AwsSolutions-L1",
            "Pinned to python3.12: the domain layers (cp312 wheels) and the container images "
            "(public.ecr.aws/lambda/python:3.12) must share one runtime.",
        )


def acknowledge_cdk_singleton(construct: IConstruct, what: str, *, star_reason: str) -> None:
    """A Lambda-backed custom resource that CDK itself provides (code and role not ours)."""
    ack(construct, BASIC_EXECUTION_ROLE, f"CDK's {what} custom resource: basic logging only.")
    ack(construct, "AwsSolutions-IAM5[Resource::*]", f"CDK's {what} custom resource: {star_reason}")
    ack(
        construct,
        "AwsSolutions-L1",
        f"CDK's {what} custom resource: its runtime is chosen by aws-cdk-lib, not by us.",
    )
