"""Account events other domains react to, in the same unit of work, without accounts knowing them."""

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.models import User
from opmaestro.accounts.schemas import RegistrationCreate
from opmaestro.core.http import Client

RegistrationListener = Callable[[AsyncSession, User, Client, RegistrationCreate], Awaitable[None]]
_registered: list[RegistrationListener] = []


def on_registered(listener: RegistrationListener) -> RegistrationListener:
    """Call `listener` with each new account, inside the transaction that creates it."""
    if listener not in _registered:
        _registered.append(listener)
    return listener


async def registered(session: AsyncSession, user: User, client: Client, body: RegistrationCreate) -> None:
    """Tell every listener about a new account; an error in one rolls the registration back."""
    for listener in _registered:
        await listener(session, user, client, body)
