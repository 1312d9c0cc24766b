"""Consent's part in other domains' work: the sign-up marketing choice and the send-time check.

Registered on import; `opmaestro.tasks`, which the app, the CLI and the Celery worker all
import, imports this module.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import hooks as account_hooks
from opmaestro.accounts.models import User, UserStatus
from opmaestro.accounts.schemas import RegistrationCreate
from opmaestro.consent import ledger
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
    if user is None or user.status != UserStatus.ACTIVE:
        return "suppressed: no active user account whose consent allows this message"
    if user.email.lower() != message.to_address.lower():
        return "suppressed: the recipient's address changed after the message was queued"
    if not await ledger.is_granted(session, user.id, ledger.MARKETING_EMAIL):
        return "suppressed: the recipient has not consented to marketing email"
    return None


notifications.register_send_check(EmailCategory.MARKETING, marketing_refusal)
