"""An account holder's data requests: open (after re-authenticating), list, read, cancel."""

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from opmaestro.audit.models import AuditRecord
from opmaestro.core.clock import utcnow
from opmaestro.dsar import erasure, workflow
from opmaestro.dsar.models import DataRequest, LegalHold, RequestKind, RequestState
from tests.problems import assert_problem

URL = "/api/v1/me/data-requests"
CORRECTION = {"kind": "correction", "details": "My job title is wrong.", "fields": ["job_title"]}


pytestmark = pytest.mark.usefixtures("no_starters")


async def stored(session, request_id: str) -> DataRequest:
    request = await session.get(DataRequest, UUID(request_id), populate_existing=True)
    assert request is not None
    return request


class TestOpen:
    async def test_an_export_request_is_verified_at_once_and_waits_without_a_worker(
        self, member, session, outbox
    ) -> None:
        browser, user = member
        response = await browser.post(URL, json={"kind": "export"})

        assert response.status_code == 201, response.text
        body = response.json()
        assert body["kind"] == "export" and body["state"] == "verified"
        assert body["export"] is None and body["certificate"] is None and body["legal_holds"] == []
        assert body["extended"] is False and body["progress_percent"] == 0
        request = await stored(session, body["id"])
        assert request.user_id == user.id and request.email is None and request.verified_at is not None
        assert request.jurisdiction == "other"

    async def test_a_receipt_is_mailed_at_once_with_the_due_date(self, member, outbox) -> None:
        browser, _ = member
        body = (await browser.post(URL, json={"kind": "erasure"})).json()

        mails = await outbox("data_request_received", "ann@example.com")
        assert len(mails) == 1
        assert body["id"] in mails[0].text_body
        assert body["due_at"][:10] in mails[0].text_body

    async def test_an_erasure_receipt_says_when_it_will_run(
        self, member, settings, no_starters, outbox
    ) -> None:
        no_starters[RequestKind.ERASURE] = erasure.schedule
        browser, _ = member
        body = (await browser.post(URL, json={"kind": "erasure"})).json()

        [mail] = await outbox("data_request_received", "ann@example.com")
        assert body["erase_after"] is not None
        for text in (mail.text_body, mail.html_body):
            assert body["erase_after"][:10] in text and body["due_at"][:10] in text
            assert f"grace period of {settings.erasure_grace_days} days" in text

    async def test_other_receipts_name_no_erasure_date(self, member, outbox) -> None:
        browser, _ = member
        await browser.post(URL, json={"kind": "export"})
        [mail] = await outbox("data_request_received", "ann@example.com")
        assert "erased" not in mail.text_body

    async def test_a_territory_in_lower_case_and_newlines_and_tabs_are_accepted(self, member) -> None:
        browser, _ = member
        body = (
            await browser.post(
                URL,
                json={
                    "kind": "correction",
                    "details": "Wrong.\r\n\tTitle",
                    "fields": ["name"],
                    "us_state": "pr",
                },
            )
        ).json()
        assert body["state"] == "verified", body

    async def test_a_registered_worker_takes_the_request_over(self, member, session, no_starters) -> None:
        started: list[str] = []

        async def starter(db, _settings, request: DataRequest, _actor) -> None:
            started.append(str(request.id))
            await workflow.begin_work(db, request, actor=None)

        no_starters[RequestKind.EXPORT] = starter
        browser, _ = member
        body = (await browser.post(URL, json={"kind": "export"})).json()

        assert started == [body["id"]] and body["state"] == "in_progress"

    async def test_a_correction_always_waits_for_staff(self, member, no_starters) -> None:
        async def starter(db, _settings, request: DataRequest, _actor) -> None:
            raise AssertionError("corrections have no worker")

        no_starters[RequestKind.EXPORT] = starter
        browser, _ = member
        body = (await browser.post(URL, json=CORRECTION)).json()

        assert body["state"] == "verified" and body["fields"] == ["job_title"]

    async def test_the_deadline_follows_the_users_country(self, signed_in, session) -> None:
        browser, _ = await signed_in("hans@example.com", country="DE")
        body = (await browser.post(URL, json={"kind": "export"})).json()
        request = await stored(session, body["id"])

        assert request.jurisdiction == "europe"

    async def test_a_californian_names_the_state(self, member, session) -> None:
        browser, _ = member
        body = (await browser.post(URL, json={"kind": "export", "us_state": "ca"})).json()
        request = await stored(session, body["id"])

        assert request.jurisdiction == "california"
        assert request.due_at - request.created_at == timedelta(days=45)

    async def test_every_step_is_audited(self, member, session) -> None:
        browser, _ = member
        body = (await browser.post(URL, json={"kind": "export"})).json()

        actions = list(
            await session.scalars(
                select(AuditRecord.action)
                .where(AuditRecord.subject_id == body["id"])
                .order_by(AuditRecord.created_at)
            )
        )
        assert actions == ["data_request.received", "data_request.verified"]


class TestOnePerKind:
    async def test_a_second_open_request_of_a_kind_is_a_conflict(self, member) -> None:
        browser, _ = member
        assert (await browser.post(URL, json={"kind": "export"})).status_code == 201

        assert_problem(await browser.post(URL, json={"kind": "export"}), 409, "open-request-exists")

    async def test_other_kinds_may_be_open_at_once(self, member) -> None:
        browser, _ = member
        for body in ({"kind": "export"}, {"kind": "erasure"}, CORRECTION):
            assert (await browser.post(URL, json=body)).status_code == 201

    async def test_after_cancelling_a_new_one_may_be_opened(self, member) -> None:
        browser, _ = member
        first = (await browser.post(URL, json={"kind": "export"})).json()
        await browser.post(f"{URL}/{first['id']}/cancel")

        assert (await browser.post(URL, json={"kind": "export"})).status_code == 201

    async def test_another_persons_open_request_does_not_count(self, member, signed_in) -> None:
        other, _ = await signed_in("bob@example.com")
        assert (await other.post(URL, json={"kind": "export"})).status_code == 201
        browser, _ = member

        assert (await browser.post(URL, json={"kind": "export"})).status_code == 201


class TestReauthenticationRequired:
    async def test_a_sign_in_more_than_ten_minutes_ago_is_not_enough(self, member, clock, session) -> None:
        browser, user = member
        clock.advance(minutes=11)

        body = assert_problem(
            await browser.post(URL, json={"kind": "erasure"}), 403, "reauthentication-required"
        )
        assert body["reauthenticate"] == "/api/v1/me/reauthenticate"
        assert (
            await session.scalars(select(DataRequest).where(DataRequest.user_id == user.id))
        ).first() is None

    async def test_entering_the_password_again_allows_it(self, member, clock) -> None:
        browser, _ = member
        clock.advance(minutes=11)
        reauth = await browser.post(
            "/api/v1/me/reauthenticate", json={"password": "correct horse battery staple"}
        )

        assert reauth.status_code == 204, reauth.text
        assert (await browser.post(URL, json={"kind": "erasure"})).status_code == 201

    async def test_just_inside_the_window_is_enough(self, member, clock) -> None:
        browser, _ = member
        clock.advance(minutes=9, seconds=50)

        assert (await browser.post(URL, json={"kind": "erasure"})).status_code == 201


class TestReadAndList:
    async def test_list_is_newest_first_and_paged(self, member) -> None:
        browser, _ = member
        ids = [(await browser.post(URL, json=body)).json()["id"] for body in ({"kind": "export"}, CORRECTION)]

        first = (await browser.get(URL, params={"limit": 1})).json()
        second = (await browser.get(URL, params={"limit": 1, "cursor": first["next_cursor"]})).json()

        assert [item["id"] for item in first["items"] + second["items"]] == ids[::-1]
        assert second["next_cursor"] is None

    async def test_another_users_request_is_not_found(self, member, signed_in) -> None:
        other, _ = await signed_in("bob@example.com")
        theirs = (await other.post(URL, json={"kind": "export"})).json()["id"]
        browser, _ = member

        assert_problem(await browser.get(f"{URL}/{theirs}"), 404, "data-request-not-found")
        assert_problem(await browser.post(f"{URL}/{theirs}/cancel"), 404, "data-request-not-found")
        assert (await browser.get(URL)).json()["items"] == []

    async def test_a_finished_export_shows_its_file(self, member, session) -> None:
        browser, _ = member
        request_id = (await browser.post(URL, json={"kind": "export"})).json()["id"]
        request = await stored(session, request_id)
        request.export_file, request.export_sha256, request.export_size = "abc.zip", "f" * 64, 1234
        request.export_expires_at = utcnow() + timedelta(days=7)
        await session.commit()

        shown = (await browser.get(f"{URL}/{request_id}")).json()["export"]

        assert shown["size_bytes"] == 1234 and shown["sha256"] == "f" * 64

    async def test_an_expired_export_shows_no_file(self, member, session) -> None:
        browser, _ = member
        request_id = (await browser.post(URL, json={"kind": "export"})).json()["id"]
        request = await stored(session, request_id)
        request.export_file, request.export_sha256, request.export_size = "abc.zip", "f" * 64, 1234
        request.export_expires_at = utcnow() - timedelta(seconds=1)
        await session.commit()

        assert (await browser.get(f"{URL}/{request_id}")).json()["export"] is None

    async def test_active_legal_holds_are_shown_with_their_reason(self, member, session) -> None:
        browser, user = member
        request_id = (await browser.post(URL, json={"kind": "erasure"})).json()["id"]
        session.add(
            LegalHold(user_id=user.id, category="billing", reason="Invoices are kept for 10 years by law.")
        )
        session.add(
            LegalHold(
                user_id=user.id, category="usage", reason="Released hold, not shown.", released_at=utcnow()
            )
        )
        await session.commit()

        holds = (await browser.get(f"{URL}/{request_id}")).json()["legal_holds"]

        assert [(h["category"], h["reason"]) for h in holds] == [
            ("billing", "Invoices are kept for 10 years by law.")
        ]


class TestClosedRequests:
    async def test_a_cancelled_erasure_shows_no_erasure_time_nor_holds(
        self, member, session, no_starters
    ) -> None:
        no_starters[RequestKind.ERASURE] = erasure.schedule
        browser, user = member
        request_id = (await browser.post(URL, json={"kind": "erasure"})).json()["id"]
        session.add(LegalHold(user_id=user.id, category="billing", reason="Invoices are kept by law."))
        await session.commit()
        assert (await browser.get(f"{URL}/{request_id}")).json()["legal_holds"] != []

        body = (await browser.post(f"{URL}/{request_id}/cancel")).json()

        assert body["state"] == "cancelled"
        assert body["erase_after"] is None and body["legal_holds"] == []
        read = (await browser.get(f"{URL}/{request_id}")).json()
        assert read["erase_after"] is None and read["legal_holds"] == []
        listed = (await browser.get(URL)).json()["items"][0]
        assert listed["erase_after"] is None and listed["legal_holds"] == []


class TestCancel:
    async def test_an_open_request_is_cancelled_and_audited(self, member, session) -> None:
        browser, _ = member
        request_id = (await browser.post(URL, json={"kind": "export"})).json()["id"]

        body = (await browser.post(f"{URL}/{request_id}/cancel")).json()

        assert body["state"] == "cancelled" and body["closed_at"] is not None
        actions = await session.scalars(
            select(AuditRecord.action).where(AuditRecord.subject_id == request_id)
        )
        assert "data_request.cancelled" in list(actions)

    async def test_a_closed_request_cannot_be_cancelled(self, member) -> None:
        browser, _ = member
        request_id = (await browser.post(URL, json={"kind": "export"})).json()["id"]
        await browser.post(f"{URL}/{request_id}/cancel")

        assert_problem(await browser.post(f"{URL}/{request_id}/cancel"), 409, "cannot-cancel")

    async def test_an_erasure_can_be_cancelled_during_its_grace_period(self, member, session) -> None:
        browser, _ = member
        request_id = (await browser.post(URL, json={"kind": "erasure"})).json()["id"]
        request = await stored(session, request_id)
        request.erase_after = utcnow() + timedelta(days=1)
        await session.commit()

        assert (await browser.post(f"{URL}/{request_id}/cancel")).json()["state"] == "cancelled"

    async def test_an_erasure_past_its_grace_period_cannot_be_cancelled(self, member, session) -> None:
        browser, _ = member
        request_id = (await browser.post(URL, json={"kind": "erasure"})).json()["id"]
        request = await stored(session, request_id)
        request.state, request.erase_after = RequestState.IN_PROGRESS, utcnow() - timedelta(seconds=1)
        await session.commit()

        assert_problem(await browser.post(f"{URL}/{request_id}/cancel"), 409, "cannot-cancel")
        assert (await stored(session, request_id)).state == RequestState.IN_PROGRESS


class TestBadInput:
    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"kind": "delete-everything"},
            {"kind": "export", "colour": "blue"},
            {"kind": "correction"},
            {"kind": "correction", "details": "wrong", "fields": []},
            {"kind": "correction", "details": "wrong", "fields": ["password_hash"]},
            {"kind": "correction", "fields": ["name"]},
            {"kind": "export", "fields": ["name"]},
            {"kind": "correction", "details": "x" * 4001, "fields": ["name"]},
            {"kind": "export", "details": None},
            {"kind": "export", "us_state": "California"},
            {"kind": "export", "us_state": "ZZ"},
            {"kind": "correction", "details": "wrong", "fields": ["name", "email", "name"]},
            {"kind": "correction", "details": "nul \x00 byte", "fields": ["name"]},
            {"kind": "correction", "details": "escape \x1b[31m", "fields": ["name"]},
            {"kind": "correction", "details": "wrong", "fields": ["name"] * 12},
            [],
        ],
    )
    async def test_invalid_bodies_are_refused_as_problems(self, member, body: Any) -> None:
        browser, _ = member
        assert_problem(await browser.post(URL, json=body), 422, "validation")

    async def test_malformed_json_is_a_problem(self, member) -> None:
        browser, _ = member
        response = await browser.post(URL, content=b'{"kind": ', headers={"Content-Type": "application/json"})
        assert_problem(response, 400, "malformed-json")

    async def test_an_oversized_body_is_a_problem(self, member) -> None:
        browser, _ = member
        response = await browser.post(URL, json={"kind": "export", "details": "x" * 2_000_000})
        assert_problem(response, 413)

    async def test_a_malformed_id_is_a_problem(self, member) -> None:
        browser, _ = member
        assert_problem(await browser.get(f"{URL}/not-a-uuid"), 422, "validation")
        assert_problem(await browser.get(URL, params={"cursor": "garbage!"}), 400, "invalid-cursor")


class TestWhoMayCall:
    async def test_anonymous_callers_are_refused(self, client) -> None:
        assert_problem(await client.post(URL, json={"kind": "export"}), 401, "not-authenticated")
        assert_problem(await client.get(URL), 401, "not-authenticated")

    async def test_a_session_without_the_csrf_header_is_refused(self, member) -> None:
        browser, _ = member
        del browser.headers["X-CSRF-Token"]
        assert_problem(await browser.post(URL, json={"kind": "export"}), 403, "csrf-failed")

    async def test_an_api_token_cannot_open_or_read_requests(self, member, make_client) -> None:
        browser, _ = member
        created = await browser.post(
            "/api/v1/me/tokens", json={"name": "script", "scopes": ["profile:read"], "expires_in_days": 30}
        )
        assert created.status_code == 201, created.text
        caller = make_client()
        caller.headers["Authorization"] = f"Bearer {created.json()['token']}"

        assert_problem(await caller.post(URL, json={"kind": "export"}), 403, "forbidden")
        assert_problem(await caller.get(URL), 403, "forbidden")
