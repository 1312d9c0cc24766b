"""The real server, as `make run` starts it: uvicorn, lifespan, embedded worker, JSON logs."""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from opmaestro import cli
from opmaestro.core.config import PROJECT_ROOT, get_settings
from tests.conftest import free_port
from tests.servers import wait_until_serving

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def served(tmp_dir):
    with serving(tmp_dir) as running:
        yield running


@contextmanager
def serving(tmp_dir: Path, **settings: str) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """`opmaestro serve` on a free loopback port with a fresh SQLite database."""
    port = free_port()
    env = os.environ | {
        "OPMAESTRO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_dir / 'served.db'}",
        "OPMAESTRO_PORT": str(port),
    }
    env |= {f"OPMAESTRO_{name.upper()}": value for name, value in settings.items()}
    cli = [sys.executable, "-m", "opmaestro.cli"]
    subprocess.run([*cli, "migrate"], env=env, cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=60)
    log = (tmp_dir / "server.log").open("w+")
    server = subprocess.Popen(
        [*cli, "serve"], env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base, server, tmp_dir / "server.log")
    try:
        yield base, server, tmp_dir / "server.log"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=20)
        log.close()


def test_serves_health_readiness_and_docs_then_stops_cleanly(served):
    base, server, log_path = served
    client = httpx.Client(base_url=base, timeout=30)
    assert client.get("/api/v1/health/ready").json()["status"] == "ready"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/health" in spec["paths"]

    client.get("/api/v1/health?email=leak.me@example.com&token=abc123secret")
    client.close()
    server.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells why.
    assert server.wait(timeout=20) in (0, -signal.SIGTERM)

    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert any(
        r.get("logger") == "opmaestro.access" and r.get("route") == "/api/v1/health/ready" for r in records
    )
    assert any(r.get("message") == "Application shutdown complete." for r in records)
    text = log_path.read_text()
    assert "leak.me" not in text and "abc123secret" not in text
    assert all("client" not in r and "ip" not in r for r in records)


def sign_in_from(base: str, forwarded_for: str) -> str:
    """Register, sign in with an X-Forwarded-For header, and return the IP the session was opened from."""
    with httpx.Client(base_url=f"{base}/api/v1") as client:
        versions = {
            kind: client.get(f"/policies/{kind}").json()["version"]
            for kind in ("terms", "privacy", "us_transfer_notice")
        }
        credentials = {"email": "proxied@example.com", "password": "correct horse battery staple"}
        registered = client.post(
            "/auth/register",
            json=credentials
            | {
                "name": "Pat Proxied",
                "country": "US",
                "confirms_age_18_or_over": True,
                "accepted_terms_version": versions["terms"],
                "accepted_privacy_version": versions["privacy"],
                "acknowledged_us_transfer_notice_version": versions["us_transfer_notice"],
            },
        )
        assert registered.status_code == 202, registered.text
        signed_in = client.post("/auth/login", json=credentials, headers={"X-Forwarded-For": forwarded_for})
        assert signed_in.status_code == 200, signed_in.text
        [current] = client.get("/me/sessions").json()["items"]
        ip: str = current["ip_address"]
        return ip


class TestForwardedHeaders:
    def test_by_default_no_proxy_is_trusted_even_on_loopback(self, tmp_dir):
        with serving(tmp_dir) as (base, _, _):
            assert sign_in_from(base, "203.0.113.7") == "127.0.0.1"

    def test_a_trusted_proxy_names_the_client(self, tmp_dir):
        with serving(tmp_dir, forwarded_allow_ips="127.0.0.1") as (base, _, _):
            assert sign_in_from(base, "203.0.113.7") == "203.0.113.7"


@pytest.fixture
def serve_command(monkeypatch) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    """Run `opmaestro serve` in this process with uvicorn replaced by a recorder of its arguments."""
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **options: started.append(options))
    monkeypatch.setattr(cli, "configure_logging", lambda level: None)
    for name in ("OPMAESTRO_SECRET_KEY", "OPMAESTRO_HOST", "OPMAESTRO_FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)

    def serve(*args: str, **env: str) -> Any:
        for name, value in env.items():
            monkeypatch.setenv(f"OPMAESTRO_{name.upper()}", value)
        get_settings.cache_clear()
        return CliRunner().invoke(cli.app, ["serve", *args])

    yield serve, started
    get_settings.cache_clear()


STRONG_SECRET = "s" * 32


class TestServeRefusesTheDevelopmentSecretOffLoopback:
    @pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "crm.internal"])
    @pytest.mark.parametrize("secret", [None, "", "k" * 31], ids=["default", "empty", "short"])
    def test_weak_secret_on_another_interface_is_refused(self, serve_command, host, secret):
        serve, started = serve_command
        result = serve("--host", host, **({} if secret is None else {"secret_key": secret}))
        assert result.exit_code == 1 and "OPMAESTRO_SECRET_KEY" in result.output
        assert started == []

    def test_the_host_setting_is_checked_like_the_option(self, serve_command):
        serve, started = serve_command
        result = serve(host="0.0.0.0")
        assert result.exit_code == 1 and "OPMAESTRO_SECRET_KEY" in result.output
        assert started == []

    @pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
    def test_loopback_may_use_the_development_secret(self, serve_command, host):
        serve, started = serve_command
        assert serve("--host", host).exit_code == 0
        assert [options["host"] for options in started] == [host]

    @pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20"])
    def test_another_interface_with_a_strong_secret_is_served(self, serve_command, host):
        serve, started = serve_command
        assert serve("--host", host, secret_key=STRONG_SECRET).exit_code == 0
        assert [options["host"] for options in started] == [host]


class TestServeTrustsOnlyTheConfiguredProxies:
    def test_proxy_headers_are_off_by_default(self, serve_command):
        serve, started = serve_command
        assert serve().exit_code == 0
        assert started[0]["proxy_headers"] is False

    def test_the_setting_reaches_uvicorn(self, serve_command):
        serve, started = serve_command
        assert serve(forwarded_allow_ips="10.0.0.0/8, 192.0.2.1").exit_code == 0
        assert started[0]["proxy_headers"] is True
        assert started[0]["forwarded_allow_ips"] == "10.0.0.0/8,192.0.2.1"
