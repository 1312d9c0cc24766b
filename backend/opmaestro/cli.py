"""The `opmaestro` command: serve, worker, beat, migrate, outbox, consent, datamap, export-openapi,
rotate-integration-keys."""

import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar
from uuid import UUID

import typer
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.core import jobs, migrations
from opmaestro.core.config import PROJECT_ROOT, JobBackend, get_settings
from opmaestro.core.datamap import personal_columns
from opmaestro.core.db import Base, create_engine, create_sessionmaker, unit_of_work
from opmaestro.core.logging import configure_logging
from opmaestro.core.security import configure_password_hashing

app = typer.Typer(no_args_is_help=True, help="OpMaestro privacy platform.", add_completion=False)
outbox_app = typer.Typer(
    no_args_is_help=True, help="Read the email outbox (where mail waits in development)."
)
app.add_typer(outbox_app, name="outbox")
consent_app = typer.Typer(no_args_is_help=True, help="Check the consent ledger.")
app.add_typer(consent_app, name="consent")
T = TypeVar("T")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _with_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(get_settings())
        try:
            async with unit_of_work(create_sessionmaker(engine), None) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = {c: max([len(c), *(len(str(row[c])) for row in rows)]) for c in columns}
    typer.echo("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for row in rows:
        typer.echo("  ".join(str(row[c]).ljust(widths[c]) for c in columns))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: OPMAESTRO_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: OPMAESTRO_PORT.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="API processes.")] = 1,
) -> None:
    """Run the API server."""
    settings = get_settings()
    host = host or settings.host
    if refused := settings.unsafe_listen_address(host):
        typer.echo(refused, err=True)
        raise typer.Exit(1)
    configure_logging(settings.log_level)
    uvicorn.run(
        "opmaestro.main:create_app",
        factory=True,
        host=host,
        port=port or settings.port,
        workers=workers,
        log_config=None,
        access_log=False,
        server_header=False,
        # Only the load balancers named in the setting may say who the client is.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Upgrade the database schema."""
    migrations.upgrade(revision=revision)
    typer.echo(f"database at {revision}")


@app.command()
def revision(message: Annotated[str, typer.Option("-m", "--message")]) -> None:
    """Autogenerate a migration from the models."""
    migrations.revision(message)


BEAT_SCHEDULE_FILE = PROJECT_ROOT / "var" / "celerybeat-schedule"
ScheduleFile = Annotated[Path, typer.Option("--schedule", help="Where Celery beat keeps its state.")]


@app.command()
def worker(
    beat: Annotated[bool, typer.Option(help="Also run the periodic scheduler (Celery beat).")] = False,
    concurrency: Annotated[int | None, typer.Option(min=1)] = None,
    pool: Annotated[str, typer.Option(help="Celery pool: prefork, solo, threads.")] = "prefork",
    schedule: ScheduleFile = BEAT_SCHEDULE_FILE,
    lane: Annotated[
        str,
        typer.Option(help="Celery only: the job lane this worker serves (default, or webhooks)."),
    ] = jobs.DEFAULT_LANE,
) -> None:
    """Run background jobs: a Celery worker for one lane, or a standalone embedded worker (every lane)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    if settings.job_backend is JobBackend.CELERY:
        from opmaestro.core.celery_app import celery_app, queue_for

        if lane not in {jobs.DEFAULT_LANE, *jobs.lane_workers(settings)}:
            raise typer.BadParameter(f"no job lane is called {lane!r}", param_hint="--lane")
        argv = ["worker", "--loglevel", settings.log_level, "--pool", pool, "--queues", queue_for(lane)]
        if concurrency:
            argv += ["--concurrency", str(concurrency)]
        if beat:
            schedule.parent.mkdir(parents=True, exist_ok=True)
            argv += ["--beat", "--schedule", str(schedule)]
        celery_app().worker_main(argv)
        return
    asyncio.run(_run_embedded_worker(concurrency or 2))


async def _run_embedded_worker(concurrency: int) -> None:
    import opmaestro.tasks  # noqa: F401 - registers every domain's job handlers

    settings = get_settings()
    engine = create_engine(settings)
    runner = jobs.JobRunner(create_sessionmaker(engine), settings)
    worker = jobs.EmbeddedWorker(runner, concurrency=concurrency, lanes=jobs.lane_workers(settings))
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    await worker.start()
    typer.echo(f"embedded worker {runner.worker_id} running; Ctrl-C to stop")
    await stopped.wait()
    await worker.stop()
    await engine.dispose()


@app.command()
def beat(schedule: ScheduleFile = BEAT_SCHEDULE_FILE) -> None:
    """Run Celery beat, which enqueues periodic jobs (Celery mode)."""
    from opmaestro.core.celery_app import celery_app

    configure_logging(get_settings().log_level)
    schedule.parent.mkdir(parents=True, exist_ok=True)
    celery_app().start(["beat", "--schedule", str(schedule)])


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="The administrator's email address.")],
    name: Annotated[str, typer.Option(help="Full name.")] = "Administrator",
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 code.")] = "US",
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, envvar="OPMAESTRO_ADMIN_PASSWORD"
        ),
    ] = "",
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Promote an existing account even if its address was never verified.",
        ),
    ] = False,
) -> None:
    """Create an administrator, or promote an existing verified account (its sessions, tokens,
    pending links and two-factor are reset). Staff set up two-factor at first sign-in."""
    from opmaestro.accounts import bootstrap

    settings = get_settings()
    configure_password_hashing(settings)
    try:
        user = _with_session(
            lambda s: bootstrap.create_admin(
                s, email=email, name=name, password=password, country=country, settings=settings, force=force
            )
        )
    except ValueError as error:
        typer.echo(f"refused: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"administrator {user.email} is ready; sign in and set up two-factor authentication")


@app.command("demo-admin")
def demo_admin() -> None:
    """Development only: create a demo administrator if there is none, and print how to sign in."""
    from opmaestro.accounts import bootstrap

    settings = get_settings()
    configure_password_hashing(settings)
    if settings.is_production:
        typer.echo("refused: demo accounts are for development only", err=True)
        raise typer.Exit(2)
    password = _with_session(lambda s: bootstrap.ensure_demo_admin(s, settings))
    if password is None:
        typer.echo("an administrator exists already; `opmaestro create-admin` adds or resets one")
        return
    typer.echo(
        f"demo administrator created: sign in at {settings.public_base_url} as "
        f"{bootstrap.DEMO_ADMIN_EMAIL} with password {password} (set up two-factor at first sign-in)"
    )


@app.command()
def datamap(as_json: JsonFlag = False) -> None:
    """List every personal-data column with its category and erasure strategy."""
    import opmaestro.models  # noqa: F401 - loads every model

    rows = [entry.as_dict() for entry in personal_columns(Base.metadata)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        _table(rows, ["table", "column", "category", "erasure"])


@app.command("rotate-integration-keys")
def rotate_integration_keys() -> None:
    """Encrypt every stored provider token again under the first OPMAESTRO_INTEGRATION_TOKEN_KEYS key.

    Put the new key first and keep the old ones after it, run this, then drop the old keys."""
    from opmaestro.integrations import service as integrations

    settings = get_settings()
    rotated = _with_session(lambda session: integrations.rotate_keys(session, settings))
    typer.echo(f"re-encrypted the tokens of {rotated} connection(s) under the newest key")


@app.command("export-openapi")
def export_openapi(
    output: Annotated[Path, typer.Option()] = PROJECT_ROOT / "openapi" / "openapi.json",
) -> None:
    """Write the OpenAPI document (sorted keys, stable operation ids)."""
    from opmaestro.openapi import render_openapi

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_openapi())
    typer.echo(f"wrote {output}")


def _message_summary(message: Any) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "created_at": message.created_at.isoformat(timespec="seconds"),
        "status": message.status,
        "category": message.category,
        "to": message.to_address,
        "subject": message.subject,
    }


@outbox_app.command("list")
def outbox_list(
    to: Annotated[str | None, typer.Option(help="Only messages to this address.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List outbox messages, newest first."""
    from opmaestro.notifications import service as notifications

    rows = [
        _message_summary(m)
        for m in _with_session(lambda s: notifications.list_messages(s, to=to, limit=limit))
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    elif not rows:
        typer.echo("the outbox is empty" + (f" for {to}" if to else ""))
    else:
        _table(rows, ["id", "created_at", "status", "category", "to", "subject"])


@outbox_app.command("show")
def outbox_show(message_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonFlag = False) -> None:
    """Show one message with its headers, text and HTML bodies."""
    from opmaestro.notifications import service as notifications

    try:
        parsed = UUID(message_id)
    except ValueError:
        typer.echo(f"not a message id: {message_id}", err=True)
        raise typer.Exit(2) from None
    message = _with_session(lambda s: notifications.get_message(s, parsed))
    if message is None:
        typer.echo(f"no outbox message {message_id}", err=True)
        raise typer.Exit(1)
    detail = _message_summary(message) | {
        "template": message.template,
        "headers": message.headers,
        "last_error": message.last_error,
        "sent_at": message.sent_at.isoformat() if message.sent_at else None,
        "text": message.text_body,
        "html": message.html_body,
    }
    if as_json:
        typer.echo(json.dumps(detail, indent=2))
        return
    for key in ("id", "status", "category", "to", "subject", "created_at", "sent_at", "last_error"):
        typer.echo(f"{key}: {detail[key]}")
    for name, value in message.headers.items():
        typer.echo(f"header {name}: {value}")
    typer.echo("\n--- text ---\n" + message.text_body + "\n--- html ---\n" + message.html_body)


@outbox_app.command("send-test")
def outbox_send_test(to: Annotated[str, typer.Option(help="Recipient of the test message.")]) -> None:
    """Send a test message now, to check the SMTP settings."""
    import opmaestro.tasks  # noqa: F401 - registers the delivery handler
    from opmaestro.notifications import service as notifications

    async def run() -> str:
        settings = get_settings()
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        try:
            async with unit_of_work(
                sessionmaker, jobs.RunNow(jobs.JobRunner(sessionmaker, settings))
            ) as session:
                message = await notifications.send_email(session, settings, to, "smtp_test", {})
            async with sessionmaker() as session:
                sent = await notifications.get_message(session, message.id)
                if sent is None:
                    return f"{message.id}: no longer in the outbox"
                return f"{sent.id}: {sent.status}" + (f" ({sent.last_error})" if sent.last_error else "")
        finally:
            await engine.dispose()

    try:
        typer.echo(asyncio.run(run()))
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None


@consent_app.command("verify")
def consent_verify(
    subject: Annotated[str, typer.Option("--subject", help="The user id whose consent chain to check.")],
) -> None:
    """Recompute a user's consent hash chain; exits 1 if it is broken."""
    import opmaestro.models  # noqa: F401 - loads every model
    from opmaestro.consent import ledger

    try:
        user_id = UUID(subject)
    except ValueError:
        typer.echo(f"not a user id: {subject}", err=True)
        raise typer.Exit(2) from None
    report = _with_session(lambda s: ledger.verify_user_chain(s, None, user_id))
    broken = str(report.first_broken_event_id) if report.first_broken_event_id else None
    typer.echo(
        json.dumps({"intact": report.intact, "events": report.events, "first_broken_event_id": broken})
    )
    if not report.intact:
        raise typer.Exit(1)


if __name__ == "__main__":
    sys.exit(app())
