"""Plain functions that build test data."""

import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid4

import httpx
import pyotp
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.models import Role, User, UserStatus
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings, get_settings
from opmaestro.core.db import new_id
from opmaestro.core.security import password_hasher
from opmaestro.dsar.models import DataRequest, Jurisdiction, RequestKind, RequestState

PASSWORD = "correct horse battery staple"
POLICY_VERSION = "2026-01"
DEFAULT_MAX_ATTEMPTS: int = Settings.model_fields["job_max_attempts"].default


@lru_cache
def _password_hash(password: str) -> str:
    """Hash each test password once per run, at the cost the app is configured with (so signing
    in does not rehash it)."""
    return password_hasher(get_settings()).hash(password)


async def queued_job(
    session: AsyncSession, name: str, payload: dict[str, Any] | None = None, **options: Any
) -> jobs.Job:
    options.setdefault("max_attempts", DEFAULT_MAX_ATTEMPTS)
    job = await jobs.enqueue(session, name, payload or {}, **options)
    await session.commit()
    return job


async def create_user(
    session: AsyncSession,
    email: str = "member@example.com",
    *,
    password: str = PASSWORD,
    role: Role = Role.MEMBER,
    verified: bool = True,
    mfa_secret: str | None = None,
    status: UserStatus = UserStatus.ACTIVE,
    **fields: Any,
) -> User:
    """A user straight in the database (committed to the test's transaction)."""
    now = utcnow()
    values: dict[str, Any] = {
        "email": email.lower(),
        "name": "Test User",
        "country": "US",
        "age_attested_at": now,
        "password_hash": _password_hash(password),
        "password_changed_at": now,
        "role": role,
        "status": status,
        "email_verified_at": now if verified else None,
        "mfa_secret": mfa_secret,
        "mfa_enabled_at": now if mfa_secret else None,
    } | fields
    user = User(**values)
    session.add(user)
    await session.commit()
    return user


def registration(**overrides: Any) -> dict[str, Any]:
    """A valid registration body."""
    return {
        "name": "Ann Lee",
        "email": "ann@example.com",
        "password": PASSWORD,
        "country": "US",
        "company": "Acme Corp",
        "job_title": "Head of Sales",
        "phone": "+1 415 555 0132",
        "confirms_age_18_or_over": True,
        "accepted_terms_version": POLICY_VERSION,
        "accepted_privacy_version": POLICY_VERSION,
        "acknowledged_us_transfer_notice_version": POLICY_VERSION,
    } | overrides


async def sign_in(
    client: httpx.AsyncClient,
    email: str,
    password: str = PASSWORD,
    otp_secret: str | None = None,
    otp: str | None = None,
) -> str:
    """Sign the client in (it keeps the cookie) and set its CSRF header; returns the CSRF token.

    With `otp_secret` the current code is sent; `otp` sends that very code instead."""
    body: dict[str, Any] = {"email": email, "password": password}
    if otp or otp_secret:
        body["otp"] = otp or pyotp.TOTP(otp_secret or "").now()
    response = await client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    csrf: str = response.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = csrf
    return csrf


def fixed(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


async def create_personal_data(session: AsyncSession, user: User, *, rows: int = 2) -> None:
    """Rows about `user` in every table that holds personal data, `rows` of each where a person
    can have several, with every personal column filled (committed to the test's transaction).

    The export and access tests check that no table with personal columns is left out here, so
    a new table fails them until a row of it is added below."""
    from opmaestro.accounts.models import (
        AccountToken,
        OAuthClient,
        PersonalAccessToken,
        RecoveryCode,
        SecurityEvent,
        UserSession,
    )
    from opmaestro.audit import service as audit
    from opmaestro.billing.models import BillingCustomer, BillingInvoice, BillingSubscription
    from opmaestro.consent import ledger
    from opmaestro.consent.models import CollectionMethod, ConsentAction, ConsentEvidence
    from opmaestro.dsar.models import DataRequest, LegalHold
    from opmaestro.notifications.models import OutboxMessage
    from opmaestro.policies.models import PolicyAcceptance
    from opmaestro.webhooks.inbound.models import InboundEvent, PushChannel
    from opmaestro.webhooks.outbound.models import WebhookDelivery, WebhookEndpoint

    now = utcnow()
    user.company, user.job_title, user.phone = "Acme Corp", "Head of Sales", "+14155550132"
    user.date_of_birth = datetime(1990, 5, 17, tzinfo=UTC).date()
    user.mfa_secret = pyotp.random_base32()
    crm = OAuthClient(
        client_id=f"opm_ci_{user.id.hex}", name="CRM", secret_hash=f"cs-{user.id.hex}", scopes=[]
    )
    session.add(crm)
    await session.flush()
    session.add(BillingCustomer(user_id=user.id, stripe_customer_id=f"cus_{user.id.hex}"))
    for n in range(rows):
        suffix = f"{user.id.hex}-{n}"
        session.add_all(
            [
                BillingSubscription(
                    user_id=user.id,
                    stripe_subscription_id=f"sub_{suffix}",
                    stripe_customer_id=f"cus_{user.id.hex}",
                    plan_key="starter",
                    price_id="price_opmaestro_starter_monthly",
                    status="active",
                    current_period_end=now,
                    failed_invoice_id=f"in_{suffix}",
                    event_version=n,
                ),
                BillingInvoice(
                    user_id=user.id,
                    stripe_invoice_id=f"in_{suffix}",
                    stripe_subscription_id=f"sub_{suffix}",
                    number=f"OPM-{n:04d}",
                    amount_due=2900,
                    amount_paid=2900,
                    currency="eur",
                    status="paid",
                    issued_at=now,
                    hosted_invoice_url=f"https://invoice.stripe.com/i/in_{suffix}",
                    event_version=n,
                ),
            ]
        )
        action = ConsentAction.GRANTED if n % 2 == 0 else ConsentAction.WITHDRAWN
        event = await ledger.record(
            session,
            user_id=user.id,
            purpose_key=ledger.MARKETING_EMAIL,
            action=action,
            method=CollectionMethod.SETTINGS,
            actor=None,
            ip=f"203.0.113.{n + 1}",
            user_agent=f"Firefox/{120 + n}",
            jurisdiction="US",
        )
        session.add_all(
            [
                ConsentEvidence(
                    event_id=event.id,
                    user_id=user.id,
                    client_id=crm.id,
                    idempotency_key=f"key-{suffix}",
                    reference=f"crm-lead-{n}",
                    request_sha256="0" * 64,
                    source=f"Trade show form {n}",
                    collected_at=now,
                    notice_version="2026-10",
                    notice_text="Yes, send me news.",
                ),
                AccountToken(
                    user_id=user.id,
                    purpose="email_change",
                    token_hash=f"account-token-{suffix}",
                    new_email=f"new-{n}@example.com",
                    expires_at=now,
                ),
                PersonalAccessToken(
                    user_id=user.id,
                    name=f"CRM sync {n}",
                    token_hash=f"pat-{suffix}",
                    hint="opm_pat_abcd",
                    scopes=["profile:read"],
                    expires_at=now,
                    last_used_at=now,
                ),
                RecoveryCode(user_id=user.id, code_hash=f"recovery-{suffix}"),
                SecurityEvent(
                    user_id=user.id, kind="login", ip_address=f"198.51.100.{n + 1}", user_agent=f"Chrome/{n}"
                ),
                UserSession(
                    user_id=user.id,
                    token_hash=f"session-{suffix}",
                    last_seen_at=now,
                    expires_at=now,
                    ip_address=f"192.0.2.{n + 1}",
                    user_agent=f"Safari/{n}",
                ),
                OutboxMessage(
                    to_address=user.email,
                    category="service",
                    user_id=user.id,
                    template="welcome",
                    subject=f"Welcome, {user.name} ({n})",
                    text_body=f"Hello {user.name},\nline two, with a comma",
                    html_body=f'<p>Hello "{user.name}"</p>',
                    headers={"X-Message": str(n)},
                    status="sent",
                    sent_at=now,
                ),
                PolicyAcceptance(
                    user_id=user.id,
                    kind="privacy",
                    version=f"2026-0{n + 1}",
                    accepted_at=now,
                    method="signup",
                ),
                DataRequest(
                    kind="correction",
                    user_id=user.id,
                    email=user.email,
                    jurisdiction="other",
                    details=f"My job title is wrong ({n})",
                    fields=["job_title"],
                    due_at=now,
                    outcome="Corrected",
                    state="completed",
                    verification_hash=f"verify-{suffix}",
                ),
                LegalHold(user_id=user.id, category="billing", reason=f"Tax audit {n}"),
                InboundEvent(
                    provider="google_risc",
                    event_id=f"jti-{suffix}",
                    event_type="https://schemas.openid.net/secevent/risc/event-type/sessions-revoked",
                    object_id=f"google-sub-{n}",
                    object_version=n,
                    body=f"eyJ.risc-token-{n}.sig",
                    user_id=user.id,
                    state="handled",
                ),
                PushChannel(
                    owner_user_id=user.id,
                    connection_ref=f"connection-{n}",
                    channel_id=f"channel-{suffix}",
                    token_hash=f"channel-token-{suffix}",
                    resource_id=f"calendar-resource-{n}",
                    expires_at=now,
                ),
            ]
        )
        endpoint = WebhookEndpoint(
            id=new_id(),
            user_id=user.id,
            url=f"https://hooks.example.com/{suffix}",
            description=f"My CRM {n}",
            event_types=["consent.changed"],
            enabled=True,
            secret_encrypted=f"encrypted-{suffix}",
            previous_secret_encrypted=f"previous-{suffix}",
            consecutive_failures=0,
        )
        session.add(endpoint)
        await session.flush()
        session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                subject_user_id=user.id,
                event_type="consent.changed",
                payload=f'{{"type":"consent.changed","data":{{"user_id":"{user.id}"}}}}',
                status="succeeded",
                attempts=1,
            )
        )
        await audit.record(
            session,
            actor=None,
            action="user.updated",
            subject_type="user",
            subject_id=user.id,
            reason=f"Support ticket {n}",
        )
    await create_linked_devices(session, user, rows=rows)
    await create_integration_data(session, user, rows=rows)
    await session.commit()


async def create_integration_data(session: AsyncSession, user: User, *, rows: int = 2) -> None:
    """A Google and a Gusto connection of `user` with imported rows, a pending authorization and a
    Stripe grant waiting to be revoked (not committed); the tokens are placeholders, never decrypted here."""
    from opmaestro.integrations.models import (
        IntegrationAuthorization,
        IntegrationCalendarEvent,
        IntegrationConnection,
        IntegrationEmployee,
        IntegrationRevocation,
    )

    now = utcnow()
    # A Stripe grant disconnected and not yet deauthorized at Stripe (its job still to run).
    session.add(
        IntegrationRevocation(
            user_id=user.id,
            provider="stripe",
            connection_id=uuid4(),
            subject=f"acct_{user.id.hex[:16]}",
            reason="disconnected by the account",
        )
    )
    google = IntegrationConnection(
        user_id=user.id,
        provider="google",
        subject=f"google-{user.id.hex}",
        account_email=f"calendar-{user.id.hex}@gmail.example",
        account_name="Calendar Owner",
        granted_scopes=["openid", "email"],
        access_token="gAAAA-access-placeholder",
        refresh_token="gAAAA-refresh-placeholder",
        expires_at=now,
        refreshed_at=now,
        last_synced_at=now,
    )
    gusto = IntegrationConnection(
        user_id=user.id,
        provider="gusto",
        subject=f"gusto-{user.id.hex}",
        account_name="Lee Bakery LLC",
        granted_scopes=["companies:read"],
        access_token="gAAAA-access-placeholder",
        refresh_token="gAAAA-refresh-placeholder",
        expires_at=now,
        refreshed_at=now,
        last_synced_at=now,
    )
    session.add_all([google, gusto])
    await session.flush()
    for n in range(rows):
        session.add_all(
            [
                IntegrationCalendarEvent(
                    connection_id=google.id,
                    user_id=user.id,
                    external_id=f"event-{n}",
                    title=f"Supplier call {n}",
                    starts_at=now,
                    ends_at=now,
                    all_day=bool(n % 2),
                ),
                IntegrationEmployee(
                    connection_id=gusto.id,
                    user_id=user.id,
                    external_id=f"employee-{n}",
                    first_name=f"Worker{n}",
                    last_name="Baker",
                    email=f"worker{n}@bakery.example",
                    job_title="Cashier",
                ),
            ]
        )
    session.add(
        IntegrationAuthorization(
            user_id=user.id,
            provider="stripe",
            state_hash=f"state-{user.id.hex}"[:64],
            code_verifier="gAAAA-verifier-placeholder",
            expires_at=now,
        )
    )


async def create_linked_devices(session: AsyncSession, user: User, *, rows: int = 1) -> list[UUID]:
    """Browsers linked to `user`, each with a cookie choice on its own ledger chain (not committed)."""
    from opmaestro.consent import ledger
    from opmaestro.consent.models import CollectionMethod, ConsentAction
    from opmaestro.cookies import devices
    from opmaestro.cookies.models import CookieDevice

    now = utcnow()
    found = []
    for n in range(rows):
        device = CookieDevice(
            id=devices.new_device_id(),
            user_id=user.id,
            revision=1,
            created_at=now,
            chosen_at=now,
            linked_at=now,
        )
        session.add(device)
        await session.flush()
        await ledger.append(
            session,
            devices.device_ledger(device.id, user.id),
            [ledger.Answer("analytics", ConsentAction.GRANTED, CollectionMethod.BANNER)],
            actor=None,
            ip=f"203.0.113.{n + 1}",
            user_agent=f"Firefox/{120 + n}",
            jurisdiction=None,
        )
        found.append(device.id)
    return found


async def create_person_with_data(
    session: AsyncSession, email: str, *, name: str, phone: str, **fields: Any
) -> "User":
    """A user with rows in every table that holds a person's data (erasure), their email, phone
    and name copied into free text where the product copies them (mail, token names, agents)."""
    import secrets
    from datetime import date, timedelta

    from opmaestro.accounts.models import (
        AccountToken,
        PersonalAccessToken,
        RecoveryCode,
        SecurityEvent,
        TokenPurpose,
        UserSession,
    )
    from opmaestro.audit import service as audit
    from opmaestro.billing.models import BillingCustomer, BillingInvoice, BillingSubscription
    from opmaestro.consent import ledger
    from opmaestro.consent.models import CollectionMethod, ConsentAction
    from opmaestro.dsar.models import DataRequest, Jurisdiction, LegalHold, RequestKind, RequestState
    from opmaestro.notifications.models import OutboxMessage
    from opmaestro.policies.models import PolicyAcceptance
    from opmaestro.webhooks.inbound.models import InboundEvent, PushChannel
    from opmaestro.webhooks.outbound.models import WebhookDelivery, WebhookEndpoint

    def token() -> str:
        return secrets.token_hex(32)

    values = {
        "name": name,
        "phone": phone,
        "company": "Acme Corp",
        "job_title": "Head of Sales",
        "date_of_birth": date(1990, 1, 2),
        "mfa_secret": pyotp.random_base32(),
    } | fields
    user = await create_user(session, email, **values)
    now = utcnow()
    agent = f"Mozilla/5.0 ({name}'s laptop)"
    session.add_all(
        [
            UserSession(
                user_id=user.id,
                token_hash=token(),
                last_seen_at=now,
                expires_at=now + timedelta(hours=12),
                ip_address="203.0.113.7",
                user_agent=agent,
            ),
            AccountToken(
                user_id=user.id,
                purpose=TokenPurpose.CHANGE_EMAIL,
                token_hash=token(),
                new_email=f"new.{email}",
                expires_at=now + timedelta(days=1),
            ),
            PersonalAccessToken(
                user_id=user.id,
                name=f"{name} CRM sync",
                token_hash=token(),
                hint="a1b2",
                scopes=["profile:read"],
                expires_at=now + timedelta(days=30),
                last_used_at=now,
            ),
            RecoveryCode(user_id=user.id, code_hash=token()),
            SecurityEvent(user_id=user.id, kind="signed_in", ip_address="203.0.113.7", user_agent=agent),
            PolicyAcceptance(
                user_id=user.id, kind="terms", version=POLICY_VERSION, accepted_at=now, method="registration"
            ),
            LegalHold(
                user_id=user.id,
                category="billing",
                reason="invoice dispute, settled",
                released_at=now,
            ),
            DataRequest(
                kind=RequestKind.EXPORT,
                state=RequestState.COMPLETED,
                user_id=user.id,
                jurisdiction=Jurisdiction.OTHER,
                details="Please send me everything",
                due_at=now,
                closed_at=now,
            ),
            InboundEvent(
                provider="stripe",
                event_id=f"evt_{token()[:24]}",
                event_type="customer.updated",
                object_id="cus_erasure",
                object_version=1,
                body=json.dumps({"data": {"object": {"email": email, "name": name, "phone": phone}}}),
                user_id=user.id,
                state="handled",
            ),
            PushChannel(
                owner_user_id=user.id,
                connection_ref="connection-1",
                channel_id=token()[:32],
                token_hash=token(),
                resource_id="primary-calendar",
                expires_at=now + timedelta(days=7),
            ),
        ]
    )
    session.add_all(
        [
            BillingCustomer(user_id=user.id, stripe_customer_id=f"cus_{token()[:24]}"),
            BillingSubscription(
                user_id=user.id,
                stripe_subscription_id=f"sub_{token()[:24]}",
                stripe_customer_id="cus_erasure",
                plan_key="team",
                price_id="price_opmaestro_team_monthly",
                status="past_due",
                current_period_end=now,
                failed_invoice_id="in_erasure",
            ),
            BillingInvoice(
                user_id=user.id,
                stripe_invoice_id=f"in_{token()[:24]}",
                stripe_subscription_id="sub_erasure",
                number="OPM-0001",
                amount_due=9900,
                amount_paid=0,
                currency="eur",
                status="open",
                issued_at=now,
                hosted_invoice_url=f"https://invoice.stripe.com/i/{token()[:24]}",
                event_version=1,
            ),
        ]
    )
    for owner in (user.id, None):
        session.add(
            OutboxMessage(
                to_address=email,
                category="service",
                user_id=owner,
                template="verify_email",
                subject=f"Welcome, {name}",
                text_body=f"Hello {name}, we will call you at {phone}.",
                html_body=f"<p>Hello {name}, we will call you at {phone}.</p>",
                headers={"Message-ID": f"<{token()}@example.test>", "X-To": email},
                status="sent",
            )
        )
    endpoint = WebhookEndpoint(
        id=new_id(),
        user_id=user.id,
        url=f"https://hooks.example.com/{user.id.hex}",
        description=f"{name}'s CRM",
        event_types=["consent.changed"],
        enabled=True,
        secret_encrypted=token(),
        consecutive_failures=0,
    )
    session.add(endpoint)
    await session.flush()
    session.add(
        WebhookDelivery(
            endpoint_id=endpoint.id,
            subject_user_id=user.id,
            event_type="account.closed",
            payload=f'{{"type":"account.closed","data":{{"user_id":"{user.id}"}}}}',
            status="succeeded",
            attempts=1,
        )
    )
    await ledger.record(
        session,
        user_id=user.id,
        purpose_key="product_updates",
        action=ConsentAction.GRANTED,
        method=CollectionMethod.SIGNUP,
        actor=None,
        ip="203.0.113.7",
        user_agent="Mozilla/5.0 (X11; Linux x86_64)",
    )
    await audit.record(
        session, actor=None, action="user.updated", subject_type="user", subject_id=user.id, fields=["phone"]
    )
    await create_api_consent(session, user)
    await create_linked_devices(session, user)
    await create_integration_data(session, user, rows=1)
    await session.commit()
    return user


async def create_api_consent(session: AsyncSession, user: User) -> None:
    """A consent an OAuth client recorded for `user`, with its evidence (not committed)."""
    from opmaestro.accounts.models import OAuthClient
    from opmaestro.consent import ledger
    from opmaestro.consent.models import CollectionMethod, ConsentAction, ConsentEvidence

    crm = OAuthClient(
        client_id=f"opm_ci_api_{user.id.hex}", name="CRM", secret_hash=f"api-{user.id.hex}", scopes=[]
    )
    session.add(crm)
    await session.flush()
    event = await ledger.record(
        session,
        user_id=user.id,
        purpose_key="analytics",
        action=ConsentAction.GRANTED,
        method=CollectionMethod.API,
        actor=None,
        ip=None,
        user_agent=None,
    )
    session.add(
        ConsentEvidence(
            event_id=event.id,
            user_id=user.id,
            client_id=crm.id,
            idempotency_key=f"key-{user.id.hex}",
            reference=f"lead-{user.id.hex[:8]}",
            request_sha256="0" * 64,
            source="Trade show sign-up form",
            collected_at=utcnow(),
            notice_text="Yes, you may measure how I use the product.",
        )
    )


async def create_data_request(session: AsyncSession, **fields: Any) -> DataRequest:
    """A verified export request by email unless `fields` say otherwise (committed)."""
    from datetime import timedelta

    values: dict[str, Any] = {
        "kind": RequestKind.EXPORT,
        "state": RequestState.VERIFIED,
        "jurisdiction": Jurisdiction.OTHER,
        "due_at": utcnow() + timedelta(days=30),
        "email": "someone@example.com",
        "fields": [],
        "progress_percent": 0,
    } | fields
    request = DataRequest(**values)
    session.add(request)
    await session.commit()
    return request
