"""The studiolab stack: storage, domain layers, crawl workflow, image pipeline, export, the
HTTP API with Cognito, the web UI on CloudFront, alarms with an SNS topic.

Environment-agnostic (no account/region, no lookups): `cdk synth` works offline. Each part
lives in infra/constructs/; this module wires them together and names the outputs.

Context keys (cdk.json or `-c`, parsed by infra/constructs/settings.py):
`studiolab:deletionProtection` (table + user pool, default true),
`studiolab:corsAllowedOrigins` (extra origins for signed uploads, e.g. the local UI),
`studiolab:imageReservedConcurrency` (vision and palette, default 10; `none` for no
reservation), `studiolab:logLevel` (default INFO), `studiolab:cognitoDomainPrefix` (default
`studiolab-<account id>`), `studiolab:alarmEmail` (optional subscription)."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

from infra.constructs import storage
from infra.constructs.api import Auth, HttpApi, chalice_routes
from infra.constructs.domain_layer import DomainLayer
from infra.constructs.functions import Functions, image_asset_excludes
from infra.constructs.monitoring import Alarms
from infra.constructs.nag import acknowledge_cdk_singleton
from infra.constructs.settings import Settings
from infra.constructs.web import WebUi, site_config
from infra.constructs.workflow import CRAWL_STEPS, crawl_workflow
from studiolab.domain.blobkeys import STAGES

__all__ = ["CRAWL_STEPS", "EXPORT_TOPIC", "StudiolabStack", "image_asset_excludes"]

EXPORT_TOPIC = "export.run"


class StudiolabStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings = Settings.from_context(self.node.try_get_context)
        self.deletion_protection = settings.deletion_protection
        origins = settings.cors_allowed_origins

        self.access_logs = storage.access_log_bucket(self)
        self.bucket = storage.data_bucket(self, self.access_logs, origins)
        self.table = storage.catalog_table(self, deletion_protection=self.deletion_protection)
        self.dlq = storage.dead_letter_queue(self)
        self.domain_layer = DomainLayer(self, "DomainLayer")
        self.functions = Functions(
            self,
            table=self.table,
            bucket=self.bucket,
            dlq=self.dlq,
            layers=self.domain_layer.layers,
            log_level=settings.log_level,
        )

        self.export_function = self._export_function()
        self.crawl = crawl_workflow(self, self.functions)
        self.crawl_steps, self.reconciler = self.crawl.steps, self.crawl.reconciler
        self.state_machine = self.crawl.state_machine
        self.vision, self.palette = self._image_pipeline(settings.image_reserved_concurrency)

        self.web = WebUi(self, "Web", access_logs=self.access_logs)
        self.bucket.add_cors_rule(**vars_of(storage.upload_cors_rule([self.web.origin])))
        self.auth = Auth(
            self,
            "Auth",
            redirect_uri=self.web.url,
            domain_prefix=settings.cognito_domain_prefix,
            deletion_protection=self.deletion_protection,
        )
        self.api_function = self._api_function(self.web.origin, self.web.swagger_ui_url)
        self.api = HttpApi(
            self,
            "Http",
            function=self.api_function,
            user_pool=self.auth.user_pool,
            cors_origin=self.web.origin,
            routes=chalice_routes(),
        )
        self.web.deploy(
            site_config(
                api_base=self.api.url,
                cognito_domain=self.auth.domain_url,
                client_id=self.auth.client.user_pool_client_id,
                redirect_uri=self.web.url,
            )
        )
        self.alarms = Alarms(
            self,
            "Alarms",
            dlq=self.dlq,
            state_machine=self.state_machine,
            functions={
                "Api": self.api_function,
                "Export": self.export_function,
                "Reconcile": self.reconciler,
                "Vision": self.vision,
                "Palette": self.palette,
                **{key.removesuffix("Arn"): fn for key, fn in self.crawl_steps.items()},
            },
            rest_api=self.api.rest_api,
            email=settings.alarm_email,
        )
        self._outputs()
        self._acknowledge_stack_findings()

    # functions ------------------------------------------------------------------------------

    def _export_function(self) -> lambda_.Function:
        functions = self.functions
        function = functions.zip_function(
            "Export",
            "export",
            "handler.lambda_handler",
            environment=functions.environment("export"),
            timeout=Duration.minutes(15),
            memory_size=1024,
            asynchronous=True,
        )
        functions.grant_table(function)
        functions.grant_objects(function, ["s3:GetObject"], "raw", "cutout")
        functions.grant_objects(function, ["s3:PutObject", "s3:GetObject"], "exports")
        return function

    def _api_function(self, cors_origin: str, swagger_ui_url: str) -> lambda_.Function:
        functions = self.functions
        function = functions.zip_function(
            "Api",
            "api",
            "app.app",
            environment=functions.environment(
                "api",
                STUDIOLAB_FUNCTIONS=self.to_json_string(
                    {EXPORT_TOPIC: self.export_function.function_name}
                ),
                STUDIOLAB_STATE_MACHINES=self.crawl.machines_env(self),
                STUDIOLAB_CORS_ORIGINS=self.to_json_string([cors_origin]),
                # /docs (the API's Swagger UI page) loads the UI's files from CloudFront
                STUDIOLAB_SWAGGER_UI_URL=swagger_ui_url,
            ),
            timeout=Duration.seconds(29),  # API Gateway's integration timeout
            memory_size=1024,
        )
        functions.grant_table(function)
        # signed GET URLs and deletes on every item stage; signed PUT URLs for uploads (raw/)
        functions.grant_objects(function, ["s3:GetObject", "s3:DeleteObject"], *STAGES)
        functions.grant_objects(function, ["s3:PutObject"], "raw", "uploads")
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[self.export_function.function_arn],
            )
        )
        self.crawl.grant_control(function)
        return function

    def _image_pipeline(self, concurrency: int | None) -> tuple[lambda_.DockerImageFunction, ...]:
        """Sized to the models: vision runs U2-Net (u2netp, ~0.5 s per 800x1200 image on one
        core) + MediaPipe pose, 3008 MB (~1.7 vCPUs; OMP_NUM_THREADS=2 in its image); palette
        is NumPy/scikit-learn on the cut-out, 2048 MB. Cold starts load the models, hence
        2 minutes. Both are invoked asynchronously by S3: 2 retries, then the DLQ."""
        functions = self.functions
        vision = functions.image_function(
            "vision", memory_size=3008, timeout=Duration.minutes(2), reserved=concurrency
        )
        palette = functions.image_function(
            "palette", memory_size=2048, timeout=Duration.minutes(2), reserved=concurrency
        )
        functions.grant_objects(vision, ["s3:GetObject"], "raw")
        functions.grant_objects(vision, ["s3:PutObject"], "cutout", "thumb")
        functions.grant_objects(palette, ["s3:GetObject"], "cutout")
        functions.grant_objects(palette, ["s3:PutObject"], "masks")
        for function, prefix in ((vision, "raw/"), (palette, "cutout/")):
            self.bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED,
                s3n.LambdaDestination(function),
                s3.NotificationKeyFilter(prefix=prefix),
            )
        return vision, palette

    # outputs --------------------------------------------------------------------------------

    def _outputs(self) -> None:
        outputs = {
            "WebUrl": (self.web.url, "The management UI (CloudFront)"),
            "ApiUrl": (self.api.url, "API base URL (no trailing slash); docs at <ApiUrl>/docs"),
            "UserPoolId": (self.auth.user_pool.user_pool_id, "Cognito user pool (users)"),
            "UserPoolClientId": (self.auth.client.user_pool_client_id, "Web UI app client"),
            "CognitoDomain": (self.auth.domain_url, "Cognito hosted UI"),
            "BucketName": (self.bucket.bucket_name, "Images and exports"),
            "WebBucketName": (self.web.bucket.bucket_name, "Static UI files"),
            "TableName": (self.table.table_name, "Catalog table"),
            "CrawlStateMachineArn": (self.state_machine.state_machine_arn, "Crawl workflow"),
            "AlarmTopicArn": (self.alarms.topic.topic_arn, "Subscribe here for alarms"),
            "Functions": (
                self.to_json_string({EXPORT_TOPIC: self.export_function.function_name}),
                "STUDIOLAB_FUNCTIONS for the API (topic -> function name)",
            ),
        }
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)

    def _acknowledge_stack_findings(self) -> None:
        handler = self.node.try_find_child(
            "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"
        )
        if handler is not None:
            acknowledge_cdk_singleton(
                handler,
                "bucket-notifications",
                star_reason="s3:PutBucketNotification is granted by CDK for the stack's "
                "buckets at deploy time.",
            )


def vars_of(rule: s3.CorsRule) -> dict[str, Any]:
    """CorsRule (a struct) -> keyword arguments of Bucket.add_cors_rule."""
    return {
        "allowed_methods": rule.allowed_methods,
        "allowed_origins": rule.allowed_origins,
        "allowed_headers": rule.allowed_headers,
        "exposed_headers": rule.exposed_headers,
        "max_age": rule.max_age,
    }
