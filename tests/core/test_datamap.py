import json
import subprocess
import sys

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from opmaestro.core.datamap import (
    CONTACT,
    DATAMAP_KEY,
    DELETE,
    Classification,
    anonymize,
    not_personal,
    personal,
    personal_columns,
    retain,
    unclassified_columns,
)
from opmaestro.core.db import Base


def test_every_column_of_every_mapped_table_is_classified():
    assert unclassified_columns(Base.metadata) == []


def test_an_unclassified_column_is_reported():
    metadata = MetaData()
    Table(
        "widget",
        metadata,
        Column("id", Integer, primary_key=True, info=not_personal()),
        Column("owner_email", String, info=personal(CONTACT, erase=DELETE)),
        Column("nickname", String),
    )
    assert unclassified_columns(metadata) == ["widget.nickname"]
    assert [(c.table, c.column, c.category) for c in personal_columns(metadata)] == [
        ("widget", "owner_email", CONTACT)
    ]


def test_outbox_addresses_are_registered_as_contact_data():
    entries = {(c.table, c.column): c for c in personal_columns(Base.metadata)}
    address = entries[("outbox_message", "to_address")]
    assert address.category == CONTACT and address.erasure.describe() == "delete"
    assert ("job", "payload") not in entries


def test_erasure_strategies_describe_themselves():
    assert anonymize("[deleted]").replacement("ann@example.com") == "[deleted]"
    assert anonymize(lambda old: old[:2]).replacement("Annabel") == "An"
    assert retain("tax law", days=3650).describe() == "retain 3650 days: tax law"
    with pytest.raises(ValueError, match="legal reason"):
        retain("", days=30)


def test_cli_prints_the_registry_as_json():
    result = subprocess.run(
        [sys.executable, "-m", "opmaestro.cli", "datamap", "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    rows = json.loads(result.stdout)
    assert {
        "table": "outbox_message",
        "column": "to_address",
        "category": "contact",
        "erasure": "delete",
    } in rows
    table = subprocess.run(
        [sys.executable, "-m", "opmaestro.cli", "datamap"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert table.splitlines()[0].split() == ["TABLE", "COLUMN", "CATEGORY", "ERASURE"]


def test_a_personal_column_without_category_or_erasure_is_refused():
    metadata = MetaData()
    broken = {DATAMAP_KEY: Classification(True)}
    Table("widget", metadata, Column("owner_email", String, info=broken))
    with pytest.raises(ValueError, match=r"widget\.owner_email is personal"):
        personal_columns(metadata)
