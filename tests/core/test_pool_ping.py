"""PostgreSQL connections are pinged before use only after sitting idle in the pool."""

import pytest
from sqlalchemy import text

from opmaestro.core import db
from tests.databases import only_on_postgresql

pytestmark = only_on_postgresql


@pytest.fixture
async def one_connection_engine(settings):
    engine = db.create_engine(settings, pool_size=1)
    yield engine
    await engine.dispose()


async def backend_pid(engine) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()


async def test_a_connection_back_moments_ago_is_not_pinged(one_connection_engine, monkeypatch):
    pings = []
    original = one_connection_engine.dialect.do_ping
    monkeypatch.setattr(one_connection_engine.dialect, "do_ping", lambda c: pings.append(c) or original(c))
    first = await backend_pid(one_connection_engine)
    second = await backend_pid(one_connection_engine)
    assert first == second
    assert len(pings) == 1, "only the new connection's first checkout is pinged"


async def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    one_connection_engine, engine, monkeypatch
):
    dropped = await backend_pid(one_connection_engine)
    async with engine.connect() as admin:
        await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    replacement = await backend_pid(one_connection_engine)
    assert replacement != dropped
