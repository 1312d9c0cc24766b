"""Integrations' part in closing and erasing an account: every grant is revoked at its provider.

Registered on import; `opmaestro.tasks`, which the app, the CLI and the Celery worker all
import, imports this module.
"""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import hooks as account_hooks
from opmaestro.core.config import Settings
from opmaestro.integrations import service


@account_hooks.on_account_ended
async def revoke_grants(session: AsyncSession, user_id: UUID, settings: Settings, reason: str) -> None:
    """Disconnect every provider of the account: revoke the grants, delete tokens and imports."""
    await service.disconnect_all(session, settings, user_id, reason=reason)
