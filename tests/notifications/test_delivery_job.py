"""The delivery job and the database: nothing is held while the mail server answers."""

from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.core import jobs
from opmaestro.notifications import service as notifications
from opmaestro.notifications.models import OutboxStatus
from tests.notifications.test_outbox import queue_mail, reload


async def test_the_job_ends_its_transaction_before_talking_to_the_mail_server(
    committed_sessionmaker, smtp_settings, smtp_server, monkeypatch
):
    """On SQLite the job's transaction holds the only pooled connection and the write lock: kept
    open through an SMTP conversation (seconds, or the 30 s timeout), it stalled every request."""
    inbox, _port = smtp_server
    message = await queue_mail(committed_sessionmaker, smtp_settings)
    open_during_smtp: list[bool] = []
    sessions: list[AsyncSession] = []
    real_send = notifications._smtp_send
    real_deliver = notifications.deliver

    async def deliver(session, *args, **kwargs):  # type: ignore[no-untyped-def]
        sessions.append(session)
        return await real_deliver(session, *args, **kwargs)

    async def send(mime, settings):  # type: ignore[no-untyped-def]
        open_during_smtp.append(sessions[0].in_transaction())
        await real_send(mime, settings)

    monkeypatch.setattr(notifications, "deliver", deliver)
    monkeypatch.setattr(notifications, "_smtp_send", send)

    assert await jobs.JobRunner(committed_sessionmaker, smtp_settings).run_next()

    assert open_during_smtp == [False]
    assert len(inbox.messages) == 1
    assert (await reload(committed_sessionmaker, message.id)).status == OutboxStatus.SENT
