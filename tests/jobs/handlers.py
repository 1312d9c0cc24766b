"""Job handlers that only the tests register."""

import asyncio
import sys
from pathlib import Path
from typing import Any

from opmaestro.core import jobs

calls: dict[str, int] = {}


@jobs.handler("tests.flaky")
async def flaky(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    """Fails `failures` times, then succeeds."""
    key = str(context.job_id)
    calls[key] = calls.get(key, 0) + 1
    if calls[key] <= payload["failures"]:
        raise ConnectionError(f"attempt {context.attempt} failed for ann@example.com")


dead_letters: list[tuple[dict[str, Any], str]] = []


async def _record_dead(_session: Any, payload: dict[str, Any], error: str) -> None:
    dead_letters.append((payload, error))


@jobs.handler("tests.always_fails", on_dead=_record_dead)
async def always_fails(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    raise RuntimeError("permanently broken")


@jobs.handler("tests.block_first_attempt")
async def block_first_attempt(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    """On its first attempt, signals that it started and hangs (the test kills the process)."""
    if context.attempt == 1:
        Path(payload["started_flag"]).write_text(str(context.job_id))
        await asyncio.sleep(3600)


if __name__ == "__main__":
    from opmaestro.core.config import get_settings
    from opmaestro.core.db import create_engine, create_sessionmaker

    async def run_one() -> None:
        settings = get_settings()
        await jobs.JobRunner(
            create_sessionmaker(create_engine(settings)), settings, worker_id=sys.argv[1]
        ).run_next()

    asyncio.run(run_one())
