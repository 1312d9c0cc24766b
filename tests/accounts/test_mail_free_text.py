"""Anyone can sign up with someone else's address and choose the account's name, so mail to an
address the account has not proven never carries that name: "Hello Your account is locked! ..."
must not reach a stranger's inbox. Once the address is proven, mail greets by name again."""

from sqlalchemy import select

from opmaestro.notifications.models import OutboxMessage
from tests.factories import PASSWORD, create_user, registration, sign_in

REGISTER = "/api/v1/auth/register"
RESEND = "/api/v1/auth/verify-email/resend"
FORGOT = "/api/v1/auth/password/forgot"
LURE = "Your account is locked! Restore at https://evil.example/login now"
VICTIM = "victim@example.com"


async def mails_to(session, address: str, template: str) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(
        OutboxMessage.to_address == address, OutboxMessage.template == template
    )
    return list((await session.scalars(query)).all())


def assert_greeted_without_the_name(message: OutboxMessage) -> None:
    assert "evil.example" not in message.text_body
    assert "evil.example" not in (message.html_body or "")
    assert "locked" not in message.subject
    assert message.text_body.startswith("Hello,\n"), message.text_body


class TestMailToAnUnprovenAddress:
    async def test_the_verification_mail_does_not_echo_the_name(self, client, session):
        response = await client.post(REGISTER, json=registration(name=LURE, email=VICTIM))
        assert response.status_code == 202, response.text
        assert (await client.post(RESEND, json={"email": VICTIM})).status_code == 202

        sent = await mails_to(session, VICTIM, "verify_email")

        assert len(sent) == 2
        for message in sent:
            assert_greeted_without_the_name(message)

    async def test_the_account_exists_notice_echoes_no_registrants_name(self, client, session):
        await create_user(session, VICTIM, name=LURE, verified=False)

        response = await client.post(REGISTER, json=registration(name="Someone Else", email=VICTIM))

        assert response.status_code == 202, response.text
        [message] = await mails_to(session, VICTIM, "account_exists")
        assert_greeted_without_the_name(message)
        assert "Someone Else" not in message.text_body

    async def test_the_email_change_link_does_not_echo_the_name(self, client, session):
        await create_user(session, "attacker@example.com", name=LURE)
        await sign_in(client, "attacker@example.com")

        response = await client.post("/api/v1/me/email", json={"new_email": VICTIM, "password": PASSWORD})

        assert response.status_code == 202, response.text
        [message] = await mails_to(session, VICTIM, "confirm_email_change")
        assert_greeted_without_the_name(message)

    async def test_the_reset_link_does_not_echo_the_name(self, client, session, run_jobs):
        await create_user(session, VICTIM, name=LURE, verified=False)

        assert (await client.post(FORGOT, json={"email": VICTIM})).status_code == 202
        await run_jobs()

        [message] = await mails_to(session, VICTIM, "reset_password")
        assert_greeted_without_the_name(message)

    async def test_notices_to_an_unproven_address_do_not_echo_the_name(self, client, session):
        await create_user(session, VICTIM, name=LURE, verified=False)
        await sign_in(client, VICTIM)

        body = {"current_password": PASSWORD, "new_password": "violet kettle orbit tundra"}
        changed = await client.post("/api/v1/me/password", json=body)

        assert changed.status_code == 200, changed.text
        [message] = await mails_to(session, VICTIM, "password_changed")
        assert_greeted_without_the_name(message)


class TestMailToAProvenAddress:
    async def test_greets_by_name(self, client, session, run_jobs):
        await create_user(session, "ann@example.com", name="Ann Lee")

        assert (await client.post(FORGOT, json={"email": "ann@example.com"})).status_code == 202
        await run_jobs()

        [message] = await mails_to(session, "ann@example.com", "reset_password")
        assert message.text_body.startswith("Hello Ann Lee,\n")
