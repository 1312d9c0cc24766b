"""Signing in and out, and resetting a forgotten password."""

import math
from typing import Literal
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opmaestro.accounts import hooks, mfa, revocation, sessions
from opmaestro.accounts import service as accounts
from opmaestro.accounts.exceptions import InvalidCredentials, MfaRequired, TooManyAttempts
from opmaestro.accounts.models import TokenPurpose, User, UserSession, UserStatus
from opmaestro.accounts.schemas import LoginRequest
from opmaestro.audit import service as audit
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.http import Client
from opmaestro.core.links import public_url
from opmaestro.core.ratelimit import Quota, RateLimiter
from opmaestro.core.security import hash_password, hash_token, needs_rehash, verify_password
from opmaestro.notifications import service as notifications


def _sign_in_quotas(settings: Settings, email: str, client: Client) -> tuple[list[Quota], list[Quota], Quota]:
    """The client IP's quota (every attempt counts), and the account's: per client IP, so that
    an attacker elsewhere cannot use up the owner's, and a much higher one across all IPs."""
    window, account = settings.login_window_seconds, hash_token(email)
    source_quotas: list[Quota] = []
    pair_quotas: list[Quota] = []
    if client.ip:
        source_quotas.append(Quota(f"login:ip:{client.ip}", settings.login_attempts_per_ip, window))
        pair_quotas.append(
            Quota(f"login:account-ip:{account}:{client.ip}", settings.login_attempts_per_account, window)
        )
    account_quota = Quota(f"login:account:{account}", settings.login_attempts_per_account_global, window)
    return source_quotas, pair_quotas, account_quota


async def _record_throttled(sessionmaker: async_sessionmaker[AsyncSession], client: Client) -> None:
    await sessions.event_now(
        sessionmaker, "login_throttled", user_id=None, ip=client.ip, user_agent=client.user_agent
    )


async def _release(session: AsyncSession) -> None:
    """End the request's transaction before a refusal is recorded on a session of its own.

    The request is about to fail and be rolled back anyway; on SQLite its session holds the only
    pooled connection, and the event's session would wait for it until the pool timed out."""
    await session.rollback()


async def _proven_owner(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], email: str, body: LoginRequest
) -> User | None:
    """The account, if this attempt carries its password and a valid second factor."""
    stored = await _stored_credentials(sessionmaker, email)
    if not await verify_password(stored[1] if stored else None, body.password):
        return None
    user = await accounts.get_by_email(session, email)
    if user is None or user.status != UserStatus.ACTIVE or user.mfa_enabled_at is None or not body.otp:
        return None
    return user if await mfa.verify(session, user, body.otp) else None


async def _throttle(limiter: RateLimiter, quotas: list[Quota]) -> None:
    refusal = await limiter.first_refusal(quotas)
    if refusal is not None:
        raise TooManyAttempts(
            "Too many sign-in attempts; try again later.",
            headers={"Retry-After": str(refusal.retry_after)},
        )


MailBucket = Literal["sign-up", "verification", "password-reset", "email-change", "data-request"]
"""Which kind of mail is asked for: each has its own allowance per address, so that asking for
one kind (anonymous data requests, sign-ups) cannot use up another's (a password reset)."""


async def throttle_mail_request(
    limiter: RateLimiter, settings: Settings, email: str, client: Client, *, bucket: MailBucket
) -> None:
    """Anyone may ask for a link or notice to be mailed to an address (sign-up, a new
    verification link, a password reset, a data request); capped per address and kind of mail,
    and per IP, so that the forms cannot flood a mailbox or be used to send mail in bulk. The
    cap is the same whether or not the address has an account, so a refusal tells nothing about it."""
    address = accounts.normalize_email(email)
    window = settings.mail_request_window_seconds
    key = f"mail:{bucket}:address:{hash_token(address)}"
    quotas = [Quota(key, settings.mail_requests_per_address, window)]
    if client.ip:
        quotas.append(Quota(f"mail:ip:{client.ip}", settings.mail_requests_per_ip, window))
    refusal = await limiter.first_refusal(quotas)
    if refusal is not None:
        minutes = math.ceil(refusal.retry_after / 60)
        raise TooManyAttempts(
            "Too many emails were asked for from here or for this address; "
            f"try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            headers={"Retry-After": str(refusal.retry_after)},
        )


async def _stored_credentials(
    sessionmaker: async_sessionmaker[AsyncSession], email: str
) -> tuple[UUID, str] | None:
    """The account's id and password hash, read in a session of its own so that no pooled
    connection is held during the deliberately slow Argon2 check."""
    async with sessionmaker() as reader:
        row = (await reader.execute(select(User.id, User.password_hash).where(User.email == email))).first()
    return (row[0], row[1]) if row else None


async def _check_credentials(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    email: str,
    body: LoginRequest,
    client: Client,
) -> tuple[User, bool]:
    """The account this password (and code) opens, and whether it is a closed one to reopen."""
    stored = await _stored_credentials(sessionmaker, email)
    password_ok = await verify_password(stored[1] if stored else None, body.password)
    user = await accounts.get_by_email(session, email) if password_ok else None
    now = utcnow()
    reopenable = user is not None and user.status == UserStatus.CLOSED and (user.deletion_due_at or now) > now
    if (
        user is None
        or stored is None
        or user.password_hash != stored[1]  # changed while we were hashing
        or not (user.status == UserStatus.ACTIVE or reopenable)
    ):
        await _release(session)
        await sessions.event_now(
            sessionmaker,
            "login_failed",
            user_id=stored[0] if stored else None,
            ip=client.ip,
            user_agent=client.user_agent,
        )
        raise InvalidCredentials("The email address or password is not correct.")
    if user.mfa_enabled_at is not None:
        if not body.otp:
            raise MfaRequired("Enter the code from your authenticator app.")
        if not await mfa.verify(session, user, body.otp):
            user_id = user.id  # read before the rollback expires it
            await _release(session)
            await sessions.event_now(
                sessionmaker, "login_failed_mfa", user_id=user_id, ip=client.ip, user_agent=client.user_agent
            )
            raise InvalidCredentials("The two-factor code is not correct.")
    return user, reopenable


async def login(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    body: LoginRequest,
    settings: Settings,
    limiter: RateLimiter,
    client: Client,
    previous_token: str | None,
) -> tuple[User, UserSession, str]:
    """Check the password (and staff code), then start a new session in place of any old one."""
    email = accounts.normalize_email(body.email)
    source_quotas, pair_quotas, account_quota = _sign_in_quotas(settings, email, client)
    try:
        # Counted before the slow password check, so that parallel guesses cannot all slip in
        # under the limit; a success forgets the account's count below.
        await _throttle(limiter, source_quotas + pair_quotas)
    except TooManyAttempts as refused:
        await _record_throttled(sessionmaker, client)
        raise refused from None
    # Attackers spread over many IPs can use up the account-wide quota; past it only the whole
    # proof (password and second factor) gets in, and every other answer is the same 429.
    over_account_quota = await limiter.first_refusal([account_quota])
    if over_account_quota is not None:
        proven = await _proven_owner(session, sessionmaker, email, body)
        if proven is None:
            await _release(session)
            await _record_throttled(sessionmaker, client)
            raise TooManyAttempts(
                "Too many sign-in attempts; try again later.",
                headers={"Retry-After": str(over_account_quota.retry_after)},
            )
        user, reopenable = proven, False
    else:
        user, reopenable = await _check_credentials(session, sessionmaker, email, body, client)
    # The owner proved the password (and second factor): the failures before count no more.
    await limiter.clear(*pair_quotas, account_quota)
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password(body.password)
    if reopenable:
        user.status, user.closed_at, user.deletion_due_at = UserStatus.ACTIVE, None, None
        await audit.record(
            session,
            actor=None,
            action="account.reopened",
            subject_type="user",
            subject_id=user.id,
            fields=["status"],
        )
        await accounts.notify_reopened(session, settings, user)
        await hooks.reopened(session, user, settings)
    if previous_token:
        await sessions.revoke_token(session, previous_token)
    user_session, token = await sessions.start(
        session,
        user,
        settings,
        ip=client.ip,
        user_agent=client.user_agent,
        mfa_verified=user.mfa_enabled_at is not None,
        reauthenticated=True,
    )
    sessions.event(session, "login_succeeded", user_id=user.id, ip=client.ip, user_agent=client.user_agent)
    await hooks.signed_in(session, user, client, settings)
    await session.flush()
    return user, user_session, token


async def logout(session: AsyncSession, user_session: UserSession) -> None:
    user_session.revoked_at = utcnow()
    await session.flush()


FORGOT_PASSWORD_JOB = "accounts.forgot_password"


async def forgot_password(session: AsyncSession, email: str, settings: Settings) -> None:
    """Queue the reset mail for this address; the job decides whether an account gets it."""
    # The same single insert whether or not the address has an account, so neither the
    # answer nor its timing says which (the lookup, token and mail happen in the job).
    await jobs.enqueue(
        session,
        FORGOT_PASSWORD_JOB,
        {"email": accounts.normalize_email(email)},
        max_attempts=settings.job_max_attempts,
    )


async def send_reset_link(session: AsyncSession, email: str, settings: Settings) -> None:
    """Mail a reset link if an active account has this address; otherwise do nothing."""
    user = await accounts.get_by_email(session, email)
    if user is None or user.status != UserStatus.ACTIVE:
        return
    token = await accounts.issue_token(session, user, TokenPurpose.RESET_PASSWORD)
    await notifications.send_email(
        session,
        settings,
        user.email,
        "reset_password",
        {"name": accounts.greeting_name(user), "url": public_url(settings, "/reset-password", token=token)},
    )
    await session.flush()


async def reset_password(session: AsyncSession, token: str, new_password: str, settings: Settings) -> None:
    """Set a new password from an emailed link; every session, token and pending link ends."""
    used = await accounts.consume_token(session, token, (TokenPurpose.RESET_PASSWORD,))
    user = await session.get(User, used.user_id)
    if user is None:
        # Tokens go with their user (ON DELETE CASCADE), so a consumed one always names a user.
        raise RuntimeError("a consumed reset token names no user")
    await accounts.set_password(session, user, new_password)
    # The link was opened from the mailbox: the address is proven, as by the verification link.
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    revoked = await revocation.revoke_access(session, user.id, settings, actor=None, reason="password reset")
    await hooks.password_reset(session, user, settings)
    await accounts.notify_password_changed(
        session, settings, user, revoked, sessions_signed_out=len(revoked.session_ids)
    )
    await audit.record(
        session,
        actor=None,
        action="account.password_reset",
        subject_type="user",
        subject_id=user.id,
        fields=["password"],
    )
    await session.flush()
