"""What a test needs to know about the database it runs on, and what the app sends to it."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

ON_POSTGRESQL = make_url(os.environ["OPMAESTRO_DATABASE_URL"]).get_backend_name() == "postgresql"
# For behaviour that exists only on one database (pool pings, SQLite's pragmas); CI runs the
# suite on both, and elsewhere these skip with the reason.
only_on_postgresql = pytest.mark.skipif(
    not ON_POSTGRESQL, reason="PostgreSQL-only behaviour; the CI suite runs these against PostgreSQL"
)
only_on_sqlite = pytest.mark.skipif(
    ON_POSTGRESQL, reason="SQLite-only behaviour; the CI suite runs these against SQLite"
)


@contextmanager
def statements_on(bind: Any) -> Iterator[list[str]]:
    """Every SQL statement SQLAlchemy sends while the block runs, on an engine or the engine
    behind a session or connection."""
    if isinstance(bind, AsyncSession):
        bind = bind.bind
    engine = bind.sync_engine if isinstance(bind, AsyncEngine) else bind.engine.sync_engine
    seen: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)
