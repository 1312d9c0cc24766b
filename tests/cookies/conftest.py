"""An app with a banner origin allowed, and helpers for anonymous browsers and their device cookies."""

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opmaestro.core import jobs
from opmaestro.core.config import Settings
from opmaestro.main import create_app

BANNER_ORIGIN = "https://www.opmaestro.example"


@pytest.fixture
def overrides() -> dict[str, Any]:
    """Settings a test module or test changes (override this fixture)."""
    return {}


@pytest.fixture
def cookie_settings(settings: Settings, overrides: dict[str, Any]) -> Settings:
    return settings.model_copy(update={"banner_origins": BANNER_ORIGIN} | overrides)


@pytest.fixture
def app(cookie_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]):  # type: ignore[no-untyped-def]
    return create_app(cookie_settings, sessionmaker=sessionmaker, job_backend=jobs.ExternalWorker())
