"""DynamoDB time to live: export records carry the TTL attribute (epoch seconds, a grace
period after their zip expired), every other record none; the table has TTL enabled on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from studiolab.adapters.aws.dynamodb_catalog import DynamoCatalog
from studiolab.adapters.aws.dynamodb_codec import EXPORT_TTL_GRACE
from studiolab.adapters.aws.table_schema import PK, SK, TTL_ATTRIBUTE
from studiolab.domain.models import Crawler, Export, ExportCounts, Item, Project, Run, RunStatus
from studiolab.domain.models.filters import ItemFilter

pytest_plugins = ["tests.contract.catalog_fixtures"]

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
TABLE = "studiolab-catalog-test"  # the table catalog_fixtures.dynamodb_env creates


def _record(client: Any, pk: str) -> dict[str, Any]:
    response = client.get_item(TableName=TABLE, Key={PK: {"S": pk}, SK: {"S": "#META"}})
    return response["Item"]


def _stock(catalog: DynamoCatalog) -> Export:
    catalog.create_project(
        Project(
            id="prj_1", name="P", shop="S", attribute="skirt.flare", created_at=T0, updated_at=T0
        )
    )
    catalog.create_crawler(
        Crawler(
            id="crw_1",
            project_id="prj_1",
            name="C",
            start_urls=["https://shop.example/"],
            created_at=T0,
            updated_at=T0,
        )
    )
    catalog.create_run(
        Run(
            id="run_1",
            crawler_id="crw_1",
            project_id="prj_1",
            status=RunStatus.SUCCEEDED,
            created_at=T0,
        )
    )
    catalog.create_item(
        Item.model_validate(
            {
                "id": "itm_1",
                "project_id": "prj_1",
                "crawler_id": "crw_1",
                "created_at": T0,
                "updated_at": T0,
            }
        )
    )
    return catalog.create_export(
        Export(id="exp_1", project_id="prj_1", filters=ItemFilter(kind="image"), created_at=T0)
    )


def test_the_table_has_ttl_enabled_on_the_schema_attribute(dynamodb_env: Any) -> None:
    description = dynamodb_env.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]

    assert TTL_ATTRIBUTE == "ttl"
    assert description["TimeToLiveStatus"] == "ENABLED"
    assert description["AttributeName"] == TTL_ATTRIBUTE


def test_only_a_finished_export_record_carries_ttl(dynamodb_env: Any) -> None:
    # Given a project, crawler, run, item and a pending export in DynamoDB
    catalog = DynamoCatalog(TABLE)
    export = _stock(catalog)
    assert TTL_ATTRIBUTE not in _record(dynamodb_env, "EXPORT#exp_1")  # unfinished: none yet

    # When the export succeeds with an expiry
    expires_at = T0 + timedelta(hours=24, microseconds=250)
    catalog.update_export(
        export.model_copy(
            update={
                "status": "SUCCEEDED",
                "counts": ExportCounts(items=1, images=1, bytes=10),
                "blob_key": "exports/prj_1/exp_1.zip",
                "finished_at": T0,
                "expires_at": expires_at,
            }
        )
    )

    # Then its record carries ttl: a number, epoch seconds, the grace after expires_at
    ttl = _record(dynamodb_env, "EXPORT#exp_1")[TTL_ATTRIBUTE]
    assert set(ttl) == {"N"}
    expected = expires_at + EXPORT_TTL_GRACE
    assert int(ttl["N"]) == int(expected.timestamp()) + 1  # rounded up, never early
    assert timedelta(days=1) <= EXPORT_TTL_GRACE  # GET still answers EXPIRED for a while
    # ... the export still reads back unchanged
    assert catalog.get_export("exp_1").expires_at == expires_at
    # ... and no other record carries the attribute (items, projects, runs, counters, locks)
    records = dynamodb_env.scan(TableName=TABLE)["Items"]
    with_ttl = {r[PK]["S"] for r in records if TTL_ATTRIBUTE in r}
    assert with_ttl == {"EXPORT#exp_1"}
    kinds = {r[PK]["S"].split("#", 1)[0] for r in records}
    assert {"PROJECT", "CRAWLER", "RUN", "ITEM", "EXPORT"} <= kinds


def test_an_export_losing_its_expiry_loses_its_ttl(dynamodb_env: Any) -> None:
    catalog = DynamoCatalog(TABLE)
    export = _stock(catalog)
    done = catalog.update_export(
        export.model_copy(update={"status": "SUCCEEDED", "expires_at": T0 + timedelta(days=1)})
    )
    assert TTL_ATTRIBUTE in _record(dynamodb_env, "EXPORT#exp_1")

    catalog.update_export(done.model_copy(update={"status": "RUNNING", "expires_at": None}))

    assert TTL_ATTRIBUTE not in _record(dynamodb_env, "EXPORT#exp_1")


def test_a_failed_export_record_goes_a_grace_period_after_it_failed(dynamodb_env: Any) -> None:
    catalog = DynamoCatalog(TABLE)
    export = _stock(catalog)
    failed_at = T0 + timedelta(minutes=3)
    failed = catalog.update_export(
        export.model_copy(
            update={
                "status": "FAILED",
                "error": "BackendError: disk full",
                "finished_at": failed_at,
            }
        )
    )
    ttl = _record(dynamodb_env, "EXPORT#exp_1")[TTL_ATTRIBUTE]
    assert int(ttl["N"]) == int((failed_at + EXPORT_TTL_GRACE).timestamp())

    # rebuilt (a retried job): running again, no ttl until it ends
    catalog.update_export(failed.model_copy(update={"status": "RUNNING", "finished_at": None}))
    assert TTL_ATTRIBUTE not in _record(dynamodb_env, "EXPORT#exp_1")
