"""Visitors' cookie choices: one ledger append per choice, on the device's chain (and the account's)."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.deps import Principal
from opmaestro.consent import ledger, purposes, receipts
from opmaestro.consent.exceptions import ConsentEventNotFound
from opmaestro.consent.models import CollectionMethod, ConsentAction, ConsentEvent, ConsentState
from opmaestro.cookies import banner, devices
from opmaestro.cookies.exceptions import InvalidDevice, NoCookieChoice, StaleBannerRevision
from opmaestro.cookies.models import CookieDevice, CookieDeviceState
from opmaestro.cookies.schemas import (
    CookieCategoryChoices,
    CookieConsent,
    CookieConsentCreate,
    CookieConsentEventRead,
)
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.http import Client

# The banner's optional categories and the purposes the ledger records them under, in this order.
CATEGORY_PURPOSES = {
    "preferences": "personalization",
    "analytics": "analytics",
    "marketing": "marketing_cookies",
}
PURPOSE_CATEGORIES = {purpose: category for category, purpose in CATEGORY_PURPOSES.items()}
NECESSARY_PURPOSE = "necessary_cookies"
MARKETING = "marketing"


@dataclass(frozen=True)
class Signals:
    """What the browser said about tracking: Sec-GPC, the page's navigator.globalPrivacyControl, DNT."""

    gpc_header: bool
    gpc_body: bool
    do_not_track: bool

    def opt_out(self, settings: Settings) -> bool:
        return self.gpc_header or self.gpc_body or (settings.honor_do_not_track and self.do_not_track)


@dataclass(frozen=True)
class Recorded:
    consent: CookieConsent
    device_id: UUID
    new_device: bool


def answers_of(body: CookieConsentCreate, opt_out: bool) -> list[ledger.Answer]:
    """One answer per optional category; an opt-out signal turns marketing off, recorded as such."""
    accepted = set(body.accepted)
    answers = []
    for category, purpose_key in CATEGORY_PURPOSES.items():
        if category == MARKETING and opt_out:
            answers.append(ledger.Answer(purpose_key, None, CollectionMethod.GPC))
        else:
            granted = category in accepted
            answers.append(
                ledger.Answer(
                    purpose_key, ConsentAction.GRANTED if granted else None, CollectionMethod.BANNER
                )
            )
    return answers


@dataclass(frozen=True)
class _Current:
    """One purpose's current answer, from a state row of the device or the account."""

    purpose_key: str
    granted: bool
    action: str
    method: str
    event_id: UUID
    since: datetime


_CURRENT_FIELDS = ("purpose_key", "granted", "action", "method", "event_id", "since")


def _consent(revision: int, appended: list[ledger.Appended]) -> CookieConsent:
    return _from_states(
        revision, [_Current(**{name: item.state[name] for name in _CURRENT_FIELDS}) for item in appended]
    )


def _current(state: CookieDeviceState | ConsentState) -> _Current:
    return _Current(**{name: getattr(state, name) for name in _CURRENT_FIELDS})


def _from_states(revision: int, states: list[_Current]) -> CookieConsent:
    """A choice from the state rows of the three purposes (a missing one counts as refused)."""
    order = list(CATEGORY_PURPOSES.values())
    states = sorted(states, key=lambda state: order.index(state.purpose_key))
    granted = {PURPOSE_CATEGORIES[state.purpose_key]: state.granted for state in states}
    newest = max(states, key=lambda state: state.since)
    marketing = next((state for state in states if state.purpose_key == CATEGORY_PURPOSES[MARKETING]), None)
    gpc = marketing is not None and marketing.method == CollectionMethod.GPC
    return CookieConsent(
        revision=revision,
        categories=CookieCategoryChoices(
            preferences=granted.get("preferences", False),
            analytics=granted.get("analytics", False),
            marketing=granted.get(MARKETING, False),
        ),
        chosen_at=newest.since,
        method=CollectionMethod.GPC if gpc else CollectionMethod(newest.method),
        gpc_honored=gpc,
        events=[
            CookieConsentEventRead(
                event_id=state.event_id,
                purpose_key=state.purpose_key,
                action=ConsentAction(state.action),
                method=CollectionMethod(state.method),
            )
            for state in states
        ],
    )


async def record_choice(
    session: AsyncSession,
    settings: Settings,
    body: CookieConsentCreate,
    *,
    device_id: UUID | None,
    principal: Principal | None,
    client: Client,
    signals: Signals,
) -> Recorded:
    """Record a visitor's whole choice in one go: on the device's chain, and the account's when signed in.

    Only a choice made on the banner's current revision counts: one made on an older text (or a
    made-up revision) would let a browser skip the question a material change asks again."""
    current_revision, _ = await banner.current_version(session)
    if body.revision != current_revision:
        raise StaleBannerRevision(
            f"This choice was made on revision {body.revision} of the cookie banner; the current "
            f"revision is {current_revision}. Show the banner again and record the new choice."
        )
    now = utcnow()
    user = principal.signed_in_user if principal is not None else None
    device = await devices.touch_or_create(
        session, device_id, revision=body.revision, now=now, user_id=user.id if user else None
    )
    if user is not None and device.user_id != user.id and not device.new:
        await link(session, device.id, user.id, now, answers_follow=device.user_id is None)
    answers = answers_of(body, signals.opt_out(settings))
    on_device = await _append(
        session,
        devices.device_ledger(device.id, user.id if user else device.user_id),
        answers,
        principal,
        client,
        now,
    )
    shown = on_device
    if user is not None:
        shown = await _append(session, _account_ledger(user.id, device.id), answers, principal, client, now)
    return Recorded(_consent(body.revision, shown), device.id, device.new)


async def _append(
    session: AsyncSession,
    subject: ledger.LedgerSubject,
    answers: list[ledger.Answer],
    actor: Principal | None,
    client: Client,
    now: datetime,
) -> list[ledger.Appended]:
    """Append a browser's answers to one chain (the jurisdiction is the account's, if any)."""
    return await ledger.append(
        session,
        subject,
        answers,
        actor=actor,
        ip=client.ip,
        user_agent=client.user_agent,
        jurisdiction=None,
        at=now,
    )


def _account_ledger(user_id: UUID, device_id: UUID) -> ledger.LedgerSubject:
    """The account's chain; its events name the device the choice was made on."""
    account = ledger.user_ledger(user_id)
    return ledger.LedgerSubject(
        account.subject, user_id, device_id.hex, account.state, account.owner_column, account.owner
    )


_DEVICE_STATES = select(CookieDeviceState).where(
    CookieDeviceState.device_id == bindparam("device_id"),
    CookieDeviceState.purpose_key.in_(list(CATEGORY_PURPOSES.values())),
)
_ACCOUNT_STATES = select(ConsentState).where(
    ConsentState.user_id == bindparam("user_id"),
    ConsentState.purpose_key.in_(list(CATEGORY_PURPOSES.values())),
)
_ACCOUNT_REVISION = select(func.max(CookieDevice.revision)).where(
    CookieDevice.user_id == bindparam("user_id")
)


async def current_choice(
    session: AsyncSession, *, device_id: UUID | None, principal: Principal | None
) -> CookieConsent:
    """The newest answer per purpose of the signed-in account and this browser, or of the browser
    alone; NoCookieChoice when there is none.

    A browser that is signed in may still answer as a visitor (the marketing site's banner sends
    no CSRF header): that answer is newer than the account's, and must not be undone by it."""
    device = await session.get(CookieDevice, device_id) if device_id is not None else None
    user_id = principal.signed_in_user.id if principal is not None else None
    on_device: list[_Current] = []
    if device is not None:
        states = (await session.scalars(_DEVICE_STATES, {"device_id": device.id})).all()
        # Signed in, only the browser's answers given for this account (or for none) count.
        on_device = [
            _current(state) for state in states if user_id is None or state.user_id in (None, user_id)
        ]
    if user_id is None:
        if device is None or not on_device:
            raise NoCookieChoice("This browser has made no cookie choice yet.")
        return _from_states(device.revision or 0, on_device)
    on_account = [_current(state) for state in (await session.scalars(_ACCOUNT_STATES, {"user_id": user_id}))]
    if not on_account and not on_device:
        raise NoCookieChoice("This account has made no cookie choice yet.")
    newest: dict[str, _Current] = {}
    for answer in [*on_account, *on_device]:
        if answer.purpose_key not in newest or answer.since > newest[answer.purpose_key].since:
            newest[answer.purpose_key] = answer
    account_revision = await session.scalar(_ACCOUNT_REVISION, {"user_id": user_id}) or 0
    device_revision = (device.revision or 0) if device is not None and on_device else 0
    return _from_states(max(account_revision, device_revision), list(newest.values()))


async def device_receipt(
    session: AsyncSession, settings: Settings, device_id: UUID, event_id: UUID
) -> tuple[str, dict[str, object]]:
    """The signed receipt of one event of this device's own chain."""
    entry = await session.scalar(
        select(ConsentEvent).where(
            ConsentEvent.id == event_id, ConsentEvent.subject == devices.device_subject(device_id)
        )
    )
    if entry is None:
        raise ConsentEventNotFound("No such consent event for this browser.")
    purpose = await purposes.get_purpose(session, entry.purpose_key)
    return await receipts.issue(session, entry, purpose, settings)


async def link(
    session: AsyncSession, device_id: UUID, user_id: UUID, now: datetime, *, answers_follow: bool
) -> None:
    """The device belongs to the account from now on.

    Its answers follow it (for access and erasure) only when `answers_follow`: answers given while
    the device belonged to another account stay that person's, on their rows."""
    await session.execute(
        update(CookieDevice)
        .where(CookieDevice.id == device_id)
        .values(user_id=user_id, linked_at=now)
        .execution_options(synchronize_session=False)
    )
    if not answers_follow:
        return
    await session.execute(
        update(CookieDeviceState)
        .where(CookieDeviceState.device_id == device_id)
        .values(user_id=user_id)
        .execution_options(synchronize_session=False)
    )


def _copy(state: CookieDeviceState | ConsentState) -> ledger.Answer:
    granted = state.granted
    return ledger.Answer(
        state.purpose_key, ConsentAction.GRANTED if granted else None, CollectionMethod.DEVICE_LINK
    )


async def merge_on_sign_in(session: AsyncSession, settings: Settings, user_id: UUID, client: Client) -> None:
    """Join the browser's device and the account: per purpose, the newest answer wins on both sides.

    A device last linked to another account keeps its answers to itself: they were that person's."""
    value = client.cookies.get(devices.device_cookie_name(settings))
    if not value:
        return
    try:
        device_id = devices.verified_id(settings, value)
    except InvalidDevice:
        return
    device = await session.get(CookieDevice, device_id)
    if device is None:
        return
    previous_owner = device.user_id
    answers_follow = previous_owner in (None, user_id)
    now = utcnow()
    await link(session, device_id, user_id, now, answers_follow=answers_follow)
    on_device = {
        state.purpose_key: state
        for state in (await session.scalars(_DEVICE_STATES, {"device_id": device_id})).all()
    }
    on_account = {
        state.purpose_key: state
        for state in (await session.scalars(_ACCOUNT_STATES, {"user_id": user_id})).all()
    }
    to_account, to_device = [], []
    for purpose_key in CATEGORY_PURPOSES.values():
        mine, theirs = on_device.get(purpose_key), on_account.get(purpose_key)
        if mine is not None and answers_follow and (theirs is None or mine.since > theirs.since):
            to_account.append(_copy(mine))
        elif theirs is not None and (mine is None or not answers_follow or theirs.since > mine.since):
            # Another account's answers on this browser give way to this account's, newer or not.
            to_device.append(_copy(theirs))
    if to_account:
        await _append(session, _account_ledger(user_id, device_id), to_account, None, client, now)
    if to_device:
        await _append(session, devices.device_ledger(device_id, user_id), to_device, None, client, now)
        if device.revision is None or not on_device:
            revision = await session.scalar(_ACCOUNT_REVISION, {"user_id": user_id})
            device.revision = revision
