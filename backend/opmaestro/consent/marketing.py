"""The one rule that decides whether marketing email may go to a person now.

The send-time check of the outbox and the clients' consent API both ask it, so a CRM is told
exactly what the outbox would do."""

from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.models import User, UserStatus
from opmaestro.consent import ledger


async def refusal(session: AsyncSession, user: User | None, address: str) -> str | None:
    """Why marketing email to `address` for `user` must not go out now, or None when it may."""
    if user is None or user.status != UserStatus.ACTIVE:
        return "suppressed: no active user account whose consent allows this message"
    if user.email.lower() != address.lower():
        return "suppressed: the recipient's address changed after the message was queued"
    # Anyone can sign an address up and tick the box: until its owner opens the verification link,
    # the consent is not theirs to have given.
    if user.email_verified_at is None:
        return "suppressed: the recipient has not verified the address"
    if not await ledger.is_granted(session, user.id, ledger.MARKETING_EMAIL):
        return "suppressed: the recipient has not consented to marketing email"
    return None
