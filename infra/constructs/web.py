"""The management UI: a private S3 bucket served by CloudFront through origin access control
(HTTPS only, AWS's managed security-headers policy, index.html as root), the web/ folder
deployed with BucketDeployment plus a generated `config.json` that tells the UI where the
API and the Cognito hosted UI are:

    {"apiBase": "<API invoke URL, no trailing slash>",
     "cognito": {"domain": "https://<prefix>.auth.<region>.amazoncognito.com",
                 "clientId": "<user pool client id>", "redirectUri": "https://<cf domain>/"}}

The distribution is built first (its domain feeds the Cognito client, the API's CORS origin and
the API's Swagger UI page, which loads web/vendor/swagger-ui from here); `deploy()` adds the
content once the API and the user pool exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.constructs.nag import ack, acknowledge_cdk_singleton

REPO_ROOT = Path(__file__).resolve().parents[2]
WEB_DIR = REPO_ROOT / "web"
CONFIG_FILE = "config.json"
# Swagger UI files (vendored from swagger-ui-dist): the API's /docs page loads them from here
SWAGGER_UI_DIR = "vendor/swagger-ui"
WEB_EXCLUDES = [CONFIG_FILE, "**/.DS_Store", "**/*.map", "**/node_modules"]
# CDK's BucketDeployment handler role gets wildcard actions from grantRead/grantReadWrite.
# What its code (index.py) calls: `aws s3 cp` of the source zip (HeadObject/GetObject),
# `aws s3 sync --delete` and `aws s3 rm --recursive` on the site bucket (ListObjectsV2,
# HeadObject, PutObject incl. multipart, DeleteObject), s3.head_object and
# s3.get_bucket_tagging (its "bucket owned" check). Each wildcard becomes those actions.
DEPLOYMENT_ACTIONS: dict[str, list[str]] = {
    "s3:GetObject*": ["s3:GetObject"],
    "s3:GetBucket*": ["s3:GetBucketLocation", "s3:GetBucketTagging"],
    "s3:List*": ["s3:ListBucket"],
    "s3:DeleteObject*": ["s3:DeleteObject"],
    "s3:Abort*": ["s3:AbortMultipartUpload"],
}


def site_config(
    *, api_base: str, cognito_domain: str, client_id: str, redirect_uri: str
) -> dict[str, Any]:
    """The exact shape web/js reads from config.json."""
    return {
        "apiBase": api_base,
        "cognito": {"domain": cognito_domain, "clientId": client_id, "redirectUri": redirect_uri},
    }


class WebUi(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, access_logs: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Site",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="web/",
            # Only built files live here; BucketDeployment empties it when the stack goes.
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Cdn",
            comment="studiolab management UI",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
                compress=True,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=access_logs,
            log_file_prefix="cloudfront/",
        )
        self.origin = f"https://{self.distribution.distribution_domain_name}"
        self.url = f"{self.origin}/"
        # for the API function (STUDIOLAB_SWAGGER_UI_URL): the API itself does not serve them
        self.swagger_ui_url = f"{self.origin}/{SWAGGER_UI_DIR}"
        ack(
            self.distribution,
            "AwsSolutions-CFR1",
            "No geo restriction: the UI is for the operator's own users wherever they are; "
            "every data call needs a Cognito token.",
        )
        ack(
            self.distribution,
            "AwsSolutions-CFR2",
            "No WAF on static files (read-only, no backend behind this distribution).",
        )
        ack(
            self.distribution,
            "AwsSolutions-CFR4",
            "The default *.cloudfront.net certificate allows no minimum TLS version setting; "
            "add a custom domain + ACM certificate to require TLSv1.2_2021.",
        )

    def deploy(self, config: dict[str, Any]) -> s3deploy.BucketDeployment:
        deployment = s3deploy.BucketDeployment(
            self,
            "Deploy",
            sources=[
                s3deploy.Source.asset(str(WEB_DIR), exclude=WEB_EXCLUDES),
                s3deploy.Source.json_data(CONFIG_FILE, config),
            ],
            destination_bucket=self.bucket,
            distribution=self.distribution,
            distribution_paths=["/*"],
            retain_on_delete=False,
            memory_limit=256,
        )
        stack = Stack.of(self)
        site = stack.resolve(self.bucket.node.default_child.logical_id)  # type: ignore[union-attr]
        for child in stack.node.children:
            if not child.node.id.startswith("Custom::CDKBucketDeployment"):
                continue
            explicit_deployment_actions(child)
            acknowledge_cdk_singleton(
                child,
                "BucketDeployment",
                star_reason="cloudfront:CreateInvalidation/GetInvalidation support no "
                "resource-level permissions in CDK's handler policy.",
            )
            for finding in (
                "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-"
                "<AWS::Region>/*",
                f"Resource::<{site}.Arn>/*",
            ):
                ack(
                    child,
                    f"AwsSolutions-IAM5[{finding}]",
                    "CDK's BucketDeployment grants: read the web/ asset from the bootstrap "
                    "staging bucket, then sync (write + prune) every object of the site bucket, "
                    "which holds nothing but the UI.",
                )
        return deployment


def explicit_deployment_actions(handler: Any) -> None:
    """Rewrite the BucketDeployment handler's policy with DEPLOYMENT_ACTIONS (no `*` action
    anywhere in the stack). Called once its grants are all made; an action CDK adds in a later
    version that is not in the map fails synth here instead of slipping through."""
    assert isinstance(handler, lambda_.Function) and isinstance(handler.role, iam.Role)
    policy = handler.role.node.find_child("DefaultPolicy")
    assert isinstance(policy, iam.Policy)
    stack = Stack.of(handler)
    document = stack.resolve(policy.document)
    for statement in document["Statement"]:
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        explicit: list[str] = []
        for action in actions:
            if "*" in action and action not in DEPLOYMENT_ACTIONS:
                raise ValueError(f"BucketDeployment: no explicit actions for {action}")
            for name in DEPLOYMENT_ACTIONS.get(action, [action]):
                if name not in explicit:
                    explicit.append(name)
        statement["Action"] = sorted(explicit) if len(explicit) > 1 else explicit[0]
    cfn_policy = policy.node.default_child
    assert isinstance(cfn_policy, iam.CfnPolicy)
    cfn_policy.policy_document = document
