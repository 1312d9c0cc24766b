"""Job handlers of the accounts domain."""

from typing import Any

from sqlalchemy import update

from opmaestro.accounts import signin
from opmaestro.core import jobs


@jobs.handler(signin.FORGOT_PASSWORD_JOB)
async def send_reset_link(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    await signin.send_reset_link(context.session, payload["email"], context.settings)
    # Job payloads keep ids, not personal data: the address is dropped once it has served.
    await context.session.execute(
        update(jobs.Job)
        .where(jobs.Job.id == context.job_id)
        .values(payload={})
        .execution_options(synchronize_session=False)
    )
