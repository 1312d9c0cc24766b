"""Staff campaigns: marketing mail queued only for users who consent, by admins and privacy officers."""

import httpx
import pyotp
import pytest
from sqlalchemy import select

from opmaestro.accounts.models import Role, User
from opmaestro.audit.models import AuditRecord
from opmaestro.consent.campaigns import sanitize_html
from opmaestro.consent.models import ConsentAction
from opmaestro.notifications.models import OutboxMessage
from tests.consent.test_marketing_delivery import set_consent
from tests.factories import create_user, sign_in
from tests.problems import assert_problem as problem_of

CAMPAIGNS = "/api/v1/admin/campaigns"
BODY = {"subject": "Spring news", "text_body": "We shipped things."}


async def staff(client: httpx.AsyncClient, session, email: str, role: Role) -> User:
    secret = pyotp.random_base32()
    user = await create_user(session, email, role=role, mfa_secret=secret)
    await sign_in(client, user.email, otp_secret=secret)
    return user


@pytest.fixture
async def admin(client, session) -> User:
    return await staff(client, session, "admin@example.com", Role.ADMIN)


@pytest.fixture
async def audience(session) -> dict[str, User]:
    """One user who consents, one who withdrew, one who denied, one who never answered."""
    users = {name: await create_user(session, f"{name}@example.com") for name in ("ann", "bob", "cat", "dan")}
    await set_consent(session, users["ann"])
    await set_consent(session, users["bob"])
    await set_consent(session, users["bob"], ConsentAction.WITHDRAWN)
    await set_consent(session, users["cat"], ConsentAction.DENIED)
    unverified = await create_user(session, "eve@example.com", verified=False)
    await set_consent(session, unverified)
    return users


async def campaign_mail(session, campaign_id: str) -> list[OutboxMessage]:
    rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.category == "marketing"))).all()
    return [row for row in rows if row.headers.get("X-Campaign-ID") == campaign_id]


class TestCreateCampaign:
    async def test_only_consenting_users_are_mailed(self, client, session, admin, audience):
        response = await client.post(CAMPAIGNS, json=BODY | {"html_body": "<h1>Spring</h1>"})
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["recipients"] == 1
        [message] = await campaign_mail(session, created["campaign_id"])
        assert message.to_address == "ann@example.com" and message.user_id == audience["ann"].id
        assert message.subject == "Spring news" and "<h1>Spring</h1>" in message.html_body
        assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/unsubscribe/" in message.text_body

    async def test_it_is_audited_with_counts_and_no_personal_data(self, client, session, admin, audience):
        created = (await client.post(CAMPAIGNS, json=BODY)).json()
        record = await session.scalar(
            select(AuditRecord).where(AuditRecord.action == "consent.campaign_queued")
        )
        assert record.subject_id == created["campaign_id"] and record.actor_id == admin.id
        assert "1 recipients" in record.reason and "@" not in record.reason

    async def test_a_privacy_officer_may_send_one(self, client, session, audience):
        await staff(client, session, "dpo@example.com", Role.PRIVACY_OFFICER)
        assert (await client.post(CAMPAIGNS, json=BODY)).status_code == 201

    @pytest.mark.parametrize("role", [Role.MEMBER, Role.SUPPORT])
    async def test_other_roles_are_refused(self, client, session, audience, role):
        secret = pyotp.random_base32() if role != Role.MEMBER else None
        user = await create_user(session, "someone@example.com", role=role, mfa_secret=secret)
        await sign_in(client, user.email, otp_secret=secret)
        problem_of(await client.post(CAMPAIGNS, json=BODY), 403)
        problem_of(await client.get(CAMPAIGNS), 403)
        assert await campaign_mail(session, "") == []

    async def test_anonymous_callers_are_refused(self, client):
        problem_of(await client.post(CAMPAIGNS, json=BODY), 401)

    async def test_the_csrf_header_is_required(self, client, admin):
        client.headers.pop("X-CSRF-Token")
        problem_of(await client.post(CAMPAIGNS, json=BODY), 403)


class TestCampaignValidation:
    @pytest.mark.parametrize(
        "body",
        [
            {"subject": "", "text_body": "x"},
            {"subject": "   ", "text_body": "x"},
            {"subject": "Hi", "text_body": ""},
            {"subject": "Hi"},
            {"subject": "Hi\r\nBcc: all@example.com", "text_body": "x"},
            {"subject": "Hi", "text_body": "x", "html_body": "<script>alert(1)</script>"},
            {"subject": "Hi", "text_body": "x", "html_body": '<img src=x onerror="alert(1)">'},
            {"subject": "Hi", "text_body": "x", "audience": "everyone"},
            {"subject": "x" * 201, "text_body": "x"},
            {"subject": "Hi", "text_body": "x" * 50_001},
            {"subject": 5, "text_body": "x"},
        ],
        ids=[
            "empty-subject",
            "blank-subject",
            "empty-text",
            "missing-text",
            "header-injection",
            "script",
            "event-handler",
            "unknown-field",
            "long-subject",
            "long-text",
            "number",
        ],
    )
    async def test_bad_bodies_are_422(self, client, admin, body):
        assert problem_of(await client.post(CAMPAIGNS, json=body), 422)["errors"]

    async def test_malformed_json_is_400(self, client, admin):
        response = await client.post(
            CAMPAIGNS, content=b'{"subject": ', headers={"Content-Type": "application/json"}
        )
        problem_of(response, 400)

    async def test_oversized_body_is_413(self, client, admin, settings):
        huge = BODY | {"html_body": "x" * (settings.max_body_bytes + 1)}
        problem_of(await client.post(CAMPAIGNS, json=huge), 413)


class TestListCampaigns:
    async def test_past_campaigns_are_listed_newest_first_and_paged(self, client, admin, audience):
        first = (await client.post(CAMPAIGNS, json=BODY)).json()
        second = (await client.post(CAMPAIGNS, json=BODY | {"subject": "Summer news"})).json()
        page = (await client.get(CAMPAIGNS, params={"limit": 1})).json()
        assert [item["id"] for item in page["items"]] == [second["campaign_id"]]
        assert page["items"][0]["subject"] == "Summer news" and page["items"][0]["recipients"] == 1
        rest = (await client.get(CAMPAIGNS, params={"limit": 1, "cursor": page["next_cursor"]})).json()
        assert [item["id"] for item in rest["items"]] == [first["campaign_id"]]


class TestCampaignHtmlIsSanitized:
    @pytest.mark.parametrize(
        "html",
        [
            '<a href="jav&#x61;script:alert(1)">Offer</a>',
            "<style>@import url(https://evil.example/x.css);</style><p>Offer</p>",
            '<a href="java\tscript:alert(1)">Offer</a>',
            '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">Offer</a>',
            '<link rel="stylesheet" href="https://evil.example/x.css"><p>Offer</p>',
        ],
        ids=["entity-encoded-scheme", "style-import", "tab-in-scheme", "data-url", "stylesheet-link"],
    )
    async def test_what_slips_past_validation_never_reaches_the_mail(
        self, client, session, admin, audience, html
    ):
        response = await client.post(CAMPAIGNS, json=BODY | {"html_body": html})
        assert response.status_code == 201, response.text
        [message] = await campaign_mail(session, response.json()["campaign_id"])
        stored = (await client.get(CAMPAIGNS)).json()["items"][0]["html_body"]
        for body in (message.html_body, stored):
            assert "Offer" in body
            for active in ("script", "@import", "<style", "data:", "<link", "evil.example"):
                assert active not in body.lower()

    async def test_formatting_links_and_images_survive(self, client, session, admin, audience):
        html = (
            "<h1>Spring</h1><p>Our <strong>new</strong> <em>plans</em>:</p><ul><li>one</li></ul>"
            '<p><a href="https://opmaestro.example/spring">Read more</a><br>'
            '<img src="https://cdn.example/spring.png" alt="Spring" width="600" height="200"></p>'
        )
        response = await client.post(CAMPAIGNS, json=BODY | {"html_body": html})
        [message] = await campaign_mail(session, response.json()["campaign_id"])
        assert (
            "<h1>Spring</h1><p>Our <strong>new</strong> <em>plans</em>:</p><ul><li>one</li></ul>"
            '<p><a href="https://opmaestro.example/spring" rel="noopener noreferrer">Read more</a><br>'
            '<img src="https://cdn.example/spring.png" alt="Spring" width="600" height="200"></p>'
        ) in message.html_body


class TestSanitizeHtml:
    @pytest.mark.parametrize(
        ("html", "clean"),
        [
            ('<a href="jav&#x61;script:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
            ('<a href="&#106;avascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
            ('<a href=" JAVASCRIPT:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
            ('<a href="vbscript:msgbox(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
            (
                '<a href="data:text/html,<script>alert(1)</script>">x</a>',
                '<a rel="noopener noreferrer">x</a>',
            ),
            ('<a href="/relative">x</a>', '<a rel="noopener noreferrer">x</a>'),
            ('<img src="data:image/svg+xml;base64,PHN2Zz4=">', "<img>"),
            ('<img src="mailto:a@example.com">', "<img>"),
            ("<img src=x onerror=alert(1)>", "<img>"),
            ('<p onclick="alert(1)" onmouseover="alert(1)">x</p>', "<p>x</p>"),
            ("<svg onload=alert(1)></svg>x", "x"),
            ("<script>alert(1)</script>x", "x"),
            ("<style>@import url(//evil.example/x.css); body{}</style>x", "x"),
            ('<p style="background:url(javascript:alert(1))">x</p>', "<p>x</p>"),
            ('<iframe src="https://evil.example"></iframe>x', "x"),
            ('<form action="https://evil.example"><input name="pw"></form>x', "x"),
            ('<base href="https://evil.example/"><meta http-equiv="refresh" content="0">x', "x"),
            ("<!-- <script>alert(1)</script> -->x", "x"),
            ('<math><mtext><table><mglyph><style><img src=x onerror="alert(1)">', ""),
            (
                '<a href="https://x.example" target="_blank" rel="opener">x</a>',
                '<a href="https://x.example" rel="noopener noreferrer">x</a>',
            ),
        ],
    )
    def test_active_content_is_removed(self, html, clean):
        assert sanitize_html(html) == clean

    @pytest.mark.parametrize(
        "html",
        [
            '<p><a href="mailto:news@opmaestro.example" rel="noopener noreferrer">Write to us</a></p>',
            "<h2>Title</h2><h3>Sub</h3><ol><li>a</li><li>b</li></ol>",
            "<table><thead><tr><th>Plan</th></tr></thead><tbody><tr><td>Pro</td></tr></tbody></table>",
        ],
    )
    def test_marketing_formatting_is_kept(self, html):
        assert sanitize_html(html) == html
