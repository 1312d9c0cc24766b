"""Requests by email, for people without an account or locked out of it: nothing starts until the
mailed link is opened, and no answer says whether the address has an account."""

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from opmaestro import main
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.security import hash_token
from opmaestro.dsar.models import DataRequest, RequestKind, RequestState
from opmaestro.notifications.models import OutboxMessage
from tests.factories import create_user
from tests.problems import assert_problem

URL = "/api/v1/data-requests"
VERIFY = "/api/v1/data-requests/verify"


pytestmark = pytest.mark.usefixtures("no_starters")


def token_in(mail: OutboxMessage) -> str:
    match = re.search(r"/privacy-request/verify\?token=([A-Za-z0-9_-]+)", mail.text_body)
    assert match, mail.text_body
    return match.group(1)


async def requests_for(session, email: str) -> list[DataRequest]:
    statement = (
        select(DataRequest).where(DataRequest.email == email).execution_options(populate_existing=True)
    )
    return list((await session.scalars(statement)).all())


class TestNeverRevealsAnAccount:
    async def test_known_and_unknown_addresses_get_the_same_answer_and_one_mail_each(
        self, client, session, outbox
    ) -> None:
        await create_user(session, "ann@example.com")

        known = await client.post(URL, json={"email": "ann@example.com", "kind": "erasure"})
        unknown = await client.post(URL, json={"email": "nobody@example.com", "kind": "erasure"})

        assert known.status_code == unknown.status_code == 202
        assert known.json() == unknown.json()
        assert set(known.headers) - {"x-request-id", "content-length"} == set(unknown.headers) - {
            "x-request-id",
            "content-length",
        }
        known_mails = await outbox(to="ann@example.com")
        unknown_mails = await outbox(to="nobody@example.com")
        assert (
            [m.template for m in known_mails]
            == [m.template for m in unknown_mails]
            == ["data_request_verify"]
        )
        assert known_mails[0].subject == unknown_mails[0].subject

    async def test_nothing_is_linked_or_started_before_the_link_is_opened(self, client, session) -> None:
        await create_user(session, "ann@example.com")
        await client.post(URL, json={"email": "Ann@Example.com", "kind": "export"})

        [request] = await requests_for(session, "ann@example.com")
        assert request.state == RequestState.RECEIVED and request.user_id is None
        assert request.verified_at is None and request.verification_hash is not None


class TestVerification:
    async def test_the_link_verifies_links_the_account_and_sends_the_receipt(
        self, client, session, outbox
    ) -> None:
        user = await create_user(session, "ann@example.com")
        user_id = user.id
        await client.post(URL, json={"email": "ann@example.com", "kind": "export", "country": "FR"})
        token = token_in((await outbox("data_request_verify"))[0])

        response = await client.post(VERIFY, json={"token": token})

        assert response.status_code == 200, response.text
        [request] = await requests_for(session, "ann@example.com")
        assert request.state == RequestState.VERIFIED and request.user_id == user_id
        assert request.jurisdiction == "europe" and request.verification_hash is None
        assert len(await outbox("data_request_received", "ann@example.com")) == 1

    async def test_a_second_open_request_of_a_kind_is_denied_naming_the_first(
        self, client, session, outbox, no_starters
    ) -> None:
        async def starter(db, _settings, request: DataRequest, _actor) -> None:
            raise AssertionError("a second erasure must not start")

        user = await create_user(session, "ann@example.com")
        user_id = user.id
        mine = DataRequest(
            kind=RequestKind.ERASURE,
            state=RequestState.IN_PROGRESS,
            user_id=user_id,
            jurisdiction="other",
            due_at=utcnow() + timedelta(days=30),
            fields=[],
            progress_percent=0,
        )
        session.add(mine)
        await session.commit()
        no_starters[RequestKind.ERASURE] = starter
        await client.post(URL, json={"email": "ann@example.com", "kind": "erasure"})
        token = token_in((await outbox("data_request_verify"))[0])

        response = await client.post(VERIFY, json={"token": token})

        assert response.status_code == 200 and "already" in response.json()["detail"]

        [request] = await requests_for(session, "ann@example.com")
        assert request.state == RequestState.DENIED and request.user_id == user_id
        assert request.outcome == f"This request is already being handled as request {mine.id}."
        [mail] = await outbox("data_request_denied", "ann@example.com")
        assert str(mine.id) in mail.text_body
        assert await outbox("data_request_received") == []

    async def test_an_unknown_address_is_verified_and_waits_for_staff(self, client, session, outbox) -> None:
        await client.post(URL, json={"email": "nobody@example.com", "kind": "export"})
        token = token_in((await outbox("data_request_verify"))[0])

        await client.post(VERIFY, json={"token": token})

        [request] = await requests_for(session, "nobody@example.com")
        assert request.state == RequestState.VERIFIED and request.user_id is None
        assert len(await outbox("data_request_received", "nobody@example.com")) == 1

    async def test_verification_hands_the_request_to_its_worker(self, client, outbox, no_starters) -> None:
        started: list[str] = []

        async def starter(db, _settings, request: DataRequest, _actor) -> None:
            started.append(request.kind)

        no_starters[RequestKind.ERASURE] = starter
        await client.post(URL, json={"email": "nobody@example.com", "kind": "erasure"})
        await client.post(VERIFY, json={"token": token_in((await outbox("data_request_verify"))[0])})

        assert started == ["erasure"]

    async def test_only_the_hash_of_the_token_is_stored(self, client, session, outbox) -> None:
        await client.post(URL, json={"email": "nobody@example.com", "kind": "export"})
        token = token_in((await outbox("data_request_verify"))[0])

        [request] = await requests_for(session, "nobody@example.com")
        assert request.verification_hash == hash_token(token) != token

    async def test_a_link_works_once(self, client, outbox) -> None:
        await client.post(URL, json={"email": "nobody@example.com", "kind": "export"})
        token = token_in((await outbox("data_request_verify"))[0])
        assert (await client.post(VERIFY, json={"token": token})).status_code == 200

        assert_problem(await client.post(VERIFY, json={"token": token}), 403, "invalid-token")

    async def test_a_link_expires_after_24_hours(self, client, session, outbox, clock) -> None:
        await client.post(URL, json={"email": "nobody@example.com", "kind": "export"})
        token = token_in((await outbox("data_request_verify"))[0])
        clock.advance(hours=24, seconds=1)

        body = assert_problem(await client.post(VERIFY, json={"token": token}), 403, "invalid-token")
        assert "expired" in body["detail"]
        [request] = await requests_for(session, "nobody@example.com")
        assert request.state == RequestState.RECEIVED

    async def test_a_link_still_works_just_before_24_hours(self, client, outbox, clock) -> None:
        await client.post(URL, json={"email": "nobody@example.com", "kind": "export"})
        token = token_in((await outbox("data_request_verify"))[0])
        clock.advance(hours=23, minutes=59)

        assert (await client.post(VERIFY, json={"token": token})).status_code == 200

    async def test_an_unknown_token_is_refused(self, client) -> None:
        assert_problem(await client.post(VERIFY, json={"token": "x" * 43}), 403, "invalid-token")


class TestBadInput:
    @pytest.mark.parametrize(
        "body",
        [
            {"kind": "export"},
            {"email": "not-an-address", "kind": "export"},
            {"email": "a@example.com", "kind": "export", "name": "Ann"},
            {"email": "a@example.com", "kind": "export", "country": "XX"},
            {"email": "a@example.com", "kind": "export", "details": "x" * 4001},
            {"email": "a@example.com", "kind": "correction"},
            {"email": "a@example.com", "kind": "export", "country": None},
            {"email": "a" * 320 + "@example.com", "kind": "export"},
            {"email": "a@example.com", "kind": "export", "country": "US", "us_state": "ZZ"},
            {"email": "a@example.com", "kind": "export", "details": "nul \x00 byte"},
            {"email": "a@example.com", "kind": "export", "details": "bell \x07"},
            {"email": "a@example.com", "kind": "correction", "details": "Wrong", "fields": ["name", "name"]},
        ],
    )
    async def test_invalid_requests_are_problems_and_send_nothing(self, client, outbox, body) -> None:
        assert_problem(await client.post(URL, json=body), 422, "validation")
        assert await outbox() == []

    @pytest.mark.parametrize(
        "body", [{}, {"token": "short"}, {"token": "x" * 201}, {"token": "x" * 43, "more": 1}]
    )
    async def test_invalid_verifications_are_problems(self, client, body) -> None:
        assert_problem(await client.post(VERIFY, json=body), 422, "validation")

    async def test_malformed_json_is_a_problem(self, client) -> None:
        response = await client.post(URL, content=b"{", headers={"Content-Type": "application/json"})
        assert_problem(response, 400, "malformed-json")


class TestRateLimits:
    async def test_an_address_gets_a_few_links_an_hour(self, client, settings, session) -> None:
        body = {"email": "target@example.com", "kind": "export"}
        for _ in range(settings.mail_requests_per_address):
            assert (await client.post(URL, json=body)).status_code == 202

        response = await client.post(URL, json=body)

        assert_problem(response, 429, "too-many-attempts")
        assert int(response.headers["Retry-After"]) > 0
        count = await session.scalar(select(func.count()).select_from(DataRequest))
        assert count == settings.mail_requests_per_address

    async def test_one_source_cannot_mail_many_addresses(self, settings, sessionmaker) -> None:
        app = main.create_app(
            settings.model_copy(update={"mail_requests_per_ip": 3}),
            sessionmaker=sessionmaker,
            job_backend=jobs.ExternalWorker(),
        )
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
            statuses = [
                (await browser.post(URL, json={"email": f"p{n}@example.com", "kind": "export"})).status_code
                for n in range(4)
            ]
            assert statuses == [202, 202, 202, 429]
