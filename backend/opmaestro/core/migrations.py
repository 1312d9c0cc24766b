"""Alembic, driven from code: the CLI, readiness and tests share one configuration."""

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from opmaestro.core.config import PROJECT_ROOT, get_settings


def ensure_sqlite_directory(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", (database_url or get_settings().database_url).replace("%", "%%"))
    return config


@lru_cache
def heads() -> frozenset[str]:
    """The revisions the code expects the database to be at."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    url = database_url or get_settings().database_url
    ensure_sqlite_directory(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(database_url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def revision(message: str) -> None:
    command.revision(alembic_config(), message=message, autogenerate=True)
