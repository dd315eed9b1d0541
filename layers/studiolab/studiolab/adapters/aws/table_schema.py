"""The DynamoDB table of the catalog: one table, two overloaded GSIs, on-demand billing.

The one definition shared by the adapter (key names), `create_table` (tests, local tools)
and the CDK stack. No boto3 import: the CDK app can read it without the AWS SDK.

Layout (every id matches [A-Za-z0-9_.:-], so "#" never occurs inside one):

record         PK                   SK       GSI1PK                         GSI2PK
project        PROJECT#<id>         #META    PROJECTS
crawler        CRAWLER#<id>         #META    PROJECT#<pid>#CRAWLERS
open-run lock  CRAWLER#<cid>        OPENRUN  -
run            RUN#<id>             #META    CRAWLER#<cid>#RUNS             OPENRUNS while open
item           ITEM#<id>            #META    PROJECT#<pid>#ITEMS            CRAWLER#<cid>#ITEMS
export         EXPORT#<id>          #META    PROJECT#<pid>#EXPORTS
counters       COUNTS#<scope>#<id>  #COUNTS  -

GSI1SK and GSI2SK are "<created>#<id>", <created> being the fixed-width UTC ISO time
(microseconds): sort keys order by (created_at, id), and listings query an index partition
newest first (ScanIndexForward=False). GSI2 is sparse: records without GSI2PK stay out.

Time to live: DynamoDB deletes a record some time (up to days) after the epoch seconds in its
TTL_ATTRIBUTE are past. Only ephemeral records carry it (exports: after their zip expired,
see dynamodb_codec.EXPORT_TTL_GRACE); projects, crawlers, runs, items and counters never do.
Renaming the attribute means turning TTL off on the table, which DynamoDB blocks for an hour."""

from __future__ import annotations

from typing import Any

PK = "PK"
SK = "SK"
GSI1 = "GSI1"
GSI1PK = "GSI1PK"
GSI1SK = "GSI1SK"
GSI2 = "GSI2"
GSI2PK = "GSI2PK"
GSI2SK = "GSI2SK"

KEY_SCHEMA: list[dict[str, str]] = [
    {"AttributeName": PK, "KeyType": "HASH"},
    {"AttributeName": SK, "KeyType": "RANGE"},
]
ATTRIBUTE_DEFINITIONS: list[dict[str, str]] = [
    {"AttributeName": name, "AttributeType": "S"}
    for name in (PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK)
]
GLOBAL_SECONDARY_INDEXES: list[dict[str, Any]] = [
    {
        "IndexName": index,
        "KeySchema": [
            {"AttributeName": hash_key, "KeyType": "HASH"},
            {"AttributeName": range_key, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }
    for index, hash_key, range_key in ((GSI1, GSI1PK, GSI1SK), (GSI2, GSI2PK, GSI2SK))
]
BILLING_MODE = "PAY_PER_REQUEST"
# The table's time-to-live attribute (a number, epoch seconds); CDK enables TTL on it.
TTL_ATTRIBUTE = "ttl"


def table_definition(table_name: str) -> dict[str, Any]:
    """Keyword arguments of DynamoDB CreateTable for the catalog table."""
    return {
        "TableName": table_name,
        "KeySchema": [dict(key) for key in KEY_SCHEMA],
        "AttributeDefinitions": [dict(attribute) for attribute in ATTRIBUTE_DEFINITIONS],
        "GlobalSecondaryIndexes": [
            {**index, "KeySchema": [dict(key) for key in index["KeySchema"]]}
            for index in GLOBAL_SECONDARY_INDEXES
        ],
        "BillingMode": BILLING_MODE,
    }


def time_to_live_specification() -> dict[str, Any]:
    """The TimeToLiveSpecification of DynamoDB UpdateTimeToLive for the catalog table."""
    return {"Enabled": True, "AttributeName": TTL_ATTRIBUTE}


def create_table(client: Any, table_name: str) -> None:
    """Create the catalog table with a boto3 DynamoDB client, wait until it is active and
    enable TTL on TTL_ATTRIBUTE (as the CDK stack does)."""
    client.create_table(**table_definition(table_name))
    client.get_waiter("table_exists").wait(TableName=table_name)
    client.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification=time_to_live_specification()
    )
