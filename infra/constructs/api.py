"""The HTTP API: the Chalice app (functions/api/app.py) as one zip Lambda behind API Gateway,
with a Cognito user pool authorizer on every route but the public ones.

Chalice dispatches on the API Gateway *resource path* (`requestContext.resourcePath`), so a
single `{proxy+}` resource would not route. The resources are generated from the app's own
route table instead (`app.routes`, imported at synth: the Chalice app stays the single source
of routes), one resource + method per Chalice route, all on one Lambda proxy integration.
Public routes are the ones the routing layer declares `public=True` (health, OpenAPI, docs).

Browser access: the UI (CloudFront origin) gets CORS preflights (a MOCK OPTIONS method per
resource, no authorizer) and CORS headers on API Gateway's own 4XX/5XX replies (e.g. the
authorizer's 401, reshaped to the API's `{"error": {...}}` body); the function itself learns
the origin from STUDIOLAB_CORS_ORIGINS. Payloads: API Gateway caps requests at 10 MB and
Lambda's synchronous payload at 6 MB; the app refuses JSON bodies over 1 MB and images go
straight to S3 through signed PUT URLs, so no binary media types are configured."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Aws, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.nag import ack

REPO_ROOT = Path(__file__).resolve().parents[2]
API_APP = REPO_ROOT / "functions" / "api" / "app.py"
STAGE = "api"
THROTTLE_RATE = 50  # requests/s, steady state, per stage
THROTTLE_BURST = 100


@dataclass(frozen=True, order=True)
class Route:
    path: str
    method: str
    public: bool


def chalice_routes(app_file: Path = API_APP) -> list[Route]:
    """Every (path, method) of the Chalice app; `public` from the routing layer's RouteSpecs.

    A Chalice route the routing layer does not know (registered with a bare `@app.route`)
    counts as private: the authorizer is the safe default."""
    spec = importlib.util.spec_from_file_location("studiolab_infra_api_app", app_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    public = {(r.path, r.method.upper()) for r in module.api.routes if r.public}
    app: Any = module.app
    return sorted(
        Route(path, method.upper(), (path, method.upper()) in public)
        for path, methods in app.routes.items()
        for method in methods
    )


class Auth(Construct):
    """Cognito user pool (admin-created users), hosted-UI domain and the web UI's client."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        redirect_uri: str,
        domain_prefix: str | None,
        deletion_protection: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            deletion_protection=deletion_protection,
            removal_policy=RemovalPolicy.RETAIN,
        )
        ack(
            self.user_pool,
            "AwsSolutions-COG2",
            "MFA is optional (TOTP offered, no SMS): users are created by an admin; enforce it "
            "per deployment if the data warrants it.",
        )
        ack(
            self.user_pool,
            "AwsSolutions-COG8",
            "Essentials feature plan: the Plus plan (threat protection) is billed per monthly "
            "active user and not justified for a small admin-managed user pool.",
        )
        ack(
            self.user_pool,
            "AwsSolutions-COG3",
            "Threat protection (advanced security) needs the Plus feature plan, billed per "
            "monthly active user: not justified for a small admin-managed user pool.",
        )
        prefix = domain_prefix or Fn.join("-", ["studiolab", Aws.ACCOUNT_ID])
        self.domain = self.user_pool.add_domain(
            "Domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=prefix)
        )
        self.client = self.user_pool.add_client(
            "Web",
            generate_secret=False,
            # SRP for the hosted UI; USER_PASSWORD_AUTH lets a script or the CLI get tokens
            auth_flows=cognito.AuthFlow(user_srp=True, user_password=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(implicit_code_grant=True, authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
                callback_urls=[redirect_uri],
                logout_urls=[redirect_uri],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )
        self.domain_url = self.domain.base_url()


class HttpApi(Construct):
    """REST API (regional, stage `api`): one resource + method per Chalice route."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        user_pool: cognito.IUserPool,
        cors_origin: str,
        routes: list[Route],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.rest_api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"{stack.stack_name}-api",
            description="studiolab HTTP API (Chalice app, routes generated from app.routes)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            # account-wide setting: keep the role on teardown so other APIs keep logging
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
                throttling_rate_limit=THROTTLE_RATE,
                throttling_burst_limit=THROTTLE_BURST,
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=[cors_origin],
                allow_methods=sorted({r.method for r in routes}),
                allow_headers=["Authorization", "Content-Type"],
                max_age=Duration.hours(1),
            ),
        )
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self,
            "Authorizer",
            cognito_user_pools=[user_pool],
            results_cache_ttl=Duration.minutes(5),
        )
        integration = apigw.LambdaIntegration(
            function, proxy=True, scope_permission_to_method=False
        )
        self.methods: dict[tuple[str, str], apigw.Method] = {}
        for route in routes:
            resource = self.rest_api.root.resource_for_path(route.path)
            options: dict[str, Any] = (
                {"authorization_type": apigw.AuthorizationType.NONE}
                if route.public
                else {
                    "authorizer": self.authorizer,
                    "authorization_type": apigw.AuthorizationType.COGNITO,
                }
            )
            method = resource.add_method(route.method, integration, **options)
            self.methods[(route.path, route.method)] = method
            if route.public:
                _ack_public(method, f"{route.method} {route.path} is public by design")
        for method in self.rest_api.methods:
            if method.http_method == "OPTIONS":
                _ack_public(method, "CORS preflight (MOCK integration, no backend)")
        self._gateway_responses(cors_origin)
        ack(
            self.rest_api,
            "AwsSolutions-APIG2",
            "Requests are validated by the Chalice app against its pydantic models (the single "
            "source of routes and schemas); a second, API Gateway copy would drift.",
        )
        ack(
            self.rest_api,
            "AwsSolutions-APIG3",
            "No WAF web ACL: Cognito on every data route plus stage throttling; a WAF (about "
            "$5+/month) can be attached per deployment.",
        )
        ack(
            self.rest_api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level CloudWatch role (execution logs): the AWS managed "
            "policy is the documented one.",
        )
        self.url = Fn.join(
            "",
            [
                "https://",
                self.rest_api.rest_api_id,
                ".execute-api.",
                Aws.REGION,
                ".",
                Aws.URL_SUFFIX,
                f"/{STAGE}",
            ],
        )

    def _gateway_responses(self, cors_origin: str) -> None:
        """API Gateway's own errors carry CORS headers and the API's error body shape."""
        headers = {"Access-Control-Allow-Origin": f"'{cors_origin}'", "Vary": "'Origin'"}
        body = '{"error": {"code": "%s", "message": $context.error.messageString}}'
        for construct_id, kind, code in (
            ("Unauthorized", apigw.ResponseType.UNAUTHORIZED, "unauthorized"),
            ("Default4xx", apigw.ResponseType.DEFAULT_4_XX, "gateway_error"),
            ("Default5xx", apigw.ResponseType.DEFAULT_5_XX, "gateway_error"),
        ):
            self.rest_api.add_gateway_response(
                construct_id,
                type=kind,
                response_headers=headers,
                templates={"application/json": body % code},
            )
        # No resource or method matches: API Gateway says 403 "Missing Authentication Token";
        # the API (and `studiolab up`) says 404 not_found.
        self.rest_api.add_gateway_response(
            "NoRoute",
            type=apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
            status_code="404",
            response_headers=headers,
            templates={
                "application/json": '{"error": {"code": "not_found", "message": '
                '"no route for $context.httpMethod $context.path"}}'
            },
        )


def _ack_public(method: apigw.Method, reason: str) -> None:
    for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
        ack(method, rule, f"{reason}: no authorizer on this method.")
