"""A function that reads a user's current answer to a purpose with a fresh snapshot (PostgreSQL)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 22:40:00+00:00

On PostgreSQL a consent change is one statement that locks the subject's chain and appends
the event. Whether "no" withdraws a grant or denies must be decided on the answer as it is
once the lock is held; a plain subquery would read the snapshot the statement started with,
from before it waited for the lock. A VOLATILE function takes a fresh snapshot for each query
it runs. SQLite appends in several statements inside its write lock and needs none of this.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION consent_granted_now(uuid, varchar)")
