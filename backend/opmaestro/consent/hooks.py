"""Consent's part in other domains' work: the sign-up marketing choice and the send-time check.

Registered on import; `opmaestro.tasks`, which the app, the CLI and the Celery worker all
import, imports this module.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import hooks as account_hooks
from opmaestro.accounts.models import User
from opmaestro.accounts.schemas import RegistrationCreate
from opmaestro.consent import ledger, marketing
from opmaestro.consent.models import CollectionMethod, ConsentAction
from opmaestro.core.http import Client
from opmaestro.notifications import service as notifications
from opmaestro.notifications.models import EmailCategory, OutboxMessage


@account_hooks.on_registered
async def record_signup_choice(
    session: AsyncSession, user: User, client: Client, body: RegistrationCreate
) -> None:
    """Record the marketing answer given on the sign-up form as the account's first consent event."""
    await ledger.record(
        session,
        user_id=user.id,
        purpose_key=ledger.MARKETING_EMAIL,
        action=ConsentAction.GRANTED if body.marketing_email_opt_in else ConsentAction.DENIED,
        method=CollectionMethod.SIGNUP,
        actor=None,
        ip=client.ip,
        user_agent=client.user_agent,
        jurisdiction=user.country,
    )


async def marketing_refusal(session: AsyncSession, message: OutboxMessage) -> str | None:
    """Why a marketing message must not go out now, or None when its recipient still consents."""
    user = await session.get(User, message.user_id) if message.user_id else None
    return await marketing.refusal(session, user, message.to_address)


notifications.register_send_check(EmailCategory.MARKETING, marketing_refusal)
