"""Cookies' part in signing in: the browser's device joins the account.

Registered on import; `opmaestro.tasks`, which the app, the CLI and the Celery worker all
import, imports this module.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import hooks as account_hooks
from opmaestro.accounts.models import User
from opmaestro.cookies import choices
from opmaestro.core.config import Settings
from opmaestro.core.http import Client


@account_hooks.on_signed_in
async def join_device(session: AsyncSession, user: User, client: Client, settings: Settings) -> None:
    """Link the browser's device (if it has one) to the account and merge their cookie choices."""
    await choices.merge_on_sign_in(session, settings, user.id, client)
