"""The database advances a subject's chain head and current state with each consent event

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 20:50:00+00:00

Head and state follow from the ledger, so the database derives them: whoever appends an
event, they cannot drift from it, and an append is one statement instead of three. On SQLite
a batch migration that rebuilds consent_event drops this trigger and must create it again.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
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


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER consent_event_advance"
        + (" ON consent_event" if op.get_context().dialect.name == "postgresql" else "")
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION consent_event_advance()")
