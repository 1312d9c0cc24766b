"""SQLite statements run in one trip to aiosqlite's thread, with DB-API results intact."""

import pytest
from sqlalchemy import text

from opmaestro.core.db import create_engine


@pytest.fixture
async def sqlite_engine(settings, tmp_dir):
    engine = create_engine(
        settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{tmp_dir}/t.db"})
    )
    yield engine
    await engine.dispose()


async def test_sqlite_urls_use_the_one_trip_driver(sqlite_engine):
    assert sqlite_engine.dialect.driver == "opmaestro"


async def test_rows_rowcount_lastrowid_and_executemany(sqlite_engine):
    async with sqlite_engine.begin() as connection:
        await connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)"))
        inserted = await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        await connection.execute(
            text("INSERT INTO item (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}]
        )
        updated = await connection.execute(text("UPDATE item SET name = upper(name) WHERE id > 1"))
        assert updated.rowcount == 2
        rows = (await connection.execute(text("SELECT id, name FROM item ORDER BY id"))).all()
        assert [tuple(row) for row in rows] == [(1, "a"), (2, "B"), (3, "C")]
        assert (await connection.execute(text("SELECT name FROM item WHERE id = 99"))).first() is None


async def test_errors_keep_their_dbapi_types_and_roll_back(sqlite_engine):
    async with sqlite_engine.begin() as connection:
        await connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
        await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
    with pytest.raises(Exception, match="UNIQUE constraint failed") as raised:
        async with sqlite_engine.begin() as connection:
            await connection.execute(text("INSERT INTO item (name) VALUES ('b')"))
            await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
    assert type(raised.value).__name__ == "IntegrityError"
    async with sqlite_engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM item"))).scalar() == 1
