"""Lambda builders and least-privilege grants shared by every part of the stack.

`Functions(stack, ...)` makes zip functions (python3.12, the domain layers, X-Ray, JSON logs,
a one-month log group) and container-image functions (staged from containers/, never built at
synth), and grants item-level catalog access and prefix-scoped object access - never `*`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Duration, IgnoreMode, RemovalPolicy, Size, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from infra.constructs.nag import ack, acknowledge_function
from studiolab.adapters.aws import table_schema

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"


def image_asset_excludes(name: str) -> list[str]:
    """Docker-ignore patterns: stage only what containers/<name>/Dockerfile COPYs."""
    keep = [
        "pyproject.toml",
        "README.md",
        "layers",
        f"containers/{name}/Dockerfile",
        f"functions/{name}",
    ]
    if name == "vision":
        keep.append("models/u2netp.onnx")
    return [
        "*",
        *(f"!{path}" for path in keep),
        "**/__pycache__",
        "**/*.pyc",
        "**/*.egg-info",
    ]


class Functions:
    """Builds the stack's Lambdas against one table, bucket, DLQ and set of layers."""

    def __init__(
        self,
        stack: Stack,
        *,
        table: dynamodb.Table,
        bucket: s3.Bucket,
        dlq: sqs.IQueue,
        layers: Sequence[lambda_.ILayerVersion],
        log_level: str = "INFO",
    ) -> None:
        self.stack = stack
        self.log_level = log_level
        self.table = table
        self.bucket = bucket
        self.dlq = dlq
        self.layers = list(layers)

    def environment(self, service: str, **extra: str) -> dict[str, str]:
        """Every function's settings + Powertools' (service per function, one namespace)."""
        return {
            "STUDIOLAB_MODE": "aws",
            "STUDIOLAB_TABLE_NAME": self.table.table_name,
            "STUDIOLAB_BUCKET_NAME": self.bucket.bucket_name,
            "POWERTOOLS_SERVICE_NAME": service,
            "POWERTOOLS_METRICS_NAMESPACE": "studiolab",
            "POWERTOOLS_LOG_LEVEL": self.log_level,
            "LOG_LEVEL": self.log_level,
            **extra,
        }

    def application_log_level(self) -> lambda_.ApplicationLogLevel:
        """Lambda's JSON log filter, the same level as Powertools' (it warns on a mismatch)."""
        return lambda_.ApplicationLogLevel[self.log_level.replace("WARNING", "WARN")]

    def log_group(self, construct_id: str) -> logs.LogGroup:
        return logs.LogGroup(
            self.stack,
            f"{construct_id}Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )

    def zip_function(
        self,
        construct_id: str,
        code_dir: str,
        handler: str,
        *,
        environment: dict[str, str],
        timeout: Duration,
        memory_size: int = 512,
        asynchronous: bool = False,
    ) -> lambda_.Function:
        function = lambda_.Function(
            self.stack,
            construct_id,
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,
            code=lambda_.Code.from_asset(
                str(FUNCTIONS_DIR / code_dir), exclude=["__pycache__", "*.pyc"]
            ),
            handler=handler,
            layers=self.layers,
            environment=environment,
            timeout=timeout,
            memory_size=memory_size,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=self.application_log_level(),
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            log_group=self.log_group(construct_id),
            dead_letter_queue=self.dlq if asynchronous else None,
            retry_attempts=2 if asynchronous else None,
        )
        acknowledge_function(function, python_runtime=True)
        return function

    def image_function(
        self, name: str, *, memory_size: int, timeout: Duration, reserved: int | None
    ) -> lambda_.DockerImageFunction:
        function = lambda_.DockerImageFunction(
            self.stack,
            name.title(),
            code=lambda_.DockerImageCode.from_image_asset(
                str(REPO_ROOT),
                file=f"containers/{name}/Dockerfile",
                exclude=image_asset_excludes(name),
                ignore_mode=IgnoreMode.DOCKER,
                platform=ecr_assets.Platform.LINUX_AMD64,
            ),
            architecture=lambda_.Architecture.X86_64,
            environment=self.environment(name),
            memory_size=memory_size,
            timeout=timeout,
            ephemeral_storage_size=Size.mebibytes(1024),
            reserved_concurrent_executions=reserved,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=self.application_log_level(),
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            log_group=self.log_group(name.title()),
            dead_letter_queue=self.dlq,
            retry_attempts=2,
        )
        self.grant_table(function)
        acknowledge_function(function, python_runtime=False)
        return function

    # least privilege ------------------------------------------------------------------------

    def grant_table(self, function: lambda_.IFunction) -> None:
        """Item-level read/write on the catalog table and its GSIs, by name (no wildcard)."""
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:BatchGetItem",
                    "dynamodb:Query",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:BatchWriteItem",
                    "dynamodb:ConditionCheckItem",
                    "dynamodb:DescribeTable",
                ],
                resources=[
                    self.table.table_arn,
                    *(
                        f"{self.table.table_arn}/index/{index['IndexName']}"
                        for index in table_schema.GLOBAL_SECONDARY_INDEXES
                    ),
                ],
            )
        )

    def grant_objects(
        self, function: lambda_.IFunction, actions: list[str], *prefixes: str
    ) -> None:
        """`actions` on the objects under each prefix only (plus listing of those prefixes)."""
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=actions,
                resources=[self.bucket.arn_for_objects(f"{prefix}/*") for prefix in prefixes],
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{p}/*" for p in prefixes]}},
            )
        )
        bucket_ref = self.stack.resolve(self.bucket.node.default_child.logical_id)  # type: ignore[union-attr]
        for prefix in prefixes:
            ack(
                function,
                f"AwsSolutions-IAM5[Resource::<{bucket_ref}.Arn>/{prefix}/*]",
                f"Objects under the {prefix}/ prefix only: keys hold run/item ids unknown at "
                "deploy time.",
            )
