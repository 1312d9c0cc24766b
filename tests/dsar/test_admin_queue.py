"""The staff queue: privacy officers and admins list, open (with a reason), verify, deny, extend
and resolve data requests; every step is audited and the requester told."""

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from opmaestro.accounts.models import Role
from opmaestro.audit.models import AuditRecord
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.dsar import deadlines, workflow
from opmaestro.dsar.models import DataRequest, Jurisdiction, RequestKind, RequestState
from tests.factories import create_user, sign_in
from tests.problems import assert_problem

URL = "/api/v1/admin/data-requests"
REASON = "Requester phoned about it"
pytestmark = pytest.mark.usefixtures("no_starters")


async def make_request(session, **fields: Any) -> DataRequest:
    now = utcnow()
    values: dict[str, Any] = {
        "kind": RequestKind.EXPORT,
        "state": RequestState.VERIFIED,
        "jurisdiction": Jurisdiction.OTHER,
        "due_at": now + timedelta(days=30),
        "email": "someone@example.com",
        "fields": [],
        "progress_percent": 0,
    } | fields
    request = DataRequest(**values)
    session.add(request)
    await session.commit()
    return request


async def fresh(session, request_id: UUID) -> DataRequest:
    request = await session.get(DataRequest, request_id, populate_existing=True)
    assert request is not None
    return request


async def audit_of(session, request_id: UUID) -> list[AuditRecord]:
    statement = (
        select(AuditRecord).where(AuditRecord.subject_id == str(request_id)).order_by(AuditRecord.created_at)
    )
    return list((await session.scalars(statement)).all())


class TestWhoMayUseTheQueue:
    @pytest.mark.parametrize("role", [Role.MEMBER, Role.SUPPORT])
    async def test_members_and_support_are_refused(self, signed_in, session, role) -> None:
        browser, _ = await signed_in("someone.else@example.com", role=role)
        request = await make_request(session)

        assert_problem(await browser.get(URL), 403, "forbidden")
        assert_problem(await browser.get(f"{URL}/{request.id}", params={"reason": REASON}), 403, "forbidden")
        assert_problem(
            await browser.post(f"{URL}/{request.id}/deny", json={"reason": REASON}), 403, "forbidden"
        )

    async def test_staff_without_two_factor_are_refused(self, session, make_client) -> None:
        await create_user(session, "officer@example.com", role=Role.PRIVACY_OFFICER)
        browser = make_client()
        await sign_in(browser, "officer@example.com")

        assert_problem(await browser.get(URL), 403, "mfa-enrollment-required")

    async def test_anonymous_callers_are_refused(self, client) -> None:
        assert_problem(await client.get(URL), 401, "not-authenticated")

    @pytest.mark.parametrize("role", [Role.PRIVACY_OFFICER, Role.ADMIN])
    async def test_privacy_officers_and_admins_may(self, signed_in, role) -> None:
        browser, _ = await signed_in("staff@example.com", role=role)
        assert (await browser.get(URL)).status_code == 200


class TestList:
    async def test_soonest_due_first_with_badges_and_no_personal_data(self, officer, session) -> None:
        browser, _ = officer
        now = utcnow()
        later = await make_request(session, due_at=now + timedelta(days=20))
        overdue = await make_request(session, due_at=now - timedelta(days=1))
        soon = await make_request(session, due_at=now + timedelta(days=3))
        closed = await make_request(
            session,
            due_at=now - timedelta(days=5),
            state=RequestState.DENIED,
            closed_at=now,
            outcome="Ann's case",
        )

        items = (await browser.get(URL)).json()["items"]

        assert [item["id"] for item in items] == [str(r.id) for r in (closed, overdue, soon, later)]
        assert [(item["overdue"], item["due_soon"]) for item in items] == [
            (False, False),
            (True, False),
            (False, True),
            (False, False),
        ]
        assert all("email" not in item and "details" not in item for item in items)
        assert [item["outcome"] for item in items] == [None] * 4

    async def test_unconfirmed_requests_by_email_are_listed_only_when_asked_for(
        self, officer, session
    ) -> None:
        browser, _ = officer
        now = utcnow()
        unconfirmed = await make_request(
            session, state=RequestState.RECEIVED, due_at=now - timedelta(days=1), verification_hash="c" * 64
        )
        confirmed = await make_request(session, due_at=now + timedelta(days=3))

        async def listed(**params: Any) -> list[tuple[str, bool]]:
            response = await browser.get(URL, params=params)
            assert response.status_code == 200, response.text
            return [(item["id"], item["awaiting_confirmation"]) for item in response.json()["items"]]

        assert await listed() == [(str(confirmed.id), False)]
        assert await listed(overdue="true") == []
        assert await listed(kind="export") == [(str(confirmed.id), False)]
        assert await listed(state="received") == [(str(unconfirmed.id), True)]

    async def test_filters(self, officer, session) -> None:
        browser, _ = officer
        now = utcnow()
        overdue = await make_request(session, due_at=now - timedelta(hours=1))
        erasure = await make_request(session, kind=RequestKind.ERASURE, due_at=now + timedelta(days=40))
        received = await make_request(session, state=RequestState.RECEIVED, due_at=now + timedelta(days=10))

        async def ids(**params: Any) -> list[str]:
            response = await browser.get(URL, params=params)
            assert response.status_code == 200, response.text
            return [item["id"] for item in response.json()["items"]]

        assert await ids(overdue="true") == [str(overdue.id)]
        assert await ids(kind="erasure") == [str(erasure.id)]
        assert await ids(state="received") == [str(received.id)]
        assert await ids(due_before=(now + timedelta(days=20)).isoformat()) == [
            str(overdue.id),
            str(received.id),
        ]
        assert await ids(overdue="false") == [str(received.id), str(erasure.id)]

    async def test_pages_continue_in_due_order(self, officer, session) -> None:
        browser, _ = officer
        now = utcnow()
        made = [await make_request(session, due_at=now + timedelta(days=d)) for d in (5, 1, 3)]

        first = (await browser.get(URL, params={"limit": 2})).json()
        second = (await browser.get(URL, params={"limit": 2, "cursor": first["next_cursor"]})).json()

        expected = [str(r.id) for r in sorted(made, key=lambda r: r.due_at)]
        assert [item["id"] for item in first["items"] + second["items"]] == expected
        assert second["next_cursor"] is None

    @pytest.mark.parametrize(
        "params",
        [
            {"state": "lost"},
            {"kind": "everything"},
            {"due_before": "soon"},
            {"due_before": "2026-12-01T00:00:00"},
            {"due_before": "0001-01-01T00:00:00+14:00"},
            {"due_before": "9999-12-31T23:59:59-14:00"},
            {"overdue": "maybe"},
            {"colour": "red"},
        ],
    )
    async def test_bad_filters_are_problems(self, officer, params) -> None:
        browser, _ = officer
        assert_problem(await browser.get(URL, params=params), 422, "validation")

    async def test_a_bad_cursor_is_a_problem(self, officer) -> None:
        browser, _ = officer
        assert_problem(await browser.get(URL, params={"cursor": "nope"}), 400, "invalid-cursor")


class TestOpenWithAReason:
    async def test_shows_the_requester_and_audits_the_reason(self, officer, session) -> None:
        browser, staff = officer
        staff_id = staff.id
        request = await make_request(session, details="Please send everything.")

        response = await browser.get(f"{URL}/{request.id}", params={"reason": REASON})

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["email"] == "someone@example.com" and body["details"] == "Please send everything."
        [read] = [r for r in await audit_of(session, request.id) if r.action == "data_request.read"]
        assert read.reason == REASON and read.actor_id == staff_id

    async def test_an_account_holders_request_shows_the_accounts_address(self, officer, session) -> None:
        browser, _ = officer
        user = await create_user(session, "bob@example.com")
        request = await make_request(session, email=None, user_id=user.id)

        body = (await browser.get(f"{URL}/{request.id}", params={"reason": REASON})).json()

        assert body["email"] == "bob@example.com" and body["user_id"] == str(user.id)

    @pytest.mark.parametrize(
        "params",
        [
            {},
            {"reason": "why"},
            {"reason": "x" * 501},
            {"reason": "     "},
            {"reason": " \t why \n "},
            {"reason": "Court\x00order"},
            {"reason": "Court\x1border"},
        ],
    )
    @pytest.mark.parametrize("path", ["", "/audit"])
    async def test_a_missing_or_bad_reason_is_a_problem_and_nothing_is_audited(
        self, officer, session, params, path
    ) -> None:
        browser, _ = officer
        request = await make_request(session)
        assert_problem(await browser.get(f"{URL}/{request.id}{path}", params=params), 422, "validation")
        assert await audit_of(session, request.id) == []

    async def test_a_reason_is_stored_without_surrounding_space(self, officer, session) -> None:
        browser, _ = officer
        request = await make_request(session)
        await browser.get(f"{URL}/{request.id}", params={"reason": f"  {REASON}\n"})
        [record] = await audit_of(session, request.id)
        assert record.reason == REASON

    async def test_an_unknown_request_is_not_found(self, officer) -> None:
        browser, _ = officer
        missing = "01900000-0000-7000-8000-000000000000"
        assert_problem(
            await browser.get(f"{URL}/{missing}", params={"reason": REASON}), 404, "data-request-not-found"
        )
        bodies = {"verify": {"note": REASON}, "resolve": {"resolution": "Done it."}}
        for action in ("verify", "deny", "extend", "resolve"):
            response = await browser.post(
                f"{URL}/{missing}/{action}", json=bodies.get(action, {"reason": REASON})
            )
            assert_problem(response, 404, "data-request-not-found")
        response = await browser.get(f"{URL}/{missing}/audit", params={"reason": REASON})
        assert_problem(response, 404, "data-request-not-found")


class TestVerify:
    async def test_staff_verify_a_received_request_and_it_starts(
        self, officer, session, no_starters, outbox
    ) -> None:
        started: list[UUID] = []

        async def starter(db, _settings, request: DataRequest, _actor) -> None:
            started.append(request.id)
            await workflow.begin_work(db, request, actor=None)

        no_starters[RequestKind.EXPORT] = starter
        browser, _ = officer
        request = await make_request(session, state=RequestState.RECEIVED, verification_hash="a" * 64)

        body = (await browser.post(f"{URL}/{request.id}/verify")).json()

        assert body["state"] == "in_progress" and started == [request.id]
        stored = await fresh(session, request.id)
        assert stored.verification_hash is None and stored.verified_at is not None
        verified = [r for r in await audit_of(session, request.id) if r.action == "data_request.verified"]
        assert verified[0].reason == "identity checked by staff" and verified[0].actor_kind == "staff"
        assert len(await outbox("data_request_received", "someone@example.com")) == 1

    async def test_a_note_says_how_identity_was_checked(self, officer, session) -> None:
        browser, _ = officer
        request = await make_request(session, state=RequestState.RECEIVED)

        response = await browser.post(
            f"{URL}/{request.id}/verify", json={"note": "  Called back on file number "}
        )

        assert response.status_code == 200, response.text
        verified = [r for r in await audit_of(session, request.id) if r.action == "data_request.verified"]
        assert verified[0].reason == "identity checked by staff: Called back on file number"

    @pytest.mark.parametrize(
        "body", [{"note": "    "}, {"note": "x" * 501}, {"note": "ok\x00ok ok"}, {"reason": REASON}]
    )
    async def test_a_bad_note_is_a_problem(self, officer, session, body) -> None:
        browser, _ = officer
        request = await make_request(session, state=RequestState.RECEIVED)
        assert_problem(await browser.post(f"{URL}/{request.id}/verify", json=body), 422, "validation")
        assert (await fresh(session, request.id)).state == RequestState.RECEIVED

    async def test_a_request_by_email_is_linked_to_the_account_with_that_address(
        self, officer, session, outbox
    ) -> None:
        user = await create_user(session, "bob@example.com")
        user_id = user.id
        request = await make_request(
            session,
            kind=RequestKind.ERASURE,
            state=RequestState.RECEIVED,
            email="bob@example.com",
            verification_hash="b" * 64,
        )
        browser, _ = officer

        body = (await browser.post(f"{URL}/{request.id}/verify")).json()

        assert body["user_id"] == str(user_id)
        assert (await fresh(session, request.id)).user_id == user_id
        assert len(await outbox("data_request_received", "bob@example.com")) == 1

    @pytest.mark.parametrize("open_state", [RequestState.VERIFIED, RequestState.IN_PROGRESS])
    async def test_an_account_with_an_open_request_of_the_kind_gets_no_second_one(
        self, officer, session, outbox, no_starters, open_state
    ) -> None:
        async def starter(db, _settings, request: DataRequest, _actor) -> None:
            raise AssertionError("a second erasure must not start")

        user = await create_user(session, "bob@example.com")
        user_id = user.id
        mine = await make_request(
            session, kind=RequestKind.ERASURE, state=open_state, user_id=user_id, email=None
        )
        emailed = await make_request(
            session,
            kind=RequestKind.ERASURE,
            state=RequestState.RECEIVED,
            email="bob@example.com",
            verification_hash="b" * 64,
        )
        no_starters[RequestKind.ERASURE] = starter
        browser, _ = officer

        body = (await browser.post(f"{URL}/{emailed.id}/verify")).json()

        assert body["state"] == "denied" and body["user_id"] == str(user_id)
        stored = await fresh(session, emailed.id)
        assert stored.outcome == f"This request is already being handled as request {mine.id}."
        [mail] = await outbox("data_request_denied", "bob@example.com")
        assert str(mine.id) in mail.text_body
        assert await outbox("data_request_received") == []
        assert (await fresh(session, mine.id)).state == open_state

    async def test_an_open_request_of_another_kind_does_not_stop_it(self, officer, session) -> None:
        user = await create_user(session, "bob@example.com")
        await make_request(session, kind=RequestKind.EXPORT, user_id=user.id, email=None)
        emailed = await make_request(
            session, kind=RequestKind.ERASURE, state=RequestState.RECEIVED, email="bob@example.com"
        )
        browser, _ = officer

        assert (await browser.post(f"{URL}/{emailed.id}/verify")).json()["state"] == "verified"

    async def test_only_a_received_request_can_be_verified(self, officer, session) -> None:
        browser, _ = officer
        request = await make_request(session)
        assert_problem(await browser.post(f"{URL}/{request.id}/verify"), 409, "not-awaiting-verification")


class TestDeny:
    async def test_denies_with_the_reason_emailed_and_audited(self, officer, session, outbox) -> None:
        browser, _ = officer
        request = await make_request(session)

        body = (
            await browser.post(f"{URL}/{request.id}/deny", json={"reason": "Manifestly unfounded."})
        ).json()

        assert body["state"] == "denied" and body["outcome"] == "Manifestly unfounded."
        [mail] = await outbox("data_request_denied", "someone@example.com")
        assert "Manifestly unfounded." in mail.text_body
        denied = [r for r in await audit_of(session, request.id) if r.action == "data_request.denied"]
        assert denied[0].reason == "Manifestly unfounded."

    async def test_a_closed_request_cannot_be_denied(self, officer, session) -> None:
        browser, _ = officer
        request = await make_request(session, state=RequestState.COMPLETED, closed_at=utcnow())
        assert_problem(
            await browser.post(f"{URL}/{request.id}/deny", json={"reason": REASON}), 409, "request-not-open"
        )

    @pytest.mark.parametrize(
        "body", [{}, {"reason": "no"}, {"reason": "x" * 1001}, {"reason": REASON, "x": 1}]
    )
    async def test_bad_bodies_are_problems(self, officer, session, body) -> None:
        browser, _ = officer
        request = await make_request(session)
        assert_problem(await browser.post(f"{URL}/{request.id}/deny", json=body), 422, "validation")


class TestExtend:
    @pytest.mark.parametrize("jurisdiction", list(Jurisdiction))
    async def test_extends_once_as_far_as_the_jurisdiction_allows(
        self, officer, session, outbox, jurisdiction
    ) -> None:
        browser, _ = officer
        due = utcnow() + timedelta(days=3)
        request = await make_request(session, jurisdiction=jurisdiction, due_at=due, reminded_at=utcnow())

        body = (
            await browser.post(f"{URL}/{request.id}/extend", json={"reason": "Many systems to search."})
        ).json()

        assert body["extended"] is True and body["extension_reason"] == "Many systems to search."
        stored = await fresh(session, request.id)
        assert stored.due_at == deadlines.extended_due_at(jurisdiction, due) and stored.reminded_at is None
        [mail] = await outbox("data_request_extended", "someone@example.com")
        assert (
            "Many systems to search." in mail.text_body and stored.due_at.date().isoformat() in mail.text_body
        )
        extended = [r for r in await audit_of(session, request.id) if r.action == "data_request.extended"]
        assert extended[0].reason == "Many systems to search."

    async def test_a_second_extension_is_refused(self, officer, session) -> None:
        browser, _ = officer
        request = await make_request(session)
        assert (await browser.post(f"{URL}/{request.id}/extend", json={"reason": REASON})).status_code == 200

        response = await browser.post(f"{URL}/{request.id}/extend", json={"reason": REASON})

        assert_problem(response, 409, "already-extended")

    async def test_a_closed_request_cannot_be_extended(self, officer, session) -> None:
        browser, _ = officer
        request = await make_request(session, state=RequestState.DENIED, closed_at=utcnow())
        response = await browser.post(f"{URL}/{request.id}/extend", json={"reason": REASON})
        assert_problem(response, 409, "request-not-open")


class TestResolve:
    async def test_a_correction_is_completed_and_the_requester_told(
        self, officer, session, outbox, settings, sessionmaker
    ) -> None:
        browser, _ = officer
        request = await make_request(
            session, kind=RequestKind.CORRECTION, details="Wrong title", fields=["job_title"]
        )

        body = (
            await browser.post(f"{URL}/{request.id}/resolve", json={"resolution": "Title corrected."})
        ).json()

        assert body["state"] == "completed" and body["outcome"] == "Title corrected."
        queued = list(await session.scalars(select(jobs.Job.id).where(jobs.Job.name == workflow.NOTIFY_JOB)))
        assert len(queued) == 1
        assert await jobs.JobRunner(sessionmaker, settings).run_by_id(queued[0])
        [mail] = await outbox("data_request_completed", "someone@example.com")
        assert "Title corrected." in mail.text_body

    async def test_an_export_is_not_resolved_by_staff(self, officer, session) -> None:
        browser, _ = officer
        request = await make_request(session)
        response = await browser.post(f"{URL}/{request.id}/resolve", json={"resolution": "Sent it."})
        assert_problem(response, 409, "not-a-correction")

    async def test_an_unverified_correction_is_not_resolved(self, officer, session) -> None:
        browser, _ = officer
        request = await make_request(session, kind=RequestKind.CORRECTION, state=RequestState.RECEIVED)
        response = await browser.post(f"{URL}/{request.id}/resolve", json={"resolution": "Done it."})
        assert_problem(response, 409, "request-not-open")


class TestAuditTrail:
    async def test_lists_every_step_newest_first(self, officer, session) -> None:
        browser, _ = officer
        request = await make_request(session, state=RequestState.RECEIVED)
        await browser.get(f"{URL}/{request.id}", params={"reason": REASON})
        await browser.post(f"{URL}/{request.id}/verify")
        await browser.post(f"{URL}/{request.id}/deny", json={"reason": "Duplicate request."})

        items = (
            await browser.get(f"{URL}/{request.id}/audit", params={"reason": "Checking the history"})
        ).json()["items"]

        assert [item["action"] for item in items] == [
            "data_request.audit_read",
            "data_request.denied",
            "data_request.verified",
            "data_request.read",
        ]
        assert items[-1]["reason"] == REASON and items[0]["actor_kind"] == "staff"
        assert items[0]["reason"] == "Checking the history"

    async def test_members_cannot_read_it(self, member, session) -> None:
        browser, _ = member
        request = await make_request(session)
        assert_problem(
            await browser.get(f"{URL}/{request.id}/audit", params={"reason": REASON}), 403, "forbidden"
        )
