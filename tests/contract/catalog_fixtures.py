"""Fixtures for the Catalog contract suite (imported by the test module; not a conftest, so
it cannot clash with other suites' fixtures).

`catalog` is each adapter in turn: SqliteCatalog on a fresh database file, DynamoCatalog on a
table made from table_schema under moto. moto's DynamoDB applies a request in several
unlocked steps (a transaction even snapshots and restores the whole table), so concurrent
requests could interleave inside it - something DynamoDB, which serialises the writes to an
item, never does. The fixture therefore serialises moto's DynamoDB request handling with a
lock; the adapter's own threads and races stay real."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

from studiolab.adapters.aws.dynamodb_catalog import DynamoCatalog
from studiolab.adapters.aws.table_schema import create_table
from studiolab.adapters.local.sqlite_catalog import SqliteCatalog
from studiolab.adapters.local.sqlite_db import SqliteDatabase
from studiolab.domain.ports import Catalog

TABLE = "studiolab-catalog-test"
REGION = "eu-west-1"
ADAPTERS = ["sqlite", "dynamodb"]


@pytest.fixture
def dynamodb_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Fake credentials, a serialised moto DynamoDB, and a client on it."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    lock = threading.Lock()
    original = DynamoHandler.call_action

    def serialised(self: DynamoHandler) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", serialised)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_table(client, TABLE)
        yield client


@pytest.fixture(params=ADAPTERS)
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalog]:
    if request.param == "sqlite":
        db = SqliteDatabase(tmp_path / "catalog.sqlite")
        yield SqliteCatalog(db)
        db.close()
    else:
        request.getfixturevalue("dynamodb_env")
        # No client given: the adapter builds its own from the environment, as in Lambda.
        yield DynamoCatalog(TABLE)
