"""Storage: the data bucket (+ its access-log bucket), the catalog table, the async DLQ.

Plain builders on the stack's scope (logical ids stay those of the first slice). The table's
key schema and GSIs come from studiolab.adapters.aws.table_schema, so CDK creates exactly the
table the DynamoDB catalog and its contract tests use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.nag import ack
from studiolab.adapters.aws import table_schema

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
UPLOAD_CORS_HEADERS = ["content-type", "content-length", "content-md5"]
# DynamoDB deletes a record once this attribute (epoch seconds) is in the past. The name is
# the table schema's when it declares one; until then "ttl", the attribute the catalog must
# write on ephemeral records (renaming it later means turning TTL off for an hour).
TTL_ATTRIBUTE: str = getattr(table_schema, "TTL_ATTRIBUTE", "ttl")


def _attribute(name: str) -> dynamodb.Attribute:
    types = {a["AttributeName"]: a["AttributeType"] for a in table_schema.ATTRIBUTE_DEFINITIONS}
    return dynamodb.Attribute(name=name, type=_ATTRIBUTE_TYPES[types[name]])


def _keys(schema: Sequence[Mapping[str, str]]) -> tuple[str, str | None]:
    by_type = {key["KeyType"]: key["AttributeName"] for key in schema}
    return by_type["HASH"], by_type.get("RANGE")


def access_log_bucket(scope: Construct) -> s3.Bucket:
    bucket = s3.Bucket(
        scope,
        "AccessLogs",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        # CloudFront standard logs are delivered with ACLs: the owner must be able to use them.
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
        lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(90))],
        removal_policy=RemovalPolicy.RETAIN,
    )
    ack(bucket, "AwsSolutions-S1", "This is the server access log target bucket itself.")
    return bucket


def upload_cors_rule(origins: Sequence[str]) -> s3.CorsRule:
    """Signed PUT uploads straight from the browser (the UI's origins only)."""
    return s3.CorsRule(
        allowed_methods=[s3.HttpMethods.PUT],
        allowed_origins=list(origins),
        allowed_headers=UPLOAD_CORS_HEADERS,
        exposed_headers=["ETag"],
        max_age=3000,
    )


def data_bucket(scope: Construct, access_logs: s3.IBucket, origins: Sequence[str]) -> s3.Bucket:
    return s3.Bucket(
        scope,
        "Data",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix="data/",
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[
            s3.LifecycleRule(id="expire-exports", prefix="exports/", expiration=Duration.days(7)),
            s3.LifecycleRule(id="expire-state", prefix="state/", expiration=Duration.days(30)),
            s3.LifecycleRule(
                id="abort-incomplete-uploads",
                abort_incomplete_multipart_upload_after=Duration.days(1),
            ),
        ],
        cors=[upload_cors_rule(origins)],
    )


def catalog_table(scope: Construct, *, deletion_protection: bool) -> dynamodb.Table:
    hash_key, range_key = _keys(table_schema.KEY_SCHEMA)
    assert table_schema.BILLING_MODE == "PAY_PER_REQUEST"
    table = dynamodb.Table(
        scope,
        "Catalog",
        partition_key=_attribute(hash_key),
        sort_key=_attribute(range_key) if range_key else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        deletion_protection=deletion_protection,
        time_to_live_attribute=TTL_ATTRIBUTE,
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


def dead_letter_queue(scope: Construct) -> sqs.Queue:
    queue = sqs.Queue(
        scope,
        "AsyncDlq",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    ack(queue, "AwsSolutions-SQS3", "This queue is itself the dead-letter queue.")
    return queue
