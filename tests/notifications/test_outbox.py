import json
import os
import subprocess
import sys

import pytest

from opmaestro.core import jobs
from opmaestro.core.config import PROJECT_ROOT
from opmaestro.core.db import unit_of_work
from opmaestro.notifications import service as notifications
from opmaestro.notifications.models import EmailCategory, OutboxMessage, OutboxStatus
from tests.conftest import free_port

pytestmark = pytest.mark.timeout(60)


async def queue_mail(sessionmaker, settings, to="ann@example.com", **options) -> OutboxMessage:
    async with unit_of_work(sessionmaker, None) as session:
        return await notifications.send_email(session, settings, to, "smtp_test", {}, **options)


async def reload(sessionmaker, message_id) -> OutboxMessage:
    async with sessionmaker() as session:
        return await session.get(OutboxMessage, message_id)


class TestDelivery:
    async def test_message_arrives_with_text_and_html_parts(
        self, committed_sessionmaker, smtp_settings, smtp_server
    ):
        inbox, _port = smtp_server
        message = await queue_mail(committed_sessionmaker, smtp_settings, headers={"X-Campaign": "none"})
        assert await jobs.JobRunner(committed_sessionmaker, smtp_settings).run_next()

        [received] = inbox.messages
        assert received["To"] == "ann@example.com"
        assert received["Subject"] == "OpMaestro: test message"
        assert received["Message-ID"] == message.headers["Message-ID"]
        assert received["X-Campaign"] == "none"
        assert received.get_content_type() == "multipart/alternative"
        assert "configured correctly" in received.get_body(("plain",)).get_content()
        assert "<p>This is a test message" in received.get_body(("html",)).get_content()
        sent = await reload(committed_sessionmaker, message.id)
        assert sent.status == OutboxStatus.SENT and sent.sent_at is not None

    async def test_a_one_time_link_is_not_kept_once_the_mail_has_left(
        self, committed_sessionmaker, smtp_settings, smtp_server
    ):
        inbox, _port = smtp_server
        link = "http://127.0.0.1:8000/reset-password?token=one-time-secret-value"
        async with unit_of_work(committed_sessionmaker, None) as session:
            message = await notifications.send_email(
                session, smtp_settings, "ann@example.com", "reset_password", {"name": "Ann", "url": link}
            )
        assert await jobs.JobRunner(committed_sessionmaker, smtp_settings).run_next()
        [received] = inbox.messages
        assert link in received.get_body(("plain",)).get_content()
        kept = await reload(committed_sessionmaker, message.id)
        assert kept.status == OutboxStatus.SENT
        assert kept.text_body == kept.html_body == notifications.ONE_TIME_LINK_REMOVED
        assert kept.subject == received["Subject"]

    async def test_refused_recipient_fails_for_good_without_retry(
        self, committed_sessionmaker, smtp_settings, smtp_server
    ):
        inbox, _port = smtp_server
        inbox.refused.add("gone@example.com")
        message = await queue_mail(committed_sessionmaker, smtp_settings, to="gone@example.com")
        runner = jobs.JobRunner(committed_sessionmaker, smtp_settings)
        assert await runner.run_next()
        assert await runner.run_next() is False
        failed = await reload(committed_sessionmaker, message.id)
        assert failed.status == OutboxStatus.FAILED and "550" in failed.last_error
        assert inbox.messages == []

    async def test_unreachable_server_is_retried_then_given_up(self, committed_sessionmaker, settings):
        closed = settings.model_copy(
            update={
                "smtp_host": "127.0.0.1",
                "smtp_port": free_port(),
                "smtp_security": "none",
                "job_backoff_seconds": 0.0,
                "job_max_attempts": 2,
                "smtp_timeout_seconds": 5,
            }
        )
        async with unit_of_work(committed_sessionmaker, None) as session:
            message = await notifications.send_email(session, settings, "ann@example.com", "smtp_test", {})
            job_id = session.info[jobs.PENDING_JOBS_KEY][0].id
            (await session.get(jobs.Job, job_id)).max_attempts = 2
        runner = jobs.JobRunner(committed_sessionmaker, closed)
        assert await runner.run_next()
        assert (await reload(committed_sessionmaker, message.id)).status == OutboxStatus.QUEUED
        assert await runner.run_next()
        failed = await reload(committed_sessionmaker, message.id)
        assert failed.status == OutboxStatus.FAILED and "gave up" in failed.last_error
        async with committed_sessionmaker() as session:
            assert (await session.get(jobs.Job, job_id)).status == jobs.JobStatus.DEAD

    async def test_without_smtp_the_message_is_held_in_the_outbox(self, committed_sessionmaker, settings):
        message = await queue_mail(committed_sessionmaker, settings)
        assert await jobs.JobRunner(
            committed_sessionmaker, settings.model_copy(update={"smtp_host": None})
        ).run_next()
        held = await reload(committed_sessionmaker, message.id)
        assert held.status == OutboxStatus.HELD and held.sent_at is None


class TestSendEmail:
    async def test_message_and_job_share_the_callers_transaction(self, session, settings):
        message = await notifications.send_email(
            session, settings, "Ann@Example.com", "smtp_test", {}, category=EmailCategory.MARKETING
        )
        assert message.to_address == "Ann@example.com" and message.category == "marketing"
        [(job_id, _lane)] = session.info[jobs.PENDING_JOBS_KEY]
        job = await session.get(jobs.Job, job_id)
        assert job.payload == {"message_id": str(message.id)}
        await session.rollback()
        assert await session.get(OutboxMessage, message.id) is None

    @pytest.mark.parametrize("address", ["", "not-an-address", "a@b", "ann@example.com\r\nBcc: x@y.z"])
    async def test_invalid_recipient_is_refused(self, session, settings, address):
        with pytest.raises(ValueError, match="not a valid email address"):
            await notifications.send_email(session, settings, address, "smtp_test", {})

    def test_html_part_escapes_context_but_text_does_not(self, settings):
        rendered = notifications.render(settings, "smtp_test", {"product_name": "<b>Acme</b>"})
        assert "&lt;b&gt;Acme&lt;/b&gt;" in rendered.html
        assert "<b>Acme</b>" in rendered.text

    async def test_mail_uses_the_settings_it_is_given(self, session, settings):
        other = settings.model_copy(
            update={
                "public_base_url": "https://privacy.example.org",
                "mail_from": "OpMaestro <no-reply@mail.example.org>",
            }
        )
        rendered = notifications.render(other, "smtp_test", {})
        assert (
            "https://privacy.example.org" in rendered.text and "https://privacy.example.org" in rendered.html
        )
        message = await notifications.send_email(session, other, "ann@example.com", "smtp_test", {})
        assert message.headers["Message-ID"].endswith("@mail.example.org>")
        [(job_id, _lane)] = session.info[jobs.PENDING_JOBS_KEY]
        assert (await session.get(jobs.Job, job_id)).max_attempts == other.job_max_attempts

    def test_missing_template_variable_is_an_error(self):
        with pytest.raises(Exception, match="undefined"):
            notifications._templates.from_string("{{ nope }}").render()


class TestSendChecks:
    async def queue_marketing(self, session, settings) -> OutboxMessage:
        message = await notifications.send_email(
            session, settings, "ann@example.com", "smtp_test", {}, category=EmailCategory.MARKETING
        )
        return await notifications.deliver(
            session, message.id, settings.model_copy(update={"smtp_host": None})
        )

    async def test_a_registered_check_suppresses_with_its_reason(self, session, settings, monkeypatch):
        monkeypatch.setattr(notifications, "_send_checks", {})

        async def refuse(_session, message):
            return f"suppressed: {message.to_address} said no"

        notifications.register_send_check(EmailCategory.MARKETING, refuse)
        message = await self.queue_marketing(session, settings)
        assert message.status == OutboxStatus.SUPPRESSED
        assert message.last_error == "suppressed: ann@example.com said no"

    async def test_a_passing_check_lets_the_message_go_on(self, session, settings, monkeypatch):
        monkeypatch.setattr(notifications, "_send_checks", {})

        async def allow(_session, _message):
            return None

        notifications.register_send_check(EmailCategory.MARKETING, allow)
        assert (await self.queue_marketing(session, settings)).status == OutboxStatus.HELD

    async def test_marketing_without_any_check_is_suppressed(self, session, settings, monkeypatch):
        monkeypatch.setattr(notifications, "_send_checks", {})
        message = await self.queue_marketing(session, settings)
        assert message.status == OutboxStatus.SUPPRESSED
        assert "no send-time check" in message.last_error

    async def test_service_mail_is_never_checked(self, session, settings, monkeypatch):
        monkeypatch.setattr(notifications, "_send_checks", {})
        message = await notifications.send_email(session, settings, "ann@example.com", "smtp_test", {})
        delivered = await notifications.deliver(
            session, message.id, settings.model_copy(update={"smtp_host": None})
        )
        assert delivered.status == OutboxStatus.HELD


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opmaestro.cli", "outbox", *args],
        cwd=PROJECT_ROOT,
        env=os.environ | {"OPMAESTRO_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


class TestOutboxCli:
    async def test_list_and_show_read_the_outbox(self, committed_sessionmaker, settings, database_url):
        await queue_mail(committed_sessionmaker, settings, to="bob@example.com")
        message = await queue_mail(committed_sessionmaker, settings, to="ann@example.com")
        await jobs.JobRunner(committed_sessionmaker, settings).run_next()

        listed = json.loads(run_cli(database_url, "list", "--to", "ANN@example.com", "--json").stdout)
        assert [row["id"] for row in listed] == [str(message.id)]
        assert listed[0]["subject"] == "OpMaestro: test message"

        shown = json.loads(run_cli(database_url, "show", str(message.id), "--json").stdout)
        assert shown["headers"]["Message-ID"] == message.headers["Message-ID"]
        assert "configured correctly" in shown["text"] and shown["html"].startswith("<!doctype html>")

        table = run_cli(database_url, "list").stdout
        assert "bob@example.com" in table and "ann@example.com" in table

    async def test_show_reports_unknown_and_malformed_ids(self, committed_sessionmaker, database_url):
        missing = run_cli(database_url, "show", "0193a5f0-7c1e-7d3a-9b1f-2f6c0a1b2c3d")
        assert missing.returncode == 1 and "no outbox message" in missing.stderr
        malformed = run_cli(database_url, "show", "nope")
        assert malformed.returncode == 2 and "not a message id" in malformed.stderr

    async def test_empty_outbox_says_so(self, committed_sessionmaker, database_url):
        assert "the outbox is empty" in run_cli(database_url, "list").stdout
