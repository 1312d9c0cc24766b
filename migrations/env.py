"""Alembic environment: async engines, naming conventions, batch mode for SQLite."""

import asyncio
from typing import Any

from alembic import context
from alembic.operations.ops import CreateTableOp
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import opmaestro.models  # noqa: F401 - loads every model into the metadata
from opmaestro.core.db import Base, UtcDateTime

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def drop_table_info(_context: Any, _revision: Any, directives: list[Any]) -> None:
    """Table info holds the data map's subject keys (Python objects), not schema: keep it out of
    generated migrations, where it would not even parse."""
    for script in directives:
        for upgrade in script.upgrade_ops_list:
            for operation in upgrade.ops:
                if isinstance(operation, CreateTableOp):
                    operation.info = {}


def _configure(**options: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
        process_revision_directives=drop_table_info,
        **options,
    )


def run_offline() -> None:
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_with(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_async_engine(str(config.get_main_option("sqlalchemy.url")), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(run_with)
    await engine.dispose()


if context.is_offline_mode():
    run_offline()
elif (given := config.attributes.get("connection")) is not None:
    run_with(given)
else:
    asyncio.run(run_online())
