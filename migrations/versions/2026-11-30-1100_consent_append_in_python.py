"""Consent events are appended, and their chain head and current state advanced, by the application

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 11:00:00+00:00

One append for both databases, in Python: the trigger that advanced the chain head and the
current state from each event (a different body on each database) and PostgreSQL's
`consent_granted_now` function go. Downgrading puts both back as revisions 0006 and 0007 made them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADVANCE_HEAD = """
    UPDATE consent_chain_head
    SET seq = NEW.seq, last_hash = NEW.hash, updated_at = NEW.created_at
    WHERE subject = NEW.subject;
"""
# A new state row takes the id of the event that created it.
UPSERT_STATE = """
    INSERT INTO consent_state
        (id, user_id, purpose_key, purpose_version, granted, action, method, event_id, since)
    {source}
    ON CONFLICT (user_id, purpose_key) DO UPDATE SET
        purpose_version = excluded.purpose_version,
        granted = excluded.granted,
        action = excluded.action,
        method = excluded.method,
        event_id = excluded.event_id,
        since = excluded.since;
"""
STATE_VALUES = (
    "NEW.id, NEW.subject_user_id, NEW.purpose_key, NEW.purpose_version, NEW.action = 'granted', "
    "NEW.action, NEW.method, NEW.id, NEW.created_at"
)


def upgrade() -> None:
    on_postgresql = op.get_context().dialect.name == "postgresql"
    op.execute("DROP TRIGGER consent_event_advance" + (" ON consent_event" if on_postgresql else ""))
    if on_postgresql:
        op.execute("DROP FUNCTION consent_event_advance()")
        op.execute("DROP FUNCTION consent_granted_now(uuid, varchar)")


def _create_trigger() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION consent_event_advance() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                {ADVANCE_HEAD}
                IF NEW.subject_user_id IS NOT NULL THEN
                    {UPSERT_STATE.format(source=f"VALUES ({STATE_VALUES})")}
                END IF;
                RETURN NULL;
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER consent_event_advance AFTER INSERT ON consent_event "
            "FOR EACH ROW EXECUTE FUNCTION consent_event_advance()"
        )
        return
    # SQLite needs the WHERE to read an INSERT ... SELECT ... ON CONFLICT unambiguously.
    state_source = f"SELECT {STATE_VALUES} WHERE NEW.subject_user_id IS NOT NULL"
    op.execute(
        f"""
        CREATE TRIGGER consent_event_advance AFTER INSERT ON consent_event
        BEGIN
            {ADVANCE_HEAD}
            {UPSERT_STATE.format(source=state_source)}
        END
        """
    )


def _create_answer_function() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION consent_granted_now(answering_user uuid, answered_purpose varchar)
        RETURNS boolean LANGUAGE sql VOLATILE AS $$
            SELECT coalesce(
                (SELECT granted FROM consent_state
                 WHERE user_id = answering_user AND purpose_key = answered_purpose),
                false
            )
        $$
        """
    )


def downgrade() -> None:
    _create_trigger()
    _create_answer_function()
