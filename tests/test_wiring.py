"""Every process (app, CLI worker, Celery worker) imports `opmaestro.tasks`; that alone wires the hooks."""

import subprocess
import sys

from opmaestro.core.config import PROJECT_ROOT

PROBE = """
import opmaestro.tasks
from opmaestro.accounts import hooks
from opmaestro.notifications import service
print(sorted(map(str, service._send_checks)), [listener.__module__ for listener in hooks._registered])
"""


def test_importing_tasks_registers_consent_hooks():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['marketing'] ['opmaestro.consent.hooks']"
