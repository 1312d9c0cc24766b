import json
import subprocess
import sys
from uuid import uuid4

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from opmaestro.core.datamap import (
    CONTACT,
    DATAMAP_KEY,
    DELETE,
    Classification,
    anonymize,
    no_subject_rows,
    not_personal,
    personal,
    personal_columns,
    retain,
    rows_of,
    subject_key,
    subject_rows,
    tables_without_subject_rows,
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


def test_every_table_with_personal_columns_says_how_a_persons_rows_are_found():
    assert tables_without_subject_rows(Base.metadata) == []


def test_a_table_with_personal_columns_and_no_subject_keys_is_reported():
    metadata = MetaData()
    Table("widget", metadata, Column("owner_email", String, info=personal(CONTACT, erase=DELETE)))
    Table("registry", metadata, Column("name", String, info=not_personal()))
    Table(
        "shared",
        metadata,
        Column("label", String, info=personal(CONTACT, erase=DELETE)),
        info=no_subject_rows("labels typed by staff for everyone"),
    )
    assert tables_without_subject_rows(metadata) == ["widget"]


async def test_rows_of_selects_only_the_persons_rows_through_every_key(session):
    owner, other = uuid4(), uuid4()
    metadata = MetaData()
    table = Table(
        "note",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("author_id", String(36)),
        Column("about_id", String(36)),
        Column("about_kind", String(8)),
        info=subject_rows(
            subject_key("author_id", value_of=str),
            subject_key("about_id", value_of=str, about_kind="user"),
        ),
    )
    connection = await session.connection()
    await connection.run_sync(metadata.create_all)
    await session.execute(
        table.insert(),
        [
            {"id": 1, "author_id": str(owner), "about_id": None, "about_kind": None},
            {"id": 2, "author_id": str(other), "about_id": str(owner), "about_kind": "user"},
            {"id": 3, "author_id": str(other), "about_id": str(owner), "about_kind": "team"},
            {"id": 4, "author_id": str(other), "about_id": None, "about_kind": None},
        ],
    )
    found = (
        await session.scalars(select(table.c.id).where(rows_of(table, owner)).order_by(table.c.id))
    ).all()
    assert found == [1, 2]
    unlinked = Table(
        "loose", metadata, Column("id", Integer, primary_key=True), info=no_subject_rows("shared")
    )
    assert str(rows_of(unlinked, owner).compile()) == "false"
    await connection.run_sync(metadata.drop_all)


def test_subject_rows_needs_a_key_and_no_subject_rows_a_reason():
    with pytest.raises(ValueError, match="at least one key"):
        subject_rows()
    with pytest.raises(ValueError, match="say why"):
        no_subject_rows(" ")
