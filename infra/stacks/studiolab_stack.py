"""The studiolab stack: storage, image pipeline, crawl workflow, export, reconciler, alarms.

Environment-agnostic (no account/region, no lookups): `cdk synth` works offline. Not yet here
(later steps of the Infrastructure issue): the Chalice API (chalice.cdk) and Cognito, the web UI
bucket + CloudFront, third-party wheels in the domain layer, alarm notification targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import (
    Acknowledgment,
    ArnFormat,
    CfnOutput,
    Duration,
    IgnoreMode,
    RemovalPolicy,
    Size,
    Stack,
    Validations,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.domain_layer import DomainLayer
from studiolab.adapters.aws import table_schema

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"
CRAWL_ASL = REPO_ROOT / "infra" / "statemachines" / "crawl.asl.json"

# ASL placeholder -> handler in functions/crawl_steps/handler.py.
CRAWL_STEPS: dict[str, str] = {
    "StartRunArn": "start_run",
    "FetchBatchArn": "fetch_batch",
    "DownloadImageArn": "download_image",
    "FinishRunArn": "finish_run",
    "FailRunArn": "fail_run",
    "ContinueAsNewArn": "continue_as_new",
}
EXPORT_TOPIC = "export.run"
CRAWL_MACHINE = "crawl"

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


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


def _attribute(name: str) -> dynamodb.Attribute:
    types = {a["AttributeName"]: a["AttributeType"] for a in table_schema.ATTRIBUTE_DEFINITIONS}
    return dynamodb.Attribute(name=name, type=_ATTRIBUTE_TYPES[types[name]])


def _keys(schema: Sequence[Mapping[str, str]]) -> tuple[str, str | None]:
    by_type = {key["KeyType"]: key["AttributeName"] for key in schema}
    return by_type["HASH"], by_type.get("RANGE")


class StudiolabStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.deletion_protection = bool(
            self.node.try_get_context("studiolab:deletionProtection") is not False
        )
        self.access_logs = self._access_log_bucket()
        self.bucket = self._data_bucket()
        self.table = self._table()
        self.dlq = self._dead_letter_queue()
        self.layer = DomainLayer(self, "DomainLayer").layer
        self.crawl_machine_name = f"{self.stack_name}-{CRAWL_MACHINE}"
        self.crawl_machine_arn = self.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=self.crawl_machine_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.export_function = self._export_function()
        self.crawl_steps, self.reconciler = self._crawl_functions()
        self.state_machine = self._state_machine()
        self.vision, self.palette = self._image_pipeline()
        self._reconciler_triggers()
        self._alarms()
        self._outputs()
        self._acknowledge_stack_findings()

    # storage --------------------------------------------------------------------------------

    def _access_log_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        _ack(bucket, "AwsSolutions-S1", "This is the server access log target bucket itself.")
        return bucket

    def _data_bucket(self) -> s3.Bucket:
        origins = self.node.try_get_context("studiolab:corsAllowedOrigins") or [
            "http://localhost:8000"
        ]
        return s3.Bucket(
            self,
            "Data",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="data/",
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-exports", prefix="exports/", expiration=Duration.days(7)
                ),
                s3.LifecycleRule(id="expire-state", prefix="state/", expiration=Duration.days(30)),
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
            ],
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.PUT],
                    allowed_origins=list(origins),
                    allowed_headers=["content-type", "content-length", "content-md5"],
                    exposed_headers=["ETag"],
                    max_age=3000,
                )
            ],
        )

    def _table(self) -> dynamodb.Table:
        hash_key, range_key = _keys(table_schema.KEY_SCHEMA)
        assert table_schema.BILLING_MODE == "PAY_PER_REQUEST"
        table = dynamodb.Table(
            self,
            "Catalog",
            partition_key=_attribute(hash_key),
            sort_key=_attribute(range_key) if range_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=self.deletion_protection,
            time_to_live_attribute=getattr(table_schema, "TTL_ATTRIBUTE", None),
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in table_schema.GLOBAL_SECONDARY_INDEXES:
            gsi_hash, gsi_range = _keys(index["KeySchema"])
            assert index["Projection"]["ProjectionType"] == "ALL"
            table.add_global_secondary_index(
                index_name=index["IndexName"],
                partition_key=_attribute(gsi_hash),
                sort_key=_attribute(gsi_range) if gsi_range else None,
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table

    def _dead_letter_queue(self) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            "AsyncDlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        _ack(queue, "AwsSolutions-SQS3", "This queue is itself the dead-letter queue.")
        return queue

    # functions ------------------------------------------------------------------------------

    def _environment(self, service: str, **extra: str) -> dict[str, str]:
        return {
            "STUDIOLAB_MODE": "aws",
            "STUDIOLAB_TABLE_NAME": self.table.table_name,
            "STUDIOLAB_BUCKET_NAME": self.bucket.bucket_name,
            "POWERTOOLS_SERVICE_NAME": service,
            "POWERTOOLS_METRICS_NAMESPACE": "studiolab",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **extra,
        }

    def _log_group(self, construct_id: str) -> logs.LogGroup:
        return logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _zip_function(
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
            self,
            construct_id,
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,
            code=lambda_.Code.from_asset(
                str(FUNCTIONS_DIR / code_dir), exclude=["__pycache__", "*.pyc"]
            ),
            handler=handler,
            layers=[self.layer],
            environment=environment,
            timeout=timeout,
            memory_size=memory_size,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=self._log_group(construct_id),
            dead_letter_queue=self.dlq if asynchronous else None,
            retry_attempts=2 if asynchronous else None,
        )
        self._acknowledge_function(function, python_runtime=True)
        return function

    def _export_function(self) -> lambda_.Function:
        function = self._zip_function(
            "Export",
            "export",
            "handler.lambda_handler",
            environment=self._environment("export"),
            timeout=Duration.minutes(15),
            memory_size=1024,
            asynchronous=True,
        )
        self._grant_table(function)
        self._grant_objects(function, ["s3:GetObject"], "raw", "cutout")
        self._grant_objects(function, ["s3:PutObject", "s3:GetObject"], "exports")
        return function

    def _crawl_functions(self) -> tuple[dict[str, lambda_.Function], lambda_.Function]:
        machines = self.to_json_string({CRAWL_MACHINE: self.crawl_machine_arn})
        steps: dict[str, lambda_.Function] = {}
        for placeholder, handler in [*CRAWL_STEPS.items(), ("Reconcile", "reconcile")]:
            construct_id = "Crawl" + "".join(p.title() for p in handler.split("_"))
            function = self._zip_function(
                construct_id,
                "crawl_steps",
                f"handler.{handler}",
                environment=self._environment(
                    f"crawl-{handler}", STUDIOLAB_STATE_MACHINES=machines
                ),
                timeout=Duration.minutes(2),
            )
            self._grant_table(function)
            self._grant_objects(
                function, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "state"
            )
            steps[placeholder] = function
        self._grant_objects(steps["DownloadImageArn"], ["s3:PutObject"], "raw")
        executions = self.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{self.crawl_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        start = iam.PolicyStatement(
            actions=["states:StartExecution"], resources=[self.crawl_machine_arn]
        )
        inspect = iam.PolicyStatement(
            actions=["states:DescribeExecution", "states:StopExecution"], resources=[executions]
        )
        steps["ContinueAsNewArn"].add_to_role_policy(start)
        reconciler = steps.pop("Reconcile")
        reconciler.add_to_role_policy(start)
        reconciler.add_to_role_policy(inspect)
        _ack(
            reconciler,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:"
            f"<AWS::AccountId>:execution:{self.crawl_machine_name}:*]",
            "Describe/stop any execution of the crawl state machine only (execution names are "
            "per run, unknown at deploy time).",
        )
        return steps, reconciler

    def _image_function(self, name: str, *, memory_size: int, timeout: Duration) -> Any:
        reserved = self.node.try_get_context("studiolab:imageReservedConcurrency")
        function = lambda_.DockerImageFunction(
            self,
            name.title(),
            code=lambda_.DockerImageCode.from_image_asset(
                str(REPO_ROOT),
                file=f"containers/{name}/Dockerfile",
                exclude=image_asset_excludes(name),
                ignore_mode=IgnoreMode.DOCKER,
                platform=ecr_assets.Platform.LINUX_AMD64,
            ),
            architecture=lambda_.Architecture.X86_64,
            environment=self._environment(name),
            memory_size=memory_size,
            timeout=timeout,
            ephemeral_storage_size=Size.mebibytes(1024),
            reserved_concurrent_executions=int(reserved) if reserved else None,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=self._log_group(name.title()),
            dead_letter_queue=self.dlq,
            retry_attempts=2,
        )
        self._grant_table(function)
        self._acknowledge_function(function, python_runtime=False)
        return function

    def _image_pipeline(self) -> tuple[lambda_.DockerImageFunction, lambda_.DockerImageFunction]:
        vision = self._image_function("vision", memory_size=3008, timeout=Duration.minutes(2))
        palette = self._image_function("palette", memory_size=2048, timeout=Duration.minutes(2))
        self._grant_objects(vision, ["s3:GetObject"], "raw")
        self._grant_objects(vision, ["s3:PutObject"], "cutout", "thumb")
        self._grant_objects(palette, ["s3:GetObject"], "cutout")
        self._grant_objects(palette, ["s3:PutObject"], "masks")
        for function, prefix in ((vision, "raw/"), (palette, "cutout/")):
            self.bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED,
                s3n.LambdaDestination(function),
                s3.NotificationKeyFilter(prefix=prefix),
            )
        return vision, palette

    # workflow -------------------------------------------------------------------------------

    def _state_machine(self) -> sfn.StateMachine:
        log_group = logs.LogGroup(
            self,
            "CrawlMachineLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        machine = sfn.StateMachine(
            self,
            "CrawlMachine",
            state_machine_name=self.crawl_machine_name,
            definition_body=sfn.DefinitionBody.from_file(str(CRAWL_ASL)),
            definition_substitutions={
                placeholder: function.function_arn
                for placeholder, function in self.crawl_steps.items()
            },
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL),
            tracing_enabled=True,
        )
        for function in self.crawl_steps.values():
            machine.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"], resources=[function.function_arn]
                )
            )
        _ack(
            machine,
            "AwsSolutions-IAM5[Resource::*]",
            "CloudWatch Logs delivery (logs:CreateLogDelivery, ...) and X-Ray "
            "(xray:PutTraceSegments, ...) support no resource-level permissions.",
        )
        return machine

    def _reconciler_triggers(self) -> None:
        events.Rule(
            self,
            "ReconcileSchedule",
            description="Periodic reconciliation of crawl runs with their executions",
            schedule=events.Schedule.rate(Duration.minutes(5)),
            targets=[targets.LambdaFunction(self.reconciler, retry_attempts=2)],
        )
        events.Rule(
            self,
            "ReconcileOnExecutionEnd",
            description="Reconcile when a crawl execution ends abnormally",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "stateMachineArn": [self.state_machine.state_machine_arn],
                    "status": ["FAILED", "TIMED_OUT", "ABORTED"],
                },
            ),
            targets=[targets.LambdaFunction(self.reconciler, retry_attempts=2)],
        )

    # observability --------------------------------------------------------------------------

    def _alarms(self) -> None:
        one = {
            "threshold": 1,
            "evaluation_periods": 1,
            "comparison_operator": cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            "treat_missing_data": cloudwatch.TreatMissingData.NOT_BREACHING,
        }
        self.dlq.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(5)
        ).create_alarm(self, "DlqDepthAlarm", alarm_description="Failed async invocations", **one)
        self.state_machine.metric_failed(period=Duration.minutes(5)).create_alarm(
            self, "CrawlFailedAlarm", alarm_description="Crawl executions failed", **one
        )
        functions: dict[str, lambda_.Function] = {
            "Export": self.export_function,
            "Reconcile": self.reconciler,
            "Vision": self.vision,
            "Palette": self.palette,
            **{key.removesuffix("Arn"): fn for key, fn in self.crawl_steps.items()},
        }
        for name, function in functions.items():
            function.metric_errors(period=Duration.minutes(5)).create_alarm(
                self, f"{name}ErrorsAlarm", alarm_description=f"{name} Lambda errors", **one
            )
            function.metric_throttles(period=Duration.minutes(5)).create_alarm(
                self, f"{name}ThrottlesAlarm", alarm_description=f"{name} Lambda throttles", **one
            )

    def _outputs(self) -> None:
        CfnOutput(self, "BucketName", value=self.bucket.bucket_name)
        CfnOutput(self, "TableName", value=self.table.table_name)
        CfnOutput(self, "CrawlStateMachineArn", value=self.state_machine.state_machine_arn)
        CfnOutput(
            self,
            "Functions",
            value=self.to_json_string({EXPORT_TOPIC: self.export_function.function_name}),
            description="STUDIOLAB_FUNCTIONS for the API (topic -> function name)",
        )

    # least privilege ------------------------------------------------------------------------

    def _grant_table(self, function: lambda_.IFunction) -> None:
        """Item-level read/write on the catalog table and its two GSIs, by name (no wildcard)."""
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

    def _grant_objects(
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
        bucket_ref = self.resolve(self.bucket.node.default_child.logical_id)  # type: ignore[union-attr]
        for prefix in prefixes:
            _ack(
                function,
                f"AwsSolutions-IAM5[Resource::<{bucket_ref}.Arn>/{prefix}/*]",
                f"Objects under the {prefix}/ prefix only: keys hold run/item ids unknown at "
                "deploy time.",
            )

    def _acknowledge_function(self, function: lambda_.Function, *, python_runtime: bool) -> None:
        _ack(
            function,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "AWS managed basic execution role: only logs:CreateLogGroup/CreateLogStream/"
            "PutLogEvents for the function's own logs.",
        )
        _ack(
            function,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray active tracing: xray:PutTraceSegments/PutTelemetryRecords support no "
            "resource-level permissions.",
        )
        if python_runtime:
            _ack(
                function,
                "AwsSolutions-L1",
                "Pinned to python3.12: the domain layer and the container images "
                "(public.ecr.aws/lambda/python:3.12) must share one runtime.",
            )

    def _acknowledge_stack_findings(self) -> None:
        handler = self.node.try_find_child(
            "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"
        )
        if handler is not None:
            _ack(
                handler,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]",
                "CDK's bucket-notifications custom resource: basic logging only.",
            )
            _ack(
                handler,
                "AwsSolutions-IAM5[Resource::*]",
                "CDK's bucket-notifications custom resource: s3:PutBucketNotification is "
                "granted by CDK for the stack's buckets at deploy time.",
            )


def _ack(construct: Construct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))
