"""GET /me/data: what we hold about the signed-in person, by category, from the data map."""

from datetime import timedelta
from uuid import uuid4

import pytest
from sqlalchemy import Column, ForeignKey, MetaData, String, Table, Uuid, insert, select

from opmaestro.core.clock import utcnow
from opmaestro.core.datamap import (
    DELETE,
    DEVICE,
    Category,
    not_personal,
    personal,
    personal_columns,
    subject_key,
    subject_rows,
)
from opmaestro.core.db import Base
from opmaestro.dsar import access, catalog
from opmaestro.dsar.models import LegalHold
from opmaestro.notifications.models import OutboxMessage
from tests.factories import create_personal_data, create_user, sign_in
from tests.problems import assert_problem

URL = "/api/v1/me/data"


def unowned_mail(address: str) -> OutboxMessage:
    return OutboxMessage(
        to_address=address,
        category="service",
        template="verify_email",
        subject="Confirm your email address",
        text_body="Confirm your email address",
        html_body="<p>Confirm your email address</p>",
        headers={},
        status="sent",
    )


@pytest.fixture
async def member(session):
    user = await create_user(session, "ann@example.com", name="Ann Lee")
    await create_personal_data(session, user, rows=2)
    return user


@pytest.fixture
async def browser(client, member):
    await sign_in(client, member.email)
    return client


async def create_token(browser, *scopes: str) -> str:
    response = await browser.post("/api/v1/me/tokens", json={"name": "Data reader", "scopes": list(scopes)})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


class TestCatalog:
    @pytest.mark.parametrize("category", list(Category))
    def test_every_category_has_its_article_15_facts(self, category):
        facts = catalog.facts_of(category)
        assert facts.label and facts.purpose and facts.legal_basis and facts.kept
        assert facts.recipients and facts.sources
        assert catalog.HOSTING in facts.recipients

    def test_retention_names_what_outlives_erasure(self):
        consent = catalog.retention(Category.CONSENT, personal_columns(Base.metadata))
        assert "GDPR Art. 7(1)" in consent and "6 years" in consent
        professional = catalog.retention(Category.PROFESSIONAL, personal_columns(Base.metadata))
        assert "kept" not in professional and "erase" in professional


class TestSummary:
    async def test_every_personal_column_appears_under_its_category(self, browser):
        response = await browser.get(URL)
        assert response.status_code == 200, response.text
        shown = {
            (column["table"], column["column"], entry["category"], column["erasure"])
            for entry in response.json()["categories"]
            for column in entry["columns"]
        }
        expected = {
            (c.table, c.column, c.category.value, c.erasure.describe())
            for c in personal_columns(Base.metadata)
        }
        assert shown == expected

    async def test_each_category_states_purpose_basis_recipients_retention_and_source(self, browser):
        categories = {entry["category"]: entry for entry in (await browser.get(URL)).json()["categories"]}
        contact = categories["contact"]
        assert contact["label"] == "How to reach you"
        assert "Our email delivery provider (sends the emails we write to you)" in contact["recipients"]
        assert contact["legal_basis"].startswith("Contract") and contact["source"] == "from you"
        assert "record of a data subject request" in contact["retention"]

    async def test_record_counts_are_the_persons_rows_only(self, browser, session):
        other = await create_user(session, "bob@example.com", name="Bob")
        await create_personal_data(session, other, rows=3)
        categories = {entry["category"]: entry for entry in (await browser.get(URL)).json()["categories"]}
        # Two of each in account_token, data_request, personal_access_token and recovery_code,
        # three sessions (two made, one signed in), the one user_account row, the encrypted tokens
        # of the two connected tools, and two Google push channels (their token hashes).
        assert categories["security"]["record_count"] == 16
        # Two connections (Google, Gusto), two calendar events, two employees, two provider
        # events and two push channels.
        assert categories["integration"]["record_count"] == 10
        # user_account, account_token x2 and data_request x2, outbox_message x2.
        assert categories["contact"]["record_count"] == 7
        # Two events, one current state, one chain head, two policy acceptances, and the current
        # cookie answer of each of the two browsers linked to the account.
        assert categories["consent"]["record_count"] == 8

    async def test_mail_to_the_persons_address_without_their_id_is_counted(self, browser, session, member):
        # The sign-up confirmation is written before the mail carries the account id; erasure
        # deletes it as the person's, so the access report counts it as theirs too.
        session.add(unowned_mail("ANN@example.com"))
        session.add(unowned_mail("someone.else@example.com"))
        await session.commit()
        categories = {entry["category"]: entry for entry in (await browser.get(URL)).json()["categories"]}
        # user_account, account_token x2, data_request x2, outbox_message x2 + the unowned one.
        assert categories["contact"]["record_count"] == 8

    async def test_active_legal_holds_are_shown_with_their_reason(self, browser, session, member):
        released = await session.scalar(select(LegalHold).where(LegalHold.reason == "Tax audit 1"))
        released.released_at = utcnow() + timedelta(seconds=1)
        await session.commit()
        holds = (await browser.get(URL)).json()["legal_holds"]
        assert [(hold["category"], hold["reason"]) for hold in holds] == [("billing", "Tax audit 0")]

    async def test_a_new_table_appears_without_code_for_it(self, session, member):
        metadata = MetaData()
        Table("user_account", metadata, Column("id", Uuid, primary_key=True, info=not_personal()))
        gadget = Table(
            "test_gadget",
            metadata,
            Column("id", Uuid, primary_key=True, info=not_personal()),
            Column("owner_id", ForeignKey("user_account.id"), info=not_personal()),
            Column("serial", String(40), info=personal(DEVICE, erase=DELETE)),
            info=subject_rows(subject_key("owner_id")),
        )
        connection = await session.connection()
        await connection.run_sync(lambda sync: gadget.create(sync))
        await session.execute(
            insert(gadget), [{"id": uuid4(), "owner_id": member.id, "serial": f"SN-{n}"} for n in range(3)]
        )
        found = await access.summary(session, member.id, metadata)
        assert [
            (c.category, c.record_count, [col.column for col in c.columns]) for c in found.categories
        ] == [("device", 3, ["serial"])]


class TestAccess:
    async def test_token_with_data_read_may_read(self, browser, make_client):
        token = await create_token(browser, "data:read")
        api = make_client()
        response = await api.get(URL, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        assert response.json()["categories"]

    async def test_token_without_data_read_is_refused(self, browser, make_client):
        token = await create_token(browser, "profile:read")
        api = make_client()
        response = await api.get(URL, headers={"Authorization": f"Bearer {token}"})
        assert "data:read" in assert_problem(response, 403, "insufficient-scope")["detail"]

    async def test_anonymous_caller_is_refused(self, client):
        assert_problem(await client.get(URL), 401, "not-authenticated")

    async def test_malformed_token_is_refused(self, client):
        response = await client.get(URL, headers={"Authorization": "Bearer opm_pat_" + "x" * 5000})
        assert_problem(response, 401, "not-authenticated")

    async def test_answer_is_never_cached(self, browser):
        response = await browser.get(URL)
        assert "no-store" in response.headers.get("cache-control", "")
