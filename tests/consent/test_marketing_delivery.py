"""Marketing mail is sent only while the recipient consents, checked at send time, over real SMTP."""

import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from opmaestro.accounts.models import User
from opmaestro.consent import campaigns, ledger
from opmaestro.consent.models import CollectionMethod, ConsentAction, ConsentEvent
from opmaestro.core import jobs
from opmaestro.core.config import Settings
from opmaestro.core.db import unit_of_work
from opmaestro.main import create_app
from opmaestro.notifications import service as notifications
from opmaestro.notifications.models import EmailCategory, OutboxMessage, OutboxStatus
from tests.factories import create_user

pytestmark = pytest.mark.timeout(60)
CAMPAIGN = {"subject": "Spring news", "text_body": "Hello!\n\nWe shipped things.", "html_body": None}


async def set_consent(session, user: User, action: ConsentAction = ConsentAction.GRANTED) -> None:
    """Record a consent answer for the user, committed."""
    await ledger.record(
        session,
        user_id=user.id,
        purpose_key=ledger.MARKETING_EMAIL,
        action=action,
        method=CollectionMethod.SETTINGS,
        actor=None,
        ip=None,
        user_agent=None,
    )
    await session.commit()


async def withdrawals(session, user: User) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(ConsentEvent)
            .where(ConsentEvent.subject_user_id == user.id, ConsentEvent.action == ConsentAction.WITHDRAWN)
        )
    )


async def queue_marketing(sessionmaker, settings: Settings, user: User) -> OutboxMessage:
    async with unit_of_work(sessionmaker, None) as session:
        return await campaigns.send_marketing(session, settings, user, "campaign", CAMPAIGN)


async def reload(sessionmaker, message_id) -> OutboxMessage:
    async with sessionmaker() as session:
        return await session.get(OutboxMessage, message_id)


async def deliver_all(sessionmaker, settings: Settings) -> None:
    runner = jobs.JobRunner(sessionmaker, settings)
    while await runner.run_next():
        pass


@pytest.fixture
async def member(committed_sessionmaker) -> User:
    async with committed_sessionmaker() as session:
        return await create_user(session, "ann@example.com")


@pytest.fixture
async def committed_client(settings, committed_sessionmaker) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests commit for real, so the job runner and the API see the same rows."""
    app = create_app(settings, sessionmaker=committed_sessionmaker, job_backend=jobs.ExternalWorker())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def body_links(received: EmailMessage) -> tuple[str, str]:
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    return text, html


class TestConsentingRecipient:
    async def test_mail_arrives_with_one_click_headers_and_a_working_link(
        self, committed_sessionmaker, smtp_settings, smtp_server, member, committed_client, settings
    ):
        inbox, _port = smtp_server
        async with committed_sessionmaker() as session:
            await set_consent(session, member)
        message = await queue_marketing(committed_sessionmaker, settings, member)
        await deliver_all(committed_sessionmaker, smtp_settings)

        [received] = inbox.messages
        assert received["Subject"] == "Spring news"
        assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        header = re.fullmatch(r"<(.+)>", received["List-Unsubscribe"])
        assert header, received["List-Unsubscribe"]
        api_link = header.group(1)
        base = settings.public_base_url.rstrip("/")
        assert api_link.startswith(f"{base}/api/v1/unsubscribe/")
        token = api_link.rsplit("/", 1)[1]
        page_link = f"{base}/unsubscribe/{token}"
        text, html = body_links(received)
        assert "We shipped things." in text and page_link in text
        assert f'href="{page_link}"' in html and "<p>We shipped things.</p>" in html
        assert (await reload(committed_sessionmaker, message.id)).status == OutboxStatus.SENT

        response = await committed_client.post(
            urlsplit(api_link).path,
            content="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"purpose": "marketing_email", "status": "unsubscribed"}
        async with committed_sessionmaker() as session:
            assert not await ledger.is_granted(session, member.id, ledger.MARKETING_EMAIL)
            assert await withdrawals(session, member) == 1

    async def test_service_mail_carries_no_unsubscribe_headers(
        self, committed_sessionmaker, smtp_settings, smtp_server, member
    ):
        inbox, _port = smtp_server
        async with unit_of_work(committed_sessionmaker, None) as session:
            await notifications.send_email(session, smtp_settings, member.email, "smtp_test", {})
        await deliver_all(committed_sessionmaker, smtp_settings)
        [received] = inbox.messages
        assert received["List-Unsubscribe"] is None and received["List-Unsubscribe-Post"] is None
        assert "nsubscribe" not in received.get_body(("plain",)).get_content()


class TestWithoutConsent:
    async def test_withdrawal_after_queueing_stops_the_queued_message(
        self, committed_sessionmaker, smtp_settings, smtp_server, member, committed_client, settings
    ):
        inbox, _port = smtp_server
        async with committed_sessionmaker() as session:
            await set_consent(session, member)
        message = await queue_marketing(committed_sessionmaker, settings, member)
        token = message.headers["List-Unsubscribe"].strip("<>").rsplit("/", 1)[1]
        assert (await committed_client.post(f"/api/v1/unsubscribe/{token}")).status_code == 200

        await deliver_all(committed_sessionmaker, smtp_settings)
        assert inbox.messages == []
        suppressed = await reload(committed_sessionmaker, message.id)
        assert suppressed.status == OutboxStatus.SUPPRESSED and suppressed.sent_at is None
        assert "not consented" in suppressed.last_error

    async def test_service_mail_keeps_flowing_after_an_unsubscribe(
        self, committed_sessionmaker, smtp_settings, smtp_server, member
    ):
        inbox, _port = smtp_server
        async with committed_sessionmaker() as session:
            await set_consent(session, member)
            await set_consent(session, member, ConsentAction.WITHDRAWN)
        marketing = await queue_marketing(committed_sessionmaker, smtp_settings, member)
        async with unit_of_work(committed_sessionmaker, None) as session:
            service = await notifications.send_email(session, smtp_settings, member.email, "smtp_test", {})
        await deliver_all(committed_sessionmaker, smtp_settings)

        [received] = inbox.messages
        assert received["Subject"] == "OpMaestro: test message"
        assert (await reload(committed_sessionmaker, service.id)).status == OutboxStatus.SENT
        assert (await reload(committed_sessionmaker, marketing.id)).status == OutboxStatus.SUPPRESSED

    async def test_a_user_who_never_answered_gets_no_marketing(
        self, committed_sessionmaker, smtp_settings, smtp_server, member
    ):
        inbox, _port = smtp_server
        message = await queue_marketing(committed_sessionmaker, smtp_settings, member)
        await deliver_all(committed_sessionmaker, smtp_settings)
        assert inbox.messages == []
        assert (await reload(committed_sessionmaker, message.id)).status == OutboxStatus.SUPPRESSED

    async def test_marketing_mail_without_a_user_is_never_sent(
        self, committed_sessionmaker, smtp_settings, smtp_server
    ):
        inbox, _port = smtp_server
        async with unit_of_work(committed_sessionmaker, None) as session:
            message = await notifications.send_email(
                session, smtp_settings, "ann@example.com", "smtp_test", {}, category=EmailCategory.MARKETING
            )
        await deliver_all(committed_sessionmaker, smtp_settings)
        assert inbox.messages == []
        assert (await reload(committed_sessionmaker, message.id)).status == OutboxStatus.SUPPRESSED

    async def test_an_address_changed_since_queueing_is_not_mailed(
        self, committed_sessionmaker, smtp_settings, smtp_server, member
    ):
        inbox, _port = smtp_server
        async with committed_sessionmaker() as session:
            await set_consent(session, member)
        message = await queue_marketing(committed_sessionmaker, smtp_settings, member)
        async with committed_sessionmaker() as session:
            (await session.get(User, member.id)).email = "ann.new@example.com"
            await session.commit()
        await deliver_all(committed_sessionmaker, smtp_settings)
        assert inbox.messages == []
        assert "address changed" in (await reload(committed_sessionmaker, message.id)).last_error
