"""Email: render a template into the outbox in the caller's transaction, deliver it later."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any
from uuid import UUID

import aiosmtplib
from email_validator import EmailNotValidError, validate_email
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings, SmtpSecurity
from opmaestro.core.logging import redact
from opmaestro.notifications.models import EmailCategory, OutboxMessage, OutboxStatus

DELIVER_JOB = "notifications.deliver"
_SETTLED = frozenset({OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.SUPPRESSED})
PRODUCT_NAME = "OpMaestro"

# Messages whose link signs in, resets a password or confirms an address or a request: whoever
# reads the stored copy could use it. Once the message has left (or never will), its text is not
# kept, and a copy of the outbox (a person's export) never shows it.
ONE_TIME_LINK_TEMPLATES = frozenset(
    {"verify_email", "reset_password", "confirm_email_change", "data_request_verify"}
)
ONE_TIME_LINK_REMOVED = "[Not kept: this message carried a one-time link.]"

SendCheck = Callable[[AsyncSession, OutboxMessage], Awaitable[str | None]]
_send_checks: dict[str, list[SendCheck]] = {}

_templates = Environment(
    loader=PackageLoader("opmaestro.notifications", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    auto_reload=False,
)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


class PermanentDeliveryError(Exception):
    """The receiving server refused the message for good; retrying cannot help."""


def register_send_check(category: EmailCategory, check: SendCheck) -> None:
    """Run `check` before each message of `category` leaves; a reason it returns suppresses the message."""
    checks = _send_checks.setdefault(category, [])
    if check not in checks:
        checks.append(check)


async def _suppression(session: AsyncSession, message: OutboxMessage) -> str | None:
    """Why a message must not go out now, or None; service mail always goes."""
    if message.category == EmailCategory.SERVICE:
        return None
    checks = _send_checks.get(message.category)
    # Fail closed: mail that needs a domain's permission never leaves when no domain gave a rule.
    if not checks:
        return f"suppressed: no send-time check is registered for {message.category} mail"
    for check in checks:
        if reason := await check(session, message):
            return reason
    return None


def render(settings: Settings, template: str, context: dict[str, Any]) -> RenderedEmail:
    """Render `<template>.subject.txt`, `.txt` and `.html` with the shared context."""
    full = {"product_name": PRODUCT_NAME, "public_base_url": settings.public_base_url, **context}
    subject = " ".join(_templates.get_template(f"{template}.subject.txt").render(full).split())
    return RenderedEmail(
        subject=subject,
        text=_templates.get_template(f"{template}.txt").render(full),
        html=_templates.get_template(f"{template}.html").render(full | {"subject": subject}),
    )


async def send_email(
    session: AsyncSession,
    settings: Settings,
    to: str,
    template: str,
    context: dict[str, Any],
    *,
    category: EmailCategory = EmailCategory.SERVICE,
    headers: dict[str, str] | None = None,
    user_id: UUID | None = None,
) -> OutboxMessage:
    """Write a rendered message to the outbox and queue its delivery after commit.

    Marketing mail must name the user it is for: their consent is checked again at send time,
    and marketing mail without a user is never sent.
    """
    try:
        address = validate_email(to, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError("the recipient is not a valid email address") from error
    rendered = render(settings, template, context)
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or None
    message = OutboxMessage(
        to_address=address,
        category=category,
        user_id=user_id,
        template=template,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        status=OutboxStatus.QUEUED,
        headers={"Message-ID": make_msgid(domain=domain), **(headers or {})},
    )
    session.add(message)
    await session.flush()
    await jobs.enqueue(
        session, DELIVER_JOB, {"message_id": str(message.id)}, max_attempts=settings.job_max_attempts
    )
    return message


def build_mime(message: OutboxMessage, mail_from: str) -> EmailMessage:
    mime = EmailMessage()
    mime["From"] = mail_from
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(message.created_at.timestamp(), usegmt=True)
    for name, value in message.headers.items():
        mime[name] = value
    mime.set_content(message.text_body)
    mime.add_alternative(message.html_body, subtype="html")
    return mime


async def deliver(
    session: AsyncSession,
    message_id: UUID,
    settings: Settings,
    *,
    before_smtp: Callable[[], Awaitable[None]] | None = None,
) -> OutboxMessage | None:
    """Send one outbox message over SMTP; transient failures raise so the job retries.

    `before_smtp` runs once the message is ready and before the SMTP conversation, which can
    take seconds: the delivery job ends its transaction there, so that it holds neither a pooled
    connection nor (on SQLite) the write lock while it waits on the mail server."""
    message = await session.get(OutboxMessage, message_id)
    if message is None or message.status in _SETTLED:
        return message
    if reason := await _suppression(session, message):
        message.status = OutboxStatus.SUPPRESSED
        message.last_error = reason
        await session.flush()
        return message
    if not settings.smtp_host:
        message.status = OutboxStatus.HELD
        message.last_error = "no SMTP server is configured; the message is kept in the outbox"
        await session.flush()
        return message
    mime = build_mime(message, settings.mail_from)
    if before_smtp is not None:
        await before_smtp()
    last_error: str | None = None
    try:
        await _smtp_send(mime, settings)
    except PermanentDeliveryError as error:
        status, sent_at, last_error = OutboxStatus.FAILED, None, redact(str(error))[:2000]
    else:
        status, sent_at = OutboxStatus.SENT, utcnow()
    message = await session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None:
        return None
    message.status, message.sent_at, message.last_error = status, sent_at or message.sent_at, last_error
    _forget_one_time_link(message)
    await session.flush()
    return message


def carries_one_time_link(template: str | None) -> bool:
    return template in ONE_TIME_LINK_TEMPLATES


def _forget_one_time_link(message: OutboxMessage) -> None:
    if carries_one_time_link(message.template):
        message.text_body = message.html_body = ONE_TIME_LINK_REMOVED


async def _smtp_send(mime: EmailMessage, settings: Settings) -> None:
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            mime,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            use_tls=settings.smtp_security is SmtpSecurity.TLS,
            start_tls=settings.smtp_security is SmtpSecurity.STARTTLS,
            timeout=settings.smtp_timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        if all(refusal.code >= 500 for refusal in error.recipients):
            raise PermanentDeliveryError(f"recipient refused: {error.recipients[0].code}") from error
        raise
    except (aiosmtplib.SMTPDataError, aiosmtplib.SMTPSenderRefused) as error:
        if error.code >= 500:
            raise PermanentDeliveryError(f"message refused: {error.code} {error.message}") from error
        raise


async def mark_undeliverable(session: AsyncSession, message_id: UUID, reason: str) -> None:
    message = await session.get(OutboxMessage, message_id)
    if message is not None and message.status not in (OutboxStatus.SENT, OutboxStatus.SUPPRESSED):
        message.status = OutboxStatus.FAILED
        message.last_error = f"gave up after repeated failures: {reason}"[:2000]
        _forget_one_time_link(message)
        await session.flush()


async def list_messages(
    session: AsyncSession, *, to: str | None = None, limit: int = 50
) -> list[OutboxMessage]:
    """Newest first, optionally only those sent to one address."""
    query = (
        select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(limit)
    )
    if to:
        query = query.where(func.lower(OutboxMessage.to_address) == to.strip().lower())
    return list((await session.scalars(query)).all())


async def get_message(session: AsyncSession, message_id: UUID) -> OutboxMessage | None:
    return await session.get(OutboxMessage, message_id)
