"""The API keeps the contract that openapi/openapi.json states.

schemathesis generates requests from the committed spec (examples, boundary values, random and
schema-invalid data) and sends them to the real server, started with `opmaestro serve` on a
database of its own, three times: without credentials, with a member's personal access token,
and with an administrator's two-factor browser session and its CSRF header. Every check runs on
every answer: no server error, only documented statuses, content types, headers and bodies,
schema-invalid data refused, schema-valid data accepted, `Allow` on 405, auth not ignored.
Hypothesis is derandomized, so the same requests go out on every run.
"""

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.core.parameters import ParameterLocation
from sqlalchemy.engine import make_url

from opmaestro.accounts.deps import CSRF_HEADER, SCOPES, SESSION_COOKIE
from opmaestro.accounts.models import Role
from opmaestro.accounts.schemas import (
    BIRTH_DATE_FORMAT,
    EMAIL_FORMAT,
    MINIMUM_AGE,
    NEW_PASSWORD_FORMAT,
    PHONE_FORMAT,
)
from opmaestro.core.config import PROJECT_ROOT, Settings
from opmaestro.core.db import create_engine, create_sessionmaker
from opmaestro.core.pagination import encode_cursor
from tests.conftest import free_port
from tests.factories import PASSWORD, create_user
from tests.servers import wait_until_serving

pytestmark = pytest.mark.timeout(300)
EXAMPLES = 12
GENERATED_CREDENTIAL_HEADERS = {"authorization", CSRF_HEADER.lower()}
MEMBER_SCOPES = [scope for scope in SCOPES if not scope.startswith("admin:")]

# What the spec's own formats mean (each is described where the spec uses it).
schemathesis.openapi.format(
    NEW_PASSWORD_FORMAT,
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=12, max_size=128).filter(
        lambda value: len(set(value.strip())) >= 8 and len(value.strip()) >= 12
    ),
)
schemathesis.openapi.format(
    EMAIL_FORMAT, st.from_regex(r"\A[a-z0-9]{1,16}(\.[a-z0-9]{1,8})?@[a-z0-9]{1,16}\.(com|org|de|io)\Z")
)
schemathesis.openapi.format(
    PHONE_FORMAT,
    st.sampled_from(["", "+1 415 555 0132", "+49 30 901820", "+44 20 7946 0958", "+33 1 42 68 53 00"]),
)
schemathesis.openapi.format(
    BIRTH_DATE_FORMAT,
    st.dates(date(1900, 1, 1), date(date.today().year - MINIMUM_AGE - 1, 1, 1)).map(date.isoformat),
)
schemathesis.openapi.format(
    "cursor",
    st.builds(encode_cursor, st.datetimes(timezones=st.just(UTC)), st.uuids()),
)


@schemathesis.serializer("application/secevent+jwt")
def security_event_token(_context: schemathesis.SerializationContext, value: Any) -> bytes:
    """A security event token (the RISC webhook's body) is text on the wire."""
    return value if isinstance(value, bytes) else str(value).encode()


schema = schemathesis.openapi.from_path(PROJECT_ROOT / "openapi" / "openapi.json")
contract = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@dataclass
class Served:
    base_url: str
    member_token: str = ""
    staff_cookies: dict[str, str] = field(default_factory=dict)
    staff_csrf: str = ""


def _contract_database(settings: Settings, directory: Path) -> tuple[str, str | None]:
    """A database of the contract run's own, as the server commits for real: its URL, and on
    PostgreSQL the admin URL to drop it with afterwards."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite+aiosqlite:///{directory / 'contract.db'}", None
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    name = f"{url.database}_contract"
    _postgres(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False), admin


def _postgres(admin_url: str, *statements: str) -> None:
    async def run() -> None:
        import asyncpg

        connection = await asyncpg.connect(admin_url)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


async def _seed(settings: Settings, database_url: str, staff_secret: str) -> None:
    engine = create_engine(settings.model_copy(update={"database_url": database_url}))
    async with create_sessionmaker(engine)() as session:
        await create_user(session, "member@example.com")
        await create_user(session, "staff@example.com", role=Role.ADMIN, mfa_secret=staff_secret)
    await engine.dispose()


@pytest.fixture(scope="module")
def served(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("contract")
    database_url, postgres_admin = _contract_database(settings, directory)
    port = free_port()
    env = os.environ | {
        "OPMAESTRO_DATABASE_URL": database_url,
        "OPMAESTRO_PORT": str(port),
        # Logout is given a fresh member session each time it is called (see `_credentials`).
        "OPMAESTRO_LOGIN_ATTEMPTS_PER_ACCOUNT": "100000",
    }
    cli = [sys.executable, "-m", "opmaestro.cli"]
    subprocess.run([*cli, "migrate"], env=env, cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=120)
    staff_secret = pyotp.random_base32()
    asyncio.run(_seed(settings, database_url, staff_secret))
    log = (directory / "server.log").open("w+")
    server = subprocess.Popen(
        [*cli, "serve"], env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base_url, server, directory / "server.log")
        yield _sign_in(base_url, staff_secret)
    finally:
        server.kill()
        server.wait(timeout=30)
        log.close()
        if postgres_admin is not None:
            name = make_url(database_url).database
            _postgres(postgres_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sign_in(base_url: str, staff_secret: str) -> Served:
    served = Served(base_url)
    with httpx.Client(base_url=base_url) as member:
        csrf = _login(member, "member@example.com")
        created = member.post(
            "/api/v1/me/tokens",
            json={"name": "contract", "scopes": MEMBER_SCOPES},
            headers={CSRF_HEADER: csrf},
        )
        assert created.status_code == 201, created.text
        served.member_token = created.json()["token"]
    with httpx.Client(base_url=base_url) as staff:
        served.staff_csrf = _login(staff, "staff@example.com", otp=pyotp.TOTP(staff_secret).now())
        served.staff_cookies = {SESSION_COOKIE: staff.cookies[SESSION_COOKIE]}
    return served


def _login(client: httpx.Client, email: str, otp: str | None = None) -> str:
    body: dict[str, Any] = {"email": email, "password": PASSWORD} | ({"otp": otp} if otp else {})
    response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    csrf: str = response.json()["csrf_token"]
    return csrf


def _throwaway_session(served: Served) -> tuple[dict[str, str], dict[str, str]]:
    """Signing out ends the session it is sent with: it gets one of its own, not the staff's."""
    with httpx.Client(base_url=served.base_url) as member:
        csrf = _login(member, "member@example.com")
        return {SESSION_COOKIE: member.cookies[SESSION_COOKIE]}, {CSRF_HEADER: csrf}


def _callers(served: Served, case: schemathesis.Case) -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    """Who sends each case: (name, headers, cookies)."""
    yield "anonymous", {}, {}
    yield "member token", {"Authorization": f"Bearer {served.member_token}"}, {}
    if case.path == "/api/v1/auth/logout":
        cookies, headers = _throwaway_session(served)
        yield "member session", headers, cookies
    else:
        yield "staff session", {CSRF_HEADER: served.staff_csrf}, served.staff_cookies


def _is_negative(case: schemathesis.Case, location: ParameterLocation) -> bool:
    info = case.meta.components.get(location) if case.meta else None
    return info is not None and info.mode.is_negative


def _send(case: schemathesis.Case, served: Served, headers: dict[str, str], cookies: dict[str, str]) -> None:
    """Send the case with our credentials in place of any schemathesis made up; a case about a
    missing or malformed header or cookie goes out as generated, without ours."""
    if (headers or cookies) and not (
        _is_negative(case, ParameterLocation.HEADER) or _is_negative(case, ParameterLocation.COOKIE)
    ):
        generated_headers, generated_cookies = case.headers, case.cookies
        case.headers = {
            name: value
            for name, value in (generated_headers or {}).items()
            if name.lower() not in GENERATED_CREDENTIAL_HEADERS
        }
        case.cookies = {
            name: value for name, value in (generated_cookies or {}).items() if name != SESSION_COOKIE
        }
        try:
            case.call_and_validate(base_url=served.base_url, headers=headers or None, cookies=cookies or None)
        finally:
            case.headers, case.cookies = generated_headers, generated_cookies
    else:
        case.call_and_validate(base_url=served.base_url)


@schema.parametrize()
@contract
def test_every_operation_keeps_the_contract(case: schemathesis.Case, served: Served) -> None:
    """Each generated case goes out three times: anonymous, with a token, with a staff session."""
    for caller, headers, cookies in _callers(served, case):
        try:
            _send(case, served, headers, cookies)
        except BaseException as failure:
            failure.add_note(f"sent as: {caller}")
            raise
