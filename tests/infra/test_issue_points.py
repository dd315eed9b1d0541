"""The Infrastructure issue's points the other infra tests leave implicit: the ASL checked by
cfn-lint (inline definition) and structurally, no wildcard action in any policy of the whole
template, the reconciler's execution-status trigger, TTL/PITR/deletion protection, lifecycle,
the image functions' sizing, Powertools settings on every function, outputs, context values
given as `-c key=value` strings, offline CLI settings and the deploy guide."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

cdk = pytest.importorskip("aws_cdk", reason="aws-cdk-lib is not installed: '.[infra]'")
pytest.importorskip("cdk_nag", reason="cdk-nag is not installed: pip install -e '.[infra]'")

from aws_cdk import assertions  # noqa: E402

from infra.constructs.settings import ContextError, Settings  # noqa: E402
from infra.constructs.storage import TTL_ATTRIBUTE  # noqa: E402
from infra.constructs.workflow import CRAWL_ASL, CRAWL_STEPS  # noqa: E402
from tests.infra.conftest import CDK_CONTEXT, REPO_ROOT, resources  # noqa: E402

pytestmark = pytest.mark.pypi

POLICY_TYPES = {
    "AWS::IAM::Policy": ("PolicyDocument",),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
    "AWS::SQS::QueuePolicy": ("PolicyDocument",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
    "AWS::IAM::Role": ("AssumeRolePolicyDocument",),
}


def _ours(template: Any) -> dict[str, Any]:
    return {
        key: function
        for key, function in resources(template, "AWS::Lambda::Function").items()
        if "STUDIOLAB_MODE" in function["Properties"].get("Environment", {}).get("Variables", {})
    }


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# -- ASL (point 3, point 9 "cfn-lint ... and on the ASL") ----------------------------------
def _machine(template_json: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (key,) = [
        k
        for k, r in template_json["Resources"].items()
        if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    return key, template_json["Resources"][key]["Properties"]


def test_state_machine_definition_is_inline_so_cfn_lint_sees_it(
    template_json: dict[str, Any],
) -> None:
    _, props = _machine(template_json)
    assert "DefinitionS3Location" not in props
    assert json.loads(props["DefinitionString"]) == json.loads(CRAWL_ASL.read_text())


def test_cfn_lint_validates_the_asl_in_the_template(
    template_json: dict[str, Any], tmp_path: Path
) -> None:
    """Mutations of the definition: cfn-lint reports an unknown state field (E3601, the ASL
    schema) and a placeholder without a substitution (E1029). It does not check that Next
    targets exist: test_asl_is_structurally_sound does."""
    pytest.importorskip("cfnlint", reason="cfn-lint is not installed: pip install -e '.[infra]'")
    from cfnlint.api import ManualArgs, lint_file

    key, props = _machine(template_json)
    asl = json.loads(props["DefinitionString"])
    start = asl["StartAt"]

    def lint(definition: str) -> set[str]:
        broken = copy.deepcopy(template_json)
        broken["Resources"][key]["Properties"]["DefinitionString"] = definition
        path = tmp_path / "broken.json"
        path.write_text(json.dumps(broken))
        found = lint_file(path, config=ManualArgs(ignore_checks=["W3005"]))
        return {match.rule.id for match in found}

    typo = copy.deepcopy(asl)
    typo["States"][start]["Nxt"] = "x"
    assert "E3601" in lint(json.dumps(typo))
    placeholder = "${" + next(iter(CRAWL_STEPS)) + "}"
    assert "E1029" in lint(props["DefinitionString"].replace(placeholder, "${NotProvided}"))
    assert lint(props["DefinitionString"]) == set()


def _state_machines(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The definition and every nested one (Map iterators/processors, Parallel branches)."""
    found = [definition]
    for state in definition["States"].values():
        for nested in ("Iterator", "ItemProcessor"):
            if nested in state:
                found.extend(_state_machines(state[nested]))
        for branch in state.get("Branches", []):
            found.extend(_state_machines(branch))
    return found


def test_asl_is_structurally_sound(template_json: dict[str, Any]) -> None:
    """StartAt, Next, Default, Choices[].Next and Catch[].Next name states of the same
    (sub)machine; every state is reachable; non-terminal states have Next or End; every Task
    Resource is a ${placeholder} the stack substitutes, and every substitution is used."""
    _, props = _machine(template_json)
    definition = json.loads(props["DefinitionString"])
    substitutions = set(props["DefinitionSubstitutions"])
    used: set[str] = set()
    for machine in _state_machines(definition):
        states = machine["States"]
        assert machine["StartAt"] in states
        reachable = {machine["StartAt"]}
        for name, state in states.items():
            targets = [state.get("Next"), state.get("Default")]
            targets += [choice.get("Next") for choice in state.get("Choices", [])]
            targets += [catch["Next"] for catch in state.get("Catch", [])]
            for target in filter(None, targets):
                assert target in states, f"{name} -> {target}: no such state"
                reachable.add(target)
            if state["Type"] in ("Succeed", "Fail", "Choice"):
                assert "Next" not in state and "End" not in state, name
            else:
                assert ("Next" in state) != bool(state.get("End")), name
            if state["Type"] == "Choice":
                assert state["Choices"], name
            if state["Type"] == "Task":
                match = re.fullmatch(r"\$\{(\w+)\}", state["Resource"])
                assert match, f"{name}: Resource {state['Resource']!r} is not a substitution"
                assert match.group(1) in substitutions, name
                used.add(match.group(1))
        assert reachable == set(states), f"unreachable: {set(states) - reachable}"
    assert used == substitutions == set(CRAWL_STEPS)


def test_state_machine_logs_everything_with_execution_data_and_traces(template: Any) -> None:
    (machine,) = resources(template, "AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging.get("IncludeExecutionData", True) is not False
    (destination,) = logging["Destinations"]
    group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert resources(template, "AWS::Logs::LogGroup")[group]["Properties"]["RetentionInDays"]


# -- reconciler (point 5) ----------------------------------------------------------------------
def test_reconciler_runs_on_abnormal_crawl_execution_ends(template: Any) -> None:
    (machine,) = resources(template, "AWS::StepFunctions::StateMachine")
    (reconciler,) = [
        key
        for key, f in _ours(template).items()
        if f["Properties"].get("Handler") == "handler.reconcile"
    ]
    rules = resources(template, "AWS::Events::Rule").values()
    (status_rule,) = [r["Properties"] for r in rules if "EventPattern" in r["Properties"]]
    assert status_rule["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "stateMachineArn": [{"Ref": machine}],
            "status": ["FAILED", "TIMED_OUT", "ABORTED"],
        },
    }
    (schedule,) = [r["Properties"] for r in rules if "ScheduleExpression" in r["Properties"]]
    for rule in (status_rule, schedule):
        assert rule["State"] == "ENABLED"
        (target,) = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [reconciler, "Arn"]}
    invokers = [
        p["Properties"]
        for p in resources(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert len(invokers) == 2
    assert all(p["FunctionName"] == {"Fn::GetAtt": [reconciler, "Arn"]} for p in invokers)


# -- least privilege (point 7) ---------------------------------------------------------------
def test_no_wildcard_action_in_any_policy_of_the_template(template_json: dict[str, Any]) -> None:
    """Every Allow names its actions (no "*", "s3:*", "s3:Get*"): IAM policies and roles, bucket,
    queue and topic policies - CDK's own custom-resource roles included. The only wildcard
    actions are the TLS-only Deny statements ("deny everything over plain HTTP")."""
    checked = 0
    for key, resource in template_json["Resources"].items():
        props = resource.get("Properties", {})
        documents = [props[f] for f in POLICY_TYPES.get(resource["Type"], ()) if f in props]
        if resource["Type"] == "AWS::IAM::Role":
            documents += [p["PolicyDocument"] for p in props.get("Policies", [])]
        for document in documents:
            for statement in _as_list(document["Statement"]):
                assert "NotAction" not in statement, (key, statement)
                actions = _as_list(statement["Action"])
                checked += len(actions)
                wild = [a for a in actions if "*" in a]
                if statement["Effect"] == "Allow":
                    assert not wild, (key, statement)
                elif wild:
                    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        if resource["Type"] == "AWS::Lambda::Permission":
            assert "*" not in props["Action"], key
    assert checked > 50


# -- storage (point 1) -----------------------------------------------------------------------
def test_table_has_ttl_pitr_and_deletion_protection(template: Any) -> None:
    (table,) = resources(template, "AWS::DynamoDB::Table").values()
    props = table["Properties"]
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert table["DeletionPolicy"] == "Retain"


def test_data_bucket_expires_exports_and_aborts_incomplete_uploads(template: Any) -> None:
    (data,) = [
        b["Properties"]
        for b in resources(template, "AWS::S3::Bucket").values()
        if "CorsConfiguration" in b["Properties"]
    ]
    rules = {rule["Id"]: rule for rule in data["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-exports"]["Prefix"] == "exports/"
    assert 1 <= rules["expire-exports"]["ExpirationInDays"] <= 30
    multipart = rules["abort-incomplete-uploads"]
    assert "Prefix" not in multipart  # every prefix: signed uploads and export zips alike
    assert multipart["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert all(rule["Status"] == "Enabled" for rule in rules.values())
    for cors in data["CorsConfiguration"]["CorsRules"]:
        assert cors["AllowedMethods"] == ["PUT"]
        assert "content-type" in cors["AllowedHeaders"]
        assert cors["ExposedHeaders"] == ["ETag"]


# -- image pipeline (point 4) ----------------------------------------------------------------
def test_image_functions_are_sized_reserved_and_dead_lettered(template: Any) -> None:
    (queue,) = resources(template, "AWS::SQS::Queue")
    images = {
        f["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]: (key, f)
        for key, f in _ours(template).items()
        if f["Properties"].get("PackageType") == "Image"
    }
    assert set(images) == {"vision", "palette"}
    configs = {
        c["Properties"]["FunctionName"]["Ref"]: c["Properties"]
        for c in resources(template, "AWS::Lambda::EventInvokeConfig").values()
    }
    for name, (key, function) in images.items():
        props = function["Properties"]
        assert props["MemorySize"] >= (3008 if name == "vision" else 2048), name
        assert 60 <= props["Timeout"] <= 300, name
        assert props["EphemeralStorage"]["Size"] >= 1024
        assert props["ReservedConcurrentExecutions"] == 10, name
        assert props["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue, "Arn"]}}
        assert configs[key]["MaximumRetryAttempts"] == 2


# -- observability (point 6) -----------------------------------------------------------------
def test_every_function_has_powertools_settings_and_json_logs(template: Any) -> None:
    functions = _ours(template)
    services = set()
    for key, function in functions.items():
        props = function["Properties"]
        env = props["Environment"]["Variables"]
        services.add(env["POWERTOOLS_SERVICE_NAME"])
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "studiolab", key
        assert env["POWERTOOLS_LOG_LEVEL"] == env["LOG_LEVEL"] == "INFO", key
        assert props["TracingConfig"] == {"Mode": "Active"}, key
        logging = props["LoggingConfig"]
        assert logging["LogFormat"] == "JSON" and logging["ApplicationLogLevel"] == "INFO", key
        group = logging["LogGroup"]["Ref"]
        assert resources(template, "AWS::Logs::LogGroup")[group]["Properties"]["RetentionInDays"]
    assert len(services) == len(functions)  # one service name per function


def test_outputs_point_at_the_resources(template: Any) -> None:
    outputs = template.find_outputs("*")

    def ref(kind: str) -> Any:
        (key,) = resources(template, kind)
        return {"Ref": key}

    assert outputs["UserPoolId"]["Value"] == ref("AWS::Cognito::UserPool")
    assert outputs["UserPoolClientId"]["Value"] == ref("AWS::Cognito::UserPoolClient")
    assert outputs["TableName"]["Value"] == ref("AWS::DynamoDB::Table")
    assert outputs["CrawlStateMachineArn"]["Value"] == ref("AWS::StepFunctions::StateMachine")
    bucket_refs = {outputs[k]["Value"]["Ref"] for k in ("BucketName", "WebBucketName")}
    assert bucket_refs < set(resources(template, "AWS::S3::Bucket"))
    assert "execute-api" in json.dumps(outputs["ApiUrl"]["Value"])
    assert "DomainName" in json.dumps(outputs["WebUrl"]["Value"])
    named = ("WebUrl", "ApiUrl", "UserPoolId", "UserPoolClientId", "BucketName", "TableName")
    assert all(outputs[name].get("Description") for name in named)


# -- context keys as the CLI passes them (`-c key=value`: strings) ---------------------------
def test_context_strings_from_the_cli_mean_what_they_say() -> None:
    def parse(**values: Any) -> Settings:
        return Settings.from_context(lambda key: values.get(key.removeprefix("studiolab:")))

    defaults = parse()
    assert defaults.deletion_protection is True
    assert defaults.image_reserved_concurrency == 10
    assert defaults.log_level == "INFO"
    assert parse(deletionProtection="false").deletion_protection is False
    assert parse(deletionProtection=False).deletion_protection is False
    assert parse(deletionProtection="true").deletion_protection is True
    assert parse(imageReservedConcurrency="none").image_reserved_concurrency is None
    assert parse(imageReservedConcurrency="0").image_reserved_concurrency is None
    assert parse(imageReservedConcurrency="25").image_reserved_concurrency == 25
    origins = parse(corsAllowedOrigins="https://a.example, https://b.example")
    assert origins.cors_allowed_origins == ["https://a.example", "https://b.example"]
    assert parse(corsAllowedOrigins='["https://a.example"]').cors_allowed_origins == [
        "https://a.example"
    ]
    assert parse(logLevel="warn").log_level == "WARNING"
    assert parse(alarmEmail="").alarm_email is None
    for bad in ({"deletionProtection": "maybe"}, {"imageReservedConcurrency": "-1"}):
        with pytest.raises(ContextError):
            parse(**bad)
    with pytest.raises(ContextError):
        parse(logLevel="chatty")


def test_synth_with_cli_context_overrides(tmp_path: Path) -> None:
    """What `cdk deploy -c studiolab:deletionProtection=false ...` produces (string values)."""
    from infra.stacks.studiolab_stack import StudiolabStack

    context = {
        **CDK_CONTEXT,
        "studiolab:deletionProtection": "false",
        "studiolab:imageReservedConcurrency": "none",
        "studiolab:corsAllowedOrigins": "https://a.example,https://b.example",
        "studiolab:logLevel": "DEBUG",
    }
    stack = StudiolabStack(cdk.App(context=context, outdir=str(tmp_path)), "Studiolab")
    template = assertions.Template.from_stack(stack)
    (table,) = resources(template, "AWS::DynamoDB::Table").values()
    assert table["Properties"]["DeletionProtectionEnabled"] is False
    (pool,) = resources(template, "AWS::Cognito::UserPool").values()
    assert pool["Properties"]["DeletionProtection"] == "INACTIVE"
    for function in _ours(template).values():
        props = function["Properties"]
        assert "ReservedConcurrentExecutions" not in props
        assert props["Environment"]["Variables"]["LOG_LEVEL"] == "DEBUG"
        assert props["LoggingConfig"]["ApplicationLogLevel"] == "DEBUG"
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "CorsConfiguration": {
                "CorsRules": assertions.Match.array_with(
                    [
                        assertions.Match.object_like(
                            {"AllowedOrigins": ["https://a.example", "https://b.example"]}
                        )
                    ]
                )
            }
        },
    )


# -- offline synth settings (point 8) --------------------------------------------------------
def test_cli_is_pinned_and_notices_and_telemetry_are_off() -> None:
    cdk_json = json.loads((REPO_ROOT / "cdk.json").read_text())
    assert cdk_json["notices"] is False
    assert cdk_json["context"]["cli-telemetry"] is False
    package = json.loads((REPO_ROOT / "package.json").read_text())
    pin = package["devDependencies"]["aws-cdk"]
    assert re.fullmatch(r"2\.\d+\.\d+", pin), pin  # exact: npm ci installs just that
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/aws-cdk"]["version"] == pin


# -- the deploy guide (point 10) -------------------------------------------------------------
def test_deploy_guide_covers_every_step() -> None:
    guide = (REPO_ROOT / "docs" / "deploy.md").read_text()
    for needle in (
        "## Prerequisites",
        "make synth",
        "cdk bootstrap",
        "cdk deploy",
        "admin-create-user",
        "Authorization: $TOKEN",
        "local-only",
        "10,000 images a month",
        "cdk destroy",
        "studiolab:deletionProtection=false",
        "studiolab:imageReservedConcurrency",
        "studiolab:logLevel",
    ):
        assert needle in guide, needle
