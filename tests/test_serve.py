"""The real server, as `make run` starts it: uvicorn, lifespan, embedded worker, JSON logs."""

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from opmaestro.core.config import PROJECT_ROOT
from tests.conftest import free_port

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def served(tmp_dir):
    port = free_port()
    env = os.environ | {
        "OPMAESTRO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_dir / 'served.db'}",
        "OPMAESTRO_PORT": str(port),
    }
    cli = [sys.executable, "-m", "opmaestro.cli"]
    subprocess.run([*cli, "migrate"], env=env, cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=60)
    log = (tmp_dir / "server.log").open("w+")
    server = subprocess.Popen(
        [*cli, "serve"], env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    # Waits for the server to answer, however long a loaded machine takes to start it.
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, (tmp_dir / "server.log").read_text()
        time.sleep(0.1)
    yield base, server, tmp_dir / "server.log"
    if server.poll() is None:
        server.kill()
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
