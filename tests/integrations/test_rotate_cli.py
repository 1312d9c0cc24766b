"""`opmaestro rotate-integration-keys`: with the new key first and the old one after it, every
stored token is encrypted again under the new key; the old key alone then reads none."""

import asyncio
import os
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import text

from opmaestro.core import migrations
from opmaestro.core.db import create_engine, create_sessionmaker
from opmaestro.integrations import crypto
from opmaestro.integrations.models import IntegrationConnection
from tests.factories import create_user

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


async def test_the_command_reencrypts_every_token_under_the_first_key(settings, tmp_dir: Path):
    url = f"sqlite+aiosqlite:///{tmp_dir / 'cli.db'}"
    await asyncio.to_thread(migrations.upgrade, url)
    old = settings.model_copy(update={"database_url": url, "integration_token_keys": SecretStr(OLD)})
    new_only = old.model_copy(update={"integration_token_keys": SecretStr(NEW)})
    engine = create_engine(old)
    try:
        async with create_sessionmaker(engine)() as session:
            user = await create_user(session, "keys@example.com")
            session.add(
                IntegrationConnection(
                    user_id=user.id,
                    provider="gusto",
                    subject="company",
                    granted_scopes=[],
                    access_token=crypto.encrypt(old, "access-secret"),
                    refresh_token=crypto.encrypt(old, "refresh-secret"),
                )
            )
            await session.commit()

        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "opmaestro.cli",
            "rotate-integration-keys",
            env=os.environ
            | {"OPMAESTRO_DATABASE_URL": url, "OPMAESTRO_INTEGRATION_TOKEN_KEYS": f"{NEW},{OLD}"},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        assert "1 connection" in out.decode()

        async with create_sessionmaker(engine)() as session:
            access, refresh = (
                await session.execute(text("SELECT access_token, refresh_token FROM integration_connection"))
            ).one()
        assert crypto.decrypt(new_only, access) == "access-secret"
        assert crypto.decrypt(new_only, refresh) == "refresh-secret"
        with pytest.raises(crypto.TokenKeyError):
            crypto.decrypt(old, access)
    finally:
        await engine.dispose()
