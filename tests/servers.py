"""Starting the real `opmaestro serve` in a test and waiting until it answers."""

import subprocess
import time
from pathlib import Path

import httpx

START_UP_SECONDS = 60


def wait_until_serving(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Waits for /health, however long a loaded machine takes; fails with the server's log if it dies."""
    deadline = time.monotonic() + START_UP_SECONDS
    while True:
        try:
            if httpx.get(f"{base_url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
