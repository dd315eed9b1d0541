"""HTTP API (one API Gateway resource per Chalice route, Cognito on all but the public ones),
the web UI (private bucket, CloudFront + OAC, config.json), alarms -> SNS, feature flags and
cfn-lint over the synthesised template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aws_cdk", reason="aws-cdk-lib is not installed: pip install -e '.[infra]'")
pytest.importorskip("chalice", reason="the API routes come from the Chalice app: '.[api]'")

import aws_cdk as cdk
from aws_cdk import assertions

from infra.constructs.api import STAGE, chalice_routes
from tests.infra.conftest import CDK_CONTEXT, REPO_ROOT, resources

PUBLIC = {("/health", "GET"), ("/openapi.json", "GET"), ("/docs", "GET")}


def _paths(template_json: dict[str, Any]) -> dict[str, str]:
    """Logical id of each API Gateway resource (and of the RestApi's root) -> its full path."""
    api_resources = {
        key: r
        for key, r in template_json["Resources"].items()
        if r["Type"] == "AWS::ApiGateway::Resource"
    }
    paths: dict[str, str] = {}

    def path_of(key: str) -> str:
        if key not in paths:
            props = api_resources[key]["Properties"]
            parent = props["ParentId"]
            base = "" if "Fn::GetAtt" in parent else path_of(parent["Ref"])
            paths[key] = f"{base}/{props['PathPart']}"
        return paths[key]

    for key in api_resources:
        path_of(key)
    return paths


def _methods(template_json: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    paths = _paths(template_json)
    found = {}
    for resource in template_json["Resources"].values():
        if resource["Type"] != "AWS::ApiGateway::Method":
            continue
        props = resource["Properties"]
        parent = props["ResourceId"]
        path = paths[parent["Ref"]] if "Ref" in parent else "/"
        found[(path, props["HttpMethod"])] = props
    return found


# -- API -------------------------------------------------------------------------------------
def test_every_chalice_route_is_one_api_gateway_method(template_json: dict[str, Any]) -> None:
    routes = chalice_routes()
    methods = _methods(template_json)
    assert {(r.path, r.method) for r in routes} == {k for k in methods if k[1] != "OPTIONS"}
    assert {(r.path, r.method) for r in routes if r.public} == PUBLIC
    # no catch-all: Chalice routes on requestContext.resourcePath, which must equal its path
    assert not any("{proxy+}" in path for path, _ in methods)
    (function,) = [
        key
        for key, r in template_json["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") == "app.app"
    ]
    for props in methods.values():
        if props["HttpMethod"] == "OPTIONS":
            continue
        integration = props["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert integration["IntegrationHttpMethod"] == "POST"
        assert json.dumps({"Fn::GetAtt": [function, "Arn"]}) in json.dumps(integration["Uri"])


def test_authorizer_on_private_methods_and_not_on_public(template_json: dict[str, Any]) -> None:
    (authorizer,) = [
        key
        for key, r in template_json["Resources"].items()
        if r["Type"] == "AWS::ApiGateway::Authorizer"
    ]
    props = template_json["Resources"][authorizer]["Properties"]
    assert props["Type"] == "COGNITO_USER_POOLS"
    assert props["IdentitySource"] == "method.request.header.Authorization"
    private = 0
    for (path, method), method_props in _methods(template_json).items():
        if (path, method) in PUBLIC or method == "OPTIONS":
            assert method_props["AuthorizationType"] == "NONE", (path, method)
            assert "AuthorizerId" not in method_props
        else:
            assert method_props["AuthorizationType"] == "COGNITO_USER_POOLS", (path, method)
            assert method_props["AuthorizerId"] == {"Ref": authorizer}
            private += 1
    assert private >= 20


def test_cors_preflights_and_gateway_errors_name_the_cloudfront_origin(
    template_json: dict[str, Any],
) -> None:
    origin = json.dumps({"Fn::GetAtt": ["WebCdn4CC4DD0A", "DomainName"]})
    options = [p for (_, m), p in _methods(template_json).items() if m == "OPTIONS"]
    assert options
    for props in options:
        assert props["Integration"]["Type"] == "MOCK"
        headers = props["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        assert origin in json.dumps(headers["method.response.header.Access-Control-Allow-Origin"])
    responses = [
        r["Properties"]
        for r in template_json["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::GatewayResponse"
    ]
    kinds = {r["ResponseType"]: r for r in responses}
    assert set(kinds) == {
        "UNAUTHORIZED",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
        "MISSING_AUTHENTICATION_TOKEN",
    }
    no_route = kinds["MISSING_AUTHENTICATION_TOKEN"]  # an unknown path: 404, as locally
    assert no_route["StatusCode"] == "404"
    assert '"code": "not_found"' in no_route["ResponseTemplates"]["application/json"]
    for response in responses:
        allow = response["ResponseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"]
        assert origin in json.dumps(allow)
        assert '"error"' in response["ResponseTemplates"]["application/json"]


def test_stage_has_throttling_access_logs_and_tracing(template: Any) -> None:
    stages = resources(template, "AWS::ApiGateway::Stage")
    (stage,) = stages.values()
    props = stage["Properties"]
    assert props["StageName"] == STAGE
    assert props["TracingEnabled"] is True
    assert "DestinationArn" in props["AccessLogSetting"]
    (settings,) = props["MethodSettings"]
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False


def test_api_function_is_wired_to_the_ui_origin_export_and_workflow(template: Any) -> None:
    (api,) = [
        f
        for f in resources(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "app.app"
    ]
    props = api["Properties"]
    assert props["Timeout"] <= 29
    env = props["Environment"]["Variables"]
    cors = json.dumps(env["STUDIOLAB_CORS_ORIGINS"])
    assert "https://" in cors and "WebCdn4CC4DD0A" in cors
    assert "export.run" in json.dumps(env["STUDIOLAB_FUNCTIONS"])
    assert "crawl" in json.dumps(env["STUDIOLAB_STATE_MACHINES"])
    # one invoke permission for the whole API (a per-method one would bloat the policy)
    permissions = [
        p["Properties"]
        for p in resources(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    assert len(permissions) == 1


def test_api_docs_page_loads_swagger_ui_from_the_cloudfront_copy(
    synthesized: tuple[Any, Any, Path], template: Any
) -> None:
    """/docs runs under the `api` stage, which serves no static files: the page loads the UI's
    vendored Swagger UI from CloudFront (STUDIOLAB_SWAGGER_UI_URL) - which must be deployed."""
    from studiolab.api.docs import SWAGGER_UI_ENV

    (api,) = [
        f
        for f in resources(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "app.app"
    ]
    url = api["Properties"]["Environment"]["Variables"][SWAGGER_UI_ENV]
    assert url == {
        "Fn::Join": [
            "",
            ["https://", {"Fn::GetAtt": ["WebCdn4CC4DD0A", "DomainName"]}, "/vendor/swagger-ui"],
        ]
    }
    _, _, outdir = synthesized
    manifest = json.loads((outdir / "Studiolab.assets.json").read_text())
    staged = [outdir / f["source"]["path"] for f in manifest["files"].values()]
    (site,) = [d for d in staged if (d / "index.html").is_file()]
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert (site / "vendor" / "swagger-ui" / name).is_file(), name


# -- Cognito ---------------------------------------------------------------------------------
def test_user_pool_and_web_client(template: Any) -> None:
    (pool,) = resources(template, "AWS::Cognito::UserPool").values()
    pool_props = pool["Properties"]
    assert pool_props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool_props["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    assert pool_props["DeletionProtection"] == "ACTIVE"
    (client,) = resources(template, "AWS::Cognito::UserPoolClient").values()
    props = client["Properties"]
    assert sorted(props["AllowedOAuthFlows"]) == ["code", "implicit"]
    assert sorted(props["AllowedOAuthScopes"]) == ["email", "openid"]
    assert props["AllowedOAuthFlowsUserPoolClient"] is True
    assert props.get("GenerateSecret", False) is False
    redirect = {
        "Fn::Join": ["", ["https://", {"Fn::GetAtt": ["WebCdn4CC4DD0A", "DomainName"]}, "/"]]
    }
    assert props["CallbackURLs"] == [redirect]
    assert props["LogoutURLs"] == [redirect]
    (domain,) = resources(template, "AWS::Cognito::UserPoolDomain").values()
    assert "studiolab" in json.dumps(domain["Properties"]["Domain"])


# -- web UI ----------------------------------------------------------------------------------
def test_distribution_serves_the_private_bucket_through_oac_over_https(template: Any) -> None:
    (distribution,) = resources(template, "AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    assert config["DefaultRootObject"] == "index.html"
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"]["Fn::GetAtt"][1] == "Id"
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    # AWS managed "SecurityHeadersPolicy" (HSTS, nosniff, frame options, referrer policy, XSS)
    assert behavior["ResponseHeadersPolicyId"] == "67f7725c-6f97-4210-82d7-5512b31e9d03"
    assert config["Logging"]["Prefix"] == "cloudfront/"
    (oac,) = resources(template, "AWS::CloudFront::OriginAccessControl").values()
    assert oac["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    # the site bucket's policy admits CloudFront for this distribution only
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": assertions.Match.array_with(
                    [
                        assertions.Match.object_like(
                            {
                                "Principal": {"Service": "cloudfront.amazonaws.com"},
                                "Action": "s3:GetObject",
                                "Condition": assertions.Match.object_like(
                                    {"StringEquals": assertions.Match.any_value()}
                                ),
                            }
                        )
                    ]
                )
            }
        },
    )


def test_site_is_deployed_with_a_generated_config_json(
    synthesized: tuple[Any, Any, Path], template: Any
) -> None:
    _, _, outdir = synthesized
    (deployment,) = resources(template, "Custom::CDKBucketDeployment").values()
    props = deployment["Properties"]
    assert props["DistributionPaths"] == ["/*"]
    assert props["RetainOnDelete"] is False
    manifest = json.loads((outdir / "Studiolab.assets.json").read_text())
    staged = [outdir / f["source"]["path"] for f in manifest["files"].values()]
    (config_dir,) = [d for d in staged if (d / "config.json").is_file()]
    (site,) = [d for d in staged if (d / "index.html").is_file()]
    assert not (site / "config.json").exists()  # ours is the only one
    text = (config_dir / "config.json").read_text()
    markers = next(m for m in props["SourceMarkers"] if m)
    resolved = {name: json.dumps(value) for name, value in markers.items()}
    for name, value in resolved.items():
        text = text.replace(name, json.dumps(value))  # every marker becomes a JSON string
    config = json.loads(text)
    assert set(config) == {"apiBase", "cognito"}
    assert set(config["cognito"]) == {"domain", "clientId", "redirectUri"}
    api_base = json.loads(config["apiBase"])["Fn::Join"][1]
    assert api_base[0] == '"https://' and api_base[-1] == f'/{STAGE}"'  # no trailing slash
    domain = json.loads(config["cognito"]["domain"])["Fn::Join"][1]
    assert (
        domain[0] == '"https://'
        and domain[2] == ".auth."
        and domain[-1].startswith(".amazoncognito.com")
    )
    assert "AuthUsersWeb" in config["cognito"]["clientId"]
    redirect = json.loads(config["cognito"]["redirectUri"])["Fn::Join"][1]
    assert redirect[1] == {"Fn::GetAtt": ["WebCdn4CC4DD0A", "DomainName"]}
    assert redirect[-1] == '/"'


def test_signed_uploads_are_allowed_from_the_ui_origin(template: Any) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "CorsConfiguration": {
                "CorsRules": assertions.Match.array_with(
                    [
                        assertions.Match.object_like(
                            {
                                "AllowedMethods": ["PUT"],
                                "AllowedOrigins": [
                                    {
                                        "Fn::Join": [
                                            "",
                                            [
                                                "https://",
                                                {"Fn::GetAtt": ["WebCdn4CC4DD0A", "DomainName"]},
                                            ],
                                        ]
                                    }
                                ],
                            }
                        )
                    ]
                )
            }
        },
    )


# -- alarms ----------------------------------------------------------------------------------
def test_every_alarm_notifies_the_topic(template: Any) -> None:
    (topic,) = resources(template, "AWS::SNS::Topic")
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) > 20
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic}]
    metrics = {a["Properties"]["MetricName"] for a in alarms.values()}
    assert "5XXError" in metrics
    assert not resources(template, "AWS::SNS::Subscription")  # no e-mail in cdk.json


def test_alarm_email_from_context_subscribes() -> None:
    from aws_cdk import aws_apigateway as apigw
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_sqs as sqs
    from aws_cdk import aws_stepfunctions as sfn

    from infra.constructs.monitoring import Alarms

    stack = cdk.Stack(cdk.App(context=CDK_CONTEXT), "Probe")
    function = lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c): return e"),
    )
    api = apigw.RestApi(stack, "Api")
    api.root.add_method("GET", apigw.MockIntegration())
    Alarms(
        stack,
        "Alarms",
        dlq=sqs.Queue(stack, "Dlq"),
        state_machine=sfn.StateMachine(
            stack, "Sm", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P"))
        ),
        functions={"Fn": function},
        rest_api=api,
        email="ops@example.com",
    )
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )


# -- cdk.json, cfn-lint ----------------------------------------------------------------------
def test_cdk_json_records_the_clis_recommended_feature_flags(
    synthesized: tuple[Any, Any, Path],
) -> None:
    flags_file = (
        REPO_ROOT / "node_modules/aws-cdk/lib/init-templates/.recommended-feature-flags.json"
    )
    if not flags_file.is_file():
        pytest.skip("node_modules absent: run `npm ci` (or `make synth`)")
    stack = synthesized[0]
    for flag, value in json.loads(flags_file.read_text()).items():
        assert CDK_CONTEXT.get(flag) == value, flag
        assert stack.node.try_get_context(flag) == value, flag
    assert CDK_CONTEXT["@aws-cdk/core:validateAgainstDefaultRules"] is True


def test_cfn_lint_finds_nothing_but_cdks_explicit_role_dependencies(
    synthesized: tuple[Any, Any, Path],
) -> None:
    """cfn-lint (pinned in the infra extra) over the template, the ASL definition included.

    Ignored: W3005 ("DependsOn already enforced by a GetAtt"), a warning: CDK adds an explicit
    DependsOn from each Lambda to its role's default policy and role on purpose (the policy
    must exist before the function runs); it is redundancy, not an error. Nothing else is
    ignored, and there are zero errors."""
    pytest.importorskip("cfnlint", reason="cfn-lint is not installed: pip install -e '.[infra]'")
    from cfnlint.api import ManualArgs, lint_file

    template_file = synthesized[2] / "Studiolab.template.json"
    everything = lint_file(template_file)
    assert {match.rule.id for match in everything} <= {"W3005"}, everything
    assert lint_file(template_file, config=ManualArgs(ignore_checks=["W3005"])) == []
