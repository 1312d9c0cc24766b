"""Registration, email verification, profile, email and password changes, closing an account."""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import hooks, revocation
from opmaestro.accounts.deps import Principal
from opmaestro.accounts.exceptions import EmailTaken, InvalidToken, PolicyVersionMismatch, WrongPassword
from opmaestro.accounts.models import AccountToken, PersonalAccessToken, TokenPurpose, User, UserStatus
from opmaestro.accounts.password_checks import PasswordChecks
from opmaestro.accounts.schemas import EmailChange, PasswordChange, ProfileUpdate, RegistrationCreate, to_e164
from opmaestro.audit import service as audit
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.errors import FieldInvalid
from opmaestro.core.http import Client
from opmaestro.core.links import public_url
from opmaestro.core.security import hash_password, hash_token, new_token, verify_password
from opmaestro.notifications import service as notifications
from opmaestro.policies import service as policies
from opmaestro.policies.models import PolicyKind

TOKEN_LIFETIMES = {
    TokenPurpose.VERIFY_EMAIL: timedelta(hours=24),
    TokenPurpose.CHANGE_EMAIL: timedelta(hours=24),
    TokenPurpose.RESET_PASSWORD: timedelta(hours=1),
}
INVALID_LINK = "This link is invalid or has expired; ask for a new one."
ACCEPTED_VERSIONS = {
    PolicyKind.TERMS: "accepted_terms_version",
    PolicyKind.PRIVACY: "accepted_privacy_version",
    PolicyKind.US_TRANSFER_NOTICE: "acknowledged_us_transfer_notice_version",
}
CHANGED_POLICY = {
    PolicyKind.TERMS: "The terms of service have",
    PolicyKind.PRIVACY: "The privacy policy has",
    PolicyKind.US_TRANSFER_NOTICE: "The notice on transfers to the US has",
}


def normalize_email(email: str) -> str:
    return email.strip().lower()


def greeting_name(user: User) -> str | None:
    """The name to greet the account's address with, or None while the address is unproven:
    anyone can sign up with someone else's address, and the name is their free text ("Your
    account is locked! Restore at ..."), which must not reach that mailbox."""
    return user.name if user.email_verified_at is not None else None


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalize_email(email)))


async def issue_token(
    session: AsyncSession, user: User, purpose: TokenPurpose, *, new_email: str | None = None
) -> str:
    """A single-use emailed token; earlier unused ones of the same purpose stop working."""
    now = utcnow()
    await session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None)
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    token = new_token()
    session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_token(token),
            new_email=new_email,
            expires_at=now + TOKEN_LIFETIMES[purpose],
        )
    )
    return token


async def consume_token(
    session: AsyncSession, token: str, purposes: tuple[TokenPurpose, ...]
) -> AccountToken:
    """Mark an emailed token used, or raise InvalidToken if it is unknown, used or expired."""
    found = await session.scalar(
        select(AccountToken).where(AccountToken.token_hash == hash_token(token)).with_for_update()
    )
    if (
        found is None
        or found.purpose not in purposes
        or found.used_at is not None
        or utcnow() >= found.expires_at
    ):
        raise InvalidToken(INVALID_LINK)
    found.used_at = utcnow()
    return found


async def expire_pending_links(session: AsyncSession, user_id: UUID) -> None:
    """Spend every emailed link still open, so none acts on an account that was closed or disabled."""
    await session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user_id, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def register(
    session: AsyncSession,
    body: RegistrationCreate,
    settings: Settings,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    cookies: Mapping[str, str] | None = None,
) -> None:
    """Create the account and mail a verification link; an existing address gets a notice instead."""
    # Hash before any query: new and existing addresses cost the same and reveal nothing, and
    # no pooled connection waits on Argon2.
    password_hash = await hash_password(body.password)
    current = await policies.current_versions(session)
    for kind, field in ACCEPTED_VERSIONS.items():
        version = current.get(kind)
        if version is None or getattr(body, field) != version.version:
            raise PolicyVersionMismatch(
                f"{CHANGED_POLICY[kind]} changed; read the current version.",
                extra={"kind": kind.value, "current_version": version and version.version},
            )
    email = normalize_email(body.email)
    if (existing := await get_by_email(session, email)) is not None:
        await notifications.send_email(
            session,
            settings,
            existing.email,
            "account_exists",
            {
                "name": greeting_name(existing),
                "sign_in_url": public_url(settings, "/sign-in"),
                "reset_url": public_url(settings, "/forgot-password"),
            },
        )
        return
    now = utcnow()
    user = User(
        email=email,
        name=body.name,
        company=body.company or None,
        job_title=body.job_title or None,
        phone=body.phone,
        country=body.country,
        date_of_birth=body.date_of_birth,
        age_attested_at=now,
        password_hash=password_hash,
        password_changed_at=now,
    )
    session.add(user)
    await session.flush()
    for version in current.values():
        policies.record_acceptance(session, user.id, version, method="signup")
    client = Client(ip=ip, user_agent=user_agent, cookies=cookies or {})
    await hooks.registered(session, user, client, body)
    await hooks.signed_in(session, user, client, settings)
    await audit.record(
        session,
        actor=None,
        action="account.registered",
        subject_type="user",
        subject_id=user.id,
        fields=[f for f in body.model_fields_set if f != "password"],
    )
    token = await issue_token(session, user, TokenPurpose.VERIFY_EMAIL)
    await notifications.send_email(
        session,
        settings,
        email,
        "verify_email",
        {"url": public_url(settings, "/verify-email", token=token)},
    )
    await session.flush()


async def resend_verification(session: AsyncSession, email: str, settings: Settings) -> None:
    user = await get_by_email(session, email)
    if user is None or user.email_verified_at is not None or user.status != UserStatus.ACTIVE:
        return
    token = await issue_token(session, user, TokenPurpose.VERIFY_EMAIL)
    await notifications.send_email(
        session,
        settings,
        user.email,
        "verify_email",
        {"url": public_url(settings, "/verify-email", token=token)},
    )
    await session.flush()


async def verify_email(session: AsyncSession, token: str, settings: Settings) -> User:
    """Confirm a new account's address, or switch to a new address after an email change."""
    used = await consume_token(session, token, (TokenPurpose.VERIFY_EMAIL, TokenPurpose.CHANGE_EMAIL))
    user = await session.get(User, used.user_id)
    if user is None:
        raise InvalidToken(INVALID_LINK)
    fields = ["email_verified_at"]
    if used.purpose == TokenPurpose.CHANGE_EMAIL:
        if used.new_email is None:
            raise InvalidToken(INVALID_LINK)
        if await get_by_email(session, used.new_email) is not None:
            raise EmailTaken("That address now belongs to another account.")
        old_email, user.email = user.email, used.new_email
        fields.append("email")
        # Links mailed to the old address (a password reset, say) must not act on the account now.
        await expire_pending_links(session, user.id)
        await notifications.send_email(
            session, settings, old_email, "email_changed", {"name": greeting_name(user)}
        )
    user.email_verified_at = utcnow()
    await audit.record(
        session,
        actor=None,
        action="account.email_verified",
        subject_type="user",
        subject_id=user.id,
        fields=fields,
    )
    await session.flush()
    return user


async def update_profile(session: AsyncSession, principal: Principal, body: ProfileUpdate) -> User:
    user = principal.signed_in_user
    changes: dict[str, Any] = body.model_dump(include=body.model_fields_set)
    for optional in ("company", "job_title", "phone"):
        if optional in changes and not changes[optional]:
            changes[optional] = None
    if changes.get("phone"):
        try:
            changes["phone"] = to_e164(changes["phone"], changes.get("country") or user.country)
        except ValueError as error:
            raise FieldInvalid("phone", str(error)) from None
    changed = sorted(name for name, value in changes.items() if getattr(user, name) != value)
    for name in changed:
        setattr(user, name, changes[name])
    if changed:
        await audit.record(
            session,
            actor=principal,
            action="profile.updated",
            subject_type="user",
            subject_id=user.id,
            fields=changed,
        )
    await session.flush()
    return user


async def request_email_change(
    session: AsyncSession, principal: Principal, body: EmailChange, settings: Settings, checks: PasswordChecks
) -> None:
    """Mail a confirmation link to the new address and a notice to the current one."""
    user = principal.signed_in_user
    async with checks.guard(user):
        if not await verify_password(user.password_hash, body.password):
            raise WrongPassword("The password is not correct.")
    new_email = normalize_email(body.new_email)
    if new_email == user.email:
        return
    if await get_by_email(session, new_email) is not None:
        # The current inbox must look the same either way, or it would reveal who has an account.
        await notifications.send_email(
            session,
            settings,
            new_email,
            "email_change_address_taken",
            {
                "sign_in_url": public_url(settings, "/sign-in"),
                "reset_url": public_url(settings, "/forgot-password"),
            },
        )
    else:
        token = await issue_token(session, user, TokenPurpose.CHANGE_EMAIL, new_email=new_email)
        await notifications.send_email(
            session,
            settings,
            new_email,
            "confirm_email_change",
            {"url": public_url(settings, "/verify-email", token=token)},
        )
    await notifications.send_email(
        session, settings, user.email, "email_change_requested", {"name": greeting_name(user)}
    )
    await audit.record(
        session,
        actor=principal,
        action="profile.email_change_requested",
        subject_type="user",
        subject_id=user.id,
        fields=["email"],
    )
    await session.flush()


async def change_password(
    session: AsyncSession,
    principal: Principal,
    body: PasswordChange,
    settings: Settings,
    checks: PasswordChecks,
) -> None:
    """Change the password; end every session, the pending links and the tokens not kept."""
    user = principal.signed_in_user
    async with checks.guard(user):
        if not await verify_password(user.password_hash, body.current_password):
            raise WrongPassword("The current password is not correct.")
    keep = set(body.keep_token_ids)
    if keep:
        live = set(
            await session.scalars(
                select(PersonalAccessToken.id).where(
                    PersonalAccessToken.id.in_(keep),
                    PersonalAccessToken.user_id == user.id,
                    PersonalAccessToken.revoked_at.is_(None),
                    PersonalAccessToken.expires_at > utcnow(),
                )
            )
        )
        if unknown := sorted(str(token_id) for token_id in keep - live):
            raise FieldInvalid("keep_token_ids", f"Not one of your working tokens: {', '.join(unknown)}.")
    await set_password(session, user, body.new_password)
    revoked = await revocation.revoke_access(
        session, user.id, settings, actor=principal, reason="password changed", keep_token_ids=keep
    )
    current = principal.session.id if principal.session else None
    await notify_password_changed(
        session, settings, user, revoked, sessions_signed_out=revoked.other_sessions(current)
    )
    await audit.record(
        session,
        actor=principal,
        action="account.password_changed",
        subject_type="user",
        subject_id=user.id,
        fields=["password"],
    )
    await session.flush()


async def set_password(session: AsyncSession, user: User, password: str) -> None:
    """Store a new password hash; callers revoke what the old password reached."""
    user.password_hash = await hash_password(password)
    user.password_changed_at = utcnow()


async def notify_reopened(session: AsyncSession, settings: Settings, user: User) -> None:
    """Tell the owner a closed account was opened again: whoever knows the password stopped
    its deletion."""
    await notifications.send_email(
        session,
        settings,
        user.email,
        "account_reopened",
        {
            "name": greeting_name(user),
            "reopened_at": utcnow().strftime("%Y-%m-%d %H:%M"),
            "security_url": public_url(settings, "/security"),
            "close_url": public_url(settings, "/close-account"),
        },
        user_id=user.id,
    )


async def notify_password_changed(
    session: AsyncSession,
    settings: Settings,
    user: User,
    revoked: revocation.Revoked,
    *,
    sessions_signed_out: int,
) -> None:
    """Tell the owner their password changed, and what the change ended."""
    await notifications.send_email(
        session,
        settings,
        user.email,
        "password_changed",
        {
            "name": greeting_name(user),
            "sessions_signed_out": sessions_signed_out,
            "tokens_revoked": revoked.token_names,
            "links_cancelled": len(revoked.link_ids),
        },
    )


async def close_account(
    session: AsyncSession, principal: Principal, password: str, settings: Settings, checks: PasswordChecks
) -> User:
    """Close the account: sign out everywhere, revoke tokens, schedule deletion."""
    user = principal.signed_in_user
    async with checks.guard(user):
        if not await verify_password(user.password_hash, password):
            raise WrongPassword("The password is not correct.")
    now = utcnow()
    user.status = UserStatus.CLOSED
    user.closed_at = now
    user.deletion_due_at = now + timedelta(days=settings.account_deletion_grace_days)
    await revocation.revoke_access(session, user.id, settings, actor=principal, reason="account closed")
    await hooks.account_ended(session, user.id, settings, "account closed")
    await notifications.send_email(
        session,
        settings,
        user.email,
        "account_closed",
        {
            "name": greeting_name(user),
            "deletion_due_at": user.deletion_due_at.date().isoformat(),
            "sign_in_url": public_url(settings, "/sign-in"),
        },
    )
    await audit.record(
        session,
        actor=principal,
        action="account.closed",
        subject_type="user",
        subject_id=user.id,
        fields=["status"],
    )
    await hooks.closed(session, user)
    await session.flush()
    return user


async def count_admins(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == "admin", User.status == UserStatus.ACTIVE)
        )
        or 0
    )
