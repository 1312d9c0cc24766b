"""Google Calendar push: the channel registry, and notifications checked against the channel's token."""

from datetime import timedelta

import pytest

from opmaestro.core.clock import utcnow
from opmaestro.webhooks.inbound import calendar_push
from opmaestro.webhooks.inbound.models import PushChannel
from tests.factories import create_user
from tests.problems import assert_problem
from tests.webhooks.inbound.conftest import assert_queued_if_handled, stored

URL = "/api/v1/webhooks/google/calendar"
CHANNEL = "01234567-89ab-4cde-8f01-23456789abcd"
TOKEN = "channel-token-we-generated"
RESOURCE = "o3hgv1538sdjfh"


@pytest.fixture
async def owner(session):
    return await create_user(session, "ann@example.com")


@pytest.fixture
async def channel(session, owner) -> PushChannel:
    opened = await calendar_push.register_push_channel(
        session,
        owner_user_id=owner.id,
        connection_ref="connection-1",
        channel_id=CHANNEL,
        token=TOKEN,
        resource_id=RESOURCE,
        expires_at=utcnow() + timedelta(days=7),
    )
    await session.commit()
    return opened


def notification(state: str = "exists", number: str = "2", **changes: str | None) -> dict[str, str]:
    headers = {
        "X-Goog-Channel-ID": CHANNEL,
        "X-Goog-Channel-Token": TOKEN,
        "X-Goog-Resource-ID": RESOURCE,
        "X-Goog-Resource-URI": "https://www.googleapis.com/calendar/v3/calendars/primary/events",
        "X-Goog-Resource-State": state,
        "X-Goog-Message-Number": number,
        "X-Goog-Channel-Expiration": "Tue, 19 Nov 2030 01:13:52 GMT",
    } | changes
    return {name: value for name, value in headers.items() if value is not None}


class TestNotifications:
    async def test_sync_is_acknowledged_and_not_stored(self, client, session, channel):
        response = await client.post(URL, headers=notification("sync", "1"))
        assert response.status_code == 200 and response.json() == {"status": "acknowledged"}
        assert await stored(session) == []

    async def test_a_change_is_stored_once_for_the_owner_and_queued(self, client, session, channel, owner):
        owner_id = owner.id
        response = await client.post(URL, headers=notification("exists", "2"))
        assert response.status_code == 200 and response.json() == {"status": "accepted"}
        again = await client.post(URL, headers=notification("exists", "2"))
        assert again.json() == {"status": "duplicate"}
        [event] = await stored(session, provider="google_calendar")
        assert event.event_id == f"{CHANNEL}:2" and event.event_type == "exists"
        assert event.object_id == CHANNEL and event.object_version == 2 and event.user_id == owner_id
        assert TOKEN not in event.body
        await assert_queued_if_handled(session, event)

    async def test_later_messages_are_events_of_their_own(self, client, session, channel):
        channel_row = channel.id
        for number in ("3", "5", "4"):
            assert (await client.post(URL, headers=notification("exists", number))).status_code == 200
        assert len(await stored(session, provider="google_calendar")) == 3
        session.expire_all()
        assert (await session.get(PushChannel, channel_row)).last_message_number == 5

    async def test_a_wrong_or_missing_token_is_refused(self, client, session, channel):
        assert_problem(await client.post(URL, headers=notification(**{"X-Goog-Channel-Token": "guess"})), 401)
        assert_problem(await client.post(URL, headers=notification(**{"X-Goog-Channel-Token": None})), 401)
        assert await stored(session) == []

    async def test_an_unknown_or_closed_channel_is_not_found(self, client, session, channel):
        other = notification(**{"X-Goog-Channel-ID": "someone-elses-channel"})
        assert_problem(await client.post(URL, headers=other), 404, "unknown-push-channel")
        await calendar_push.close_push_channel(session, CHANNEL)
        await session.commit()
        assert_problem(await client.post(URL, headers=notification()), 404, "unknown-push-channel")

    async def test_another_resource_is_refused(self, client, channel):
        response = await client.post(URL, headers=notification(**{"X-Goog-Resource-ID": "another"}))
        assert_problem(response, 400, "malformed-webhook")

    @pytest.mark.parametrize(
        "changes",
        [
            {"X-Goog-Resource-State": "weird"},
            {"X-Goog-Message-Number": None},
            {"X-Goog-Message-Number": "-1"},
            {"X-Goog-Message-Number": "9" * 30},
        ],
    )
    async def test_malformed_notifications(self, client, session, channel, changes):
        assert_problem(await client.post(URL, headers=notification(**changes)), 400)
        assert await stored(session) == []

    async def test_missing_or_oversized_headers(self, client, channel):
        assert_problem(await client.post(URL, headers=notification(**{"X-Goog-Channel-ID": None})), 422)
        assert_problem(await client.post(URL, headers=notification(**{"X-Goog-Channel-ID": "x" * 65})), 422)

    async def test_an_oversized_body_is_refused(self, client, channel, hook_settings):
        body = b"x" * (hook_settings.inbound_webhook_max_body_bytes + 1)
        assert_problem(await client.post(URL, headers=notification(), content=body), 413)


class TestChannels:
    async def test_channels_expiring_soon_are_listed_for_renewal(self, session, owner, channel):
        later = await calendar_push.register_push_channel(
            session,
            owner_user_id=owner.id,
            connection_ref="connection-2",
            channel_id="later",
            token="t2",
            resource_id="r2",
            expires_at=utcnow() + timedelta(days=30),
        )
        soon = await calendar_push.channels_expiring_before(session, utcnow() + timedelta(days=8))
        assert [found.channel_id for found in soon] == [CHANNEL]
        everything = await calendar_push.channels_expiring_before(session, utcnow() + timedelta(days=31))
        assert [found.channel_id for found in everything] == [CHANNEL, later.channel_id]
        await calendar_push.close_push_channel(session, CHANNEL)
        assert await calendar_push.channels_expiring_before(session, utcnow() + timedelta(days=8)) == []

    async def test_only_the_token_hash_is_kept(self, channel):
        assert TOKEN not in channel.token_hash and len(channel.token_hash) == 64

    async def test_closing_an_unknown_channel_is_harmless(self, session):
        assert await calendar_push.close_push_channel(session, "nope") is None
