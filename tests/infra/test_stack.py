"""The CDK stack (infra/): Template assertions on storage, functions, notifications, the
workflow and IAM, cdk-nag (AwsSolutions) clean, and the pinned CLI's offline `cdk synth`.
The session synth lives in conftest.py (context from cdk.json)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

cdk = pytest.importorskip(
    "aws_cdk", reason="aws-cdk-lib is not installed: pip install -e '.[infra]' (make install-dev)"
)
pytest.importorskip("cdk_nag", reason="cdk-nag is not installed: pip install -e '.[infra]'")

from aws_cdk import assertions  # noqa: E402

from infra.stacks.studiolab_stack import CRAWL_STEPS, image_asset_excludes  # noqa: E402
from studiolab.adapters.aws import table_schema  # noqa: E402
from tests.infra.conftest import CDK_CONTEXT, REPO_ROOT, resources, statements  # noqa: E402

pytestmark = pytest.mark.pypi


def ours(template: Any) -> dict[str, Any]:
    """Our Lambda functions (CDK's own custom-resource handlers carry no STUDIOLAB_MODE)."""
    return {
        key: function
        for key, function in resources(template, "AWS::Lambda::Function").items()
        if "STUDIOLAB_MODE" in function["Properties"].get("Environment", {}).get("Variables", {})
    }


def test_data_bucket_is_private_encrypted_and_tls_only(template: Any) -> None:
    buckets = resources(template, "AWS::S3::Bucket")
    assert len(buckets) == 3  # data, web UI, access logs
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    policies = resources(template, "AWS::S3::BucketPolicy")
    assert len(policies) == 3
    for policy in policies.values():
        denies = [
            s
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if s["Effect"] == "Deny"
            and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert denies, "no TLS-only statement"


def test_data_bucket_lifecycle_and_cors(template: Any) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": assertions.Match.array_with(
                    [
                        assertions.Match.object_like({"Prefix": "exports/", "Status": "Enabled"}),
                        assertions.Match.object_like({"Prefix": "state/", "Status": "Enabled"}),
                    ]
                )
            },
            "CorsConfiguration": {
                "CorsRules": assertions.Match.array_with(
                    [assertions.Match.object_like({"AllowedMethods": ["PUT"]})]
                )
            },
        },
    )


def test_table_is_built_from_table_schema(template: Any) -> None:
    tables = resources(template, "AWS::DynamoDB::Table")
    assert len(tables) == 1
    props = next(iter(tables.values()))["Properties"]
    assert props["KeySchema"] == table_schema.KEY_SCHEMA
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        table_schema.ATTRIBUTE_DEFINITIONS, key=lambda a: a["AttributeName"]
    )
    assert props["GlobalSecondaryIndexes"] == table_schema.GLOBAL_SECONDARY_INDEXES
    assert props["BillingMode"] == table_schema.BILLING_MODE
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    ttl = getattr(table_schema, "TTL_ATTRIBUTE", "ttl")  # infra.constructs.storage's default
    assert props["TimeToLiveSpecification"] == {"AttributeName": ttl, "Enabled": True}


def test_zip_lambdas_are_python312_with_the_domain_layers(template: Any) -> None:
    functions = ours(template)
    zipped = {k: f for k, f in functions.items() if f["Properties"].get("PackageType") != "Image"}
    images = {k: f for k, f in functions.items() if f["Properties"].get("PackageType") == "Image"}
    assert len(zipped) == 1 + len(CRAWL_STEPS) + 1 + 1  # export, steps, reconciler, API
    assert len(images) == 2  # vision, palette
    layers = {
        key
        for key, layer in resources(template, "AWS::Lambda::LayerVersion").items()
        if "studiolab" in layer["Properties"].get("Description", "")
    }
    assert len(layers) == 2  # third-party wheels + the studiolab package
    for function in zipped.values():
        props = function["Properties"]
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["x86_64"]
        assert {ref["Ref"] for ref in props["Layers"]} == layers
        assert props["TracingConfig"] == {"Mode": "Active"}
        env = props["Environment"]["Variables"]
        assert env["STUDIOLAB_MODE"] == "aws"
        assert {"STUDIOLAB_TABLE_NAME", "STUDIOLAB_BUCKET_NAME"} <= env.keys()
    handlers = {f["Properties"]["Handler"] for f in zipped.values()}
    assert {f"handler.{h}" for h in CRAWL_STEPS.values()} | {
        "handler.reconcile",
        "handler.lambda_handler",
        "app.app",
    } == handlers
    for function in images.values():
        assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}
    # async invocations (S3 -> images, API -> export) end in the DLQ
    dlq_users = [f for f in functions.values() if "DeadLetterConfig" in f["Properties"]]
    assert len(dlq_users) == 3


def test_s3_notifications_route_raw_and_cutout(template: Any) -> None:
    notifications = resources(template, "Custom::S3BucketNotifications")
    assert len(notifications) == 1
    configs = next(iter(notifications.values()))["Properties"]["NotificationConfiguration"]
    lambdas = configs["LambdaFunctionConfigurations"]
    prefixes = sorted(
        c["Filter"]["Key"]["FilterRules"][0]["Value"]
        for c in lambdas
        if c["Events"] == ["s3:ObjectCreated:*"]
    )
    assert prefixes == ["cutout/", "raw/"]


def test_state_machine_substitutes_every_step_arn(template: Any) -> None:
    machines = resources(template, "AWS::StepFunctions::StateMachine")
    assert len(machines) == 1
    props = next(iter(machines.values()))["Properties"]
    asl = (REPO_ROOT / "infra" / "statemachines" / "crawl.asl.json").read_text()
    for placeholder in CRAWL_STEPS:
        assert "${" + placeholder + "}" in asl
        sub = props["DefinitionSubstitutions"][placeholder]
        assert sub["Fn::GetAtt"][1] == "Arn"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"


def test_reconciler_schedule_and_alarms(template: Any) -> None:
    template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(5 minutes)"})
    template.has_resource_properties(
        "AWS::Events::Rule",
        {"EventPattern": assertions.Match.object_like({"source": ["aws.states"]})},
    )
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    metrics = {a["Properties"]["MetricName"] for a in alarms.values()}
    assert {"ApproximateNumberOfMessagesVisible", "ExecutionsFailed", "Errors", "Throttles"} <= (
        metrics
    )


def test_outputs_name_every_entry_point(template: Any) -> None:
    outputs = template.find_outputs("*")
    assert {
        "WebUrl",
        "ApiUrl",
        "UserPoolId",
        "UserPoolClientId",
        "CognitoDomain",
        "BucketName",
        "TableName",
        "CrawlStateMachineArn",
        "AlarmTopicArn",
    } <= outputs.keys()


def test_no_iam_statement_allows_every_action(template: Any) -> None:
    found = statements(template)
    assert found
    for statement in found:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        assert "*" not in actions, statement
        assert not any(a.endswith(":*") for a in actions), statement


def test_data_bucket_object_grants_are_prefix_scoped(template: Any) -> None:
    (data,) = [
        key
        for key, bucket in resources(template, "AWS::S3::Bucket").items()
        if "NotificationConfiguration" in bucket["Properties"]
        or "CorsConfiguration" in bucket["Properties"]
    ]
    checked = 0
    for statement in statements(template):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject") for a in actions):
            continue
        targets = statement["Resource"]
        targets = targets if isinstance(targets, list) else [targets]
        for target in targets:
            join = target.get("Fn::Join", ["", [{}]])[1] if isinstance(target, dict) else []
            if not any(part == {"Fn::GetAtt": [data, "Arn"]} for part in join):
                continue  # CDK's BucketDeployment syncs the whole web UI bucket
            suffix = join[-1]
            assert suffix.startswith("/") and suffix.endswith("/*") and len(suffix) > 3
            checked += 1
    assert checked > 10


def test_cdk_nag_reports_no_unacknowledged_findings(synthesized: tuple[Any, Any, Path]) -> None:
    stack, _, outdir = synthesized
    errors = assertions.Annotations.from_stack(stack).find_error(
        "*", assertions.Match.string_like_regexp("AwsSolutions-.*")
    )
    assert errors == []
    report = json.loads((outdir / "validation-report.json").read_text())
    for plugin in report["pluginReports"]:
        assert plugin["conclusion"] == "success", plugin["pluginName"]
        assert plugin["violations"] == []


def test_cdk_nag_is_active(tmp_path: Path) -> None:
    """The plugin really runs: an unacknowledged finding fails synth."""
    from aws_cdk import aws_s3 as s3

    app = cdk.App(context=CDK_CONTEXT, outdir=str(tmp_path))
    stack = cdk.Stack(app, "Probe")
    s3.Bucket(stack, "Naked")
    from cdk_nag import AwsSolutionsChecks

    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match=r"AwsSolutions-S1\b"):
        app.synth()


def test_image_assets_stage_only_what_the_dockerfiles_copy(
    synthesized: tuple[Any, Any, Path],
) -> None:
    _, _, outdir = synthesized
    manifest = json.loads((outdir / "Studiolab.assets.json").read_text())
    images = manifest["dockerImages"]
    assert len(images) == 2
    for image in images.values():
        staged = outdir / image["source"]["directory"]
        top = {p.name for p in staged.iterdir()}
        name = Path(image["source"]["dockerFile"]).parent.name
        expected = {"pyproject.toml", "README.md", "layers", "containers", "functions"}
        if name == "vision" and (REPO_ROOT / "models" / "u2netp.onnx").exists():
            expected.add("models")
        assert top == expected, (name, top)
        assert {p.name for p in (staged / "functions").iterdir()} == {name}
        assert not list(staged.rglob("__pycache__"))
    assert image_asset_excludes("palette")[0] == "*"


def test_package_layer_holds_the_domain_package(synthesized: tuple[Any, Any, Path]) -> None:
    _, _, outdir = synthesized
    manifest = json.loads((outdir / "Studiolab.assets.json").read_text())
    staged = [outdir / f["source"]["path"] for f in manifest["files"].values()]
    layers = [d for d in staged if (d / "python" / "studiolab" / "__init__.py").is_file()]
    assert len(layers) == 1
    package = layers[0] / "python" / "studiolab"
    assert (package / "adapters" / "aws" / "table_schema.py").is_file()
    assert not list(package.rglob("__pycache__"))


def test_cdk_cli_synth_offline(tmp_path: Path) -> None:
    cli = REPO_ROOT / "node_modules" / ".bin" / "cdk"
    if not cli.exists():
        pytest.skip("node_modules absent: run `npm ci` (or `make synth`) to test the pinned CLI")
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    env = {
        **os.environ,
        "CDK_DISABLE_CLI_TELEMETRY": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(
        [str(cli), "synth", "--no-notices", "-q", "--output", str(tmp_path / "cdk.out")],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "cdk.out" / "Studiolab.template.json").is_file()
