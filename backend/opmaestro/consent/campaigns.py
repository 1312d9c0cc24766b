"""Marketing email: only to users who consent, with one-click unsubscribe; staff campaigns."""

from typing import Any
from urllib.parse import urlsplit

import nh3
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.deps import Principal
from opmaestro.accounts.models import User, UserStatus
from opmaestro.audit import service as audit
from opmaestro.consent import ledger, unsubscribe
from opmaestro.consent.models import EmailCampaign
from opmaestro.consent.schemas import CampaignCreate
from opmaestro.core.config import Settings
from opmaestro.core.pagination import newest_first, page_of
from opmaestro.notifications import service as notifications
from opmaestro.notifications.models import EmailCategory, OutboxMessage

CAMPAIGN_TEMPLATE = "campaign"
_BATCH = 500
_IMAGE_SCHEMES = frozenset({"http", "https"})


def _images_over_http(element: str, attribute: str, value: str) -> str | None:
    if element == "img" and attribute == "src" and urlsplit(value).scheme.lower() not in _IMAGE_SCHEMES:
        return None
    return value


# An allow-list (html5ever parses what a mail client would): anything not named here is dropped.
_CAMPAIGN_HTML = nh3.Cleaner(
    tags={"p", "br", "strong", "em", "a", "ul", "ol", "li", "h1", "h2", "h3", "img"}
    | {"table", "thead", "tbody", "tr", "th", "td"},
    clean_content_tags={"script", "style"},
    attributes={"a": {"href"}, "img": {"src", "alt", "width", "height"}},
    attribute_filter=_images_over_http,
    url_schemes={"http", "https", "mailto"},
    url_relative="deny",
    link_rel="noopener noreferrer",
)


def sanitize_html(html: str) -> str:
    """Campaign HTML with only formatting, links and images left: no script, style or event handler."""
    return _CAMPAIGN_HTML.clean(html)


async def send_marketing(
    session: AsyncSession,
    settings: Settings,
    user: User,
    template: str,
    context: dict[str, Any],
    *,
    purpose: str = ledger.MARKETING_EMAIL,
    headers: dict[str, str] | None = None,
) -> OutboxMessage:
    """Queue marketing mail with its unsubscribe link and RFC 8058 headers; consent is checked at send."""
    token = unsubscribe.make_token(settings, user.id, purpose)
    return await notifications.send_email(
        session,
        settings,
        user.email,
        template,
        context | {"unsubscribe_url": unsubscribe.page_url(settings, token)},
        category=EmailCategory.MARKETING,
        user_id=user.id,
        headers=(headers or {}) | unsubscribe.list_unsubscribe_headers(settings, token),
    )


async def _consenting_users(session: AsyncSession, purpose: str) -> list[User]:
    users: list[User] = []
    query = (
        select(User)
        .where(User.status == UserStatus.ACTIVE, User.email_verified_at.is_not(None))
        .order_by(User.id)
        .limit(_BATCH)
    )
    after = None
    while True:
        batch = list((await session.scalars(query if after is None else query.where(User.id > after))).all())
        for user in batch:
            if await ledger.is_granted(session, user.id, purpose):
                users.append(user)
        if len(batch) < _BATCH:
            return users
        after = batch[-1].id


async def create_campaign(
    session: AsyncSession, principal: Principal, settings: Settings, body: CampaignCreate
) -> EmailCampaign:
    """Queue one message per user whose marketing consent is granted now; audited with counts only."""
    purpose = ledger.MARKETING_EMAIL
    recipients = await _consenting_users(session, purpose)
    html_body = sanitize_html(body.html_body or "") or None
    campaign = EmailCampaign(
        created_by=principal.signed_in_user.id,
        purpose_key=purpose,
        subject=body.subject,
        text_body=body.text_body,
        html_body=html_body,
        recipients=len(recipients),
    )
    session.add(campaign)
    await session.flush()
    context = {"subject": body.subject, "text_body": body.text_body, "html_body": html_body}
    for user in recipients:
        await send_marketing(
            session,
            settings,
            user,
            CAMPAIGN_TEMPLATE,
            context,
            purpose=purpose,
            headers={"X-Campaign-ID": str(campaign.id)},
        )
    await audit.record(
        session,
        actor=principal,
        action="consent.campaign_queued",
        subject_type="email_campaign",
        subject_id=campaign.id,
        fields=["subject", "text_body", *(["html_body"] if body.html_body else [])],
        reason=f"queued for {len(recipients)} recipients with {purpose} consent",
    )
    await session.flush()
    return campaign


async def list_campaigns(
    session: AsyncSession, *, cursor: str | None, limit: int
) -> tuple[list[EmailCampaign], str | None]:
    """Past campaigns, newest first."""
    query = newest_first(select(EmailCampaign), EmailCampaign.created_at, EmailCampaign.id, cursor, limit)
    rows = list((await session.scalars(query)).all())
    return page_of(rows, limit)
