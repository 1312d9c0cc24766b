"""Account events other domains react to, in the same unit of work, without accounts knowing them."""

from collections.abc import Awaitable, Callable
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.models import User
from opmaestro.accounts.schemas import RegistrationCreate
from opmaestro.core.config import Settings
from opmaestro.core.http import Client

RegistrationListener = Callable[[AsyncSession, User, Client, RegistrationCreate], Awaitable[None]]
# Also told about a sign-up: the browser that signs up (or in) is the account's from now on.
SignInListener = Callable[[AsyncSession, User, Client, Settings], Awaitable[None]]
# Told when an account is closed or erased, with the reason (say, to revoke grants at providers).
AccountEndedListener = Callable[[AsyncSession, UUID, Settings, str], Awaitable[None]]
# Told when the person closes the account (DELETE /me), with the account as it is then.
ClosedListener = Callable[[AsyncSession, User], Awaitable[None]]
# Told when a closed account is reopened by signing in before its deletion date.
ReopenedListener = Callable[[AsyncSession, User, Settings], Awaitable[None]]
# Told when a password is reset from an emailed link: whoever held the account before may not
# have been its owner, so standing grants (say, webhook endpoints) stop until the owner confirms.
PasswordResetListener = Callable[[AsyncSession, User, Settings], Awaitable[None]]
_registered: list[RegistrationListener] = []
_signed_in: list[SignInListener] = []
_ended: list[AccountEndedListener] = []
_closed: list[ClosedListener] = []
_reopened: list[ReopenedListener] = []
_password_reset: list[PasswordResetListener] = []


def on_registered(listener: RegistrationListener) -> RegistrationListener:
    """Call `listener` with each new account, inside the transaction that creates it."""
    if listener not in _registered:
        _registered.append(listener)
    return listener


def on_signed_in(listener: SignInListener) -> SignInListener:
    """Call `listener` on each sign-in and sign-up, with the browser's request, in its transaction."""
    if listener not in _signed_in:
        _signed_in.append(listener)
    return listener


def on_closed(listener: ClosedListener) -> ClosedListener:
    """Call `listener` when a person closes their account, inside the transaction that closes it."""
    if listener not in _closed:
        _closed.append(listener)
    return listener


def on_reopened(listener: ReopenedListener) -> ReopenedListener:
    """Call `listener` when a closed account is reopened, inside the sign-in that reopens it."""
    if listener not in _reopened:
        _reopened.append(listener)
    return listener


def on_password_reset(listener: PasswordResetListener) -> PasswordResetListener:
    """Call `listener` when a password is reset from an emailed link, inside that transaction."""
    if listener not in _password_reset:
        _password_reset.append(listener)
    return listener


async def registered(session: AsyncSession, user: User, client: Client, body: RegistrationCreate) -> None:
    """Tell every listener about a new account; an error in one rolls the registration back."""
    for listener in _registered:
        await listener(session, user, client, body)


async def signed_in(session: AsyncSession, user: User, client: Client, settings: Settings) -> None:
    """Tell every listener that this browser now belongs to `user`; an error in one rolls it back."""
    for listener in _signed_in:
        await listener(session, user, client, settings)


def on_account_ended(listener: AccountEndedListener) -> AccountEndedListener:
    """Call `listener` when an account is closed or erased, inside that transaction."""
    if listener not in _ended:
        _ended.append(listener)
    return listener


async def account_ended(session: AsyncSession, user_id: UUID, settings: Settings, reason: str) -> None:
    """Tell every listener that the account is closed or being erased; an error in one rolls it back."""
    for listener in _ended:
        await listener(session, user_id, settings, reason)


async def closed(session: AsyncSession, user: User) -> None:
    """Tell every listener that `user` closed the account; an error in one rolls the closing back."""
    for listener in _closed:
        await listener(session, user)


async def reopened(session: AsyncSession, user: User, settings: Settings) -> None:
    """Tell every listener that `user` reopened the account; an error in one rolls the sign-in back."""
    for listener in _reopened:
        await listener(session, user, settings)


async def password_reset(session: AsyncSession, user: User, settings: Settings) -> None:
    """Tell every listener that `user`'s password was reset; an error in one rolls the reset back."""
    for listener in _password_reset:
        await listener(session, user, settings)
