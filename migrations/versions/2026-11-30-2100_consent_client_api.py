"""The clients' consent API: the change feed of people's consent events, and the evidence of
consents OAuth clients record

Revision ID: 0014
Revises: 0010
Create Date: 2026-11-30 21:00:00+00:00

People's events already in the ledger join the feed, positioned in the order they were recorded.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FEED = "people"


def upgrade() -> None:
    op.create_table(
        "consent_feed_head",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_consent_feed_head")),
    )
    op.create_table(
        "consent_feed_entry",
        sa.Column(
            "arrival",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("arrival", name=op.f("pk_consent_feed_entry")),
        sa.UniqueConstraint("event_id", name=op.f("uq_consent_feed_entry_event_id")),
        sa.UniqueConstraint("position", name=op.f("uq_consent_feed_entry_position")),
    )
    op.create_table(
        "consent_evidence",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notice_version", sa.String(length=64), nullable=True),
        sa.Column("notice_text", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["oauth_client.id"], name=op.f("fk_consent_evidence_client_id_oauth_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_evidence")),
        sa.UniqueConstraint(
            "client_id", "idempotency_key", name=op.f("uq_consent_evidence_client_id_idempotency_key")
        ),
        sa.UniqueConstraint("client_id", "reference", name=op.f("uq_consent_evidence_client_id_reference")),
        sa.UniqueConstraint("event_id", name=op.f("uq_consent_evidence_event_id")),
    )
    op.create_index(op.f("ix_consent_evidence_user_id"), "consent_evidence", ["user_id"], unique=False)
    op.execute(
        """
        INSERT INTO consent_feed_entry (event_id, position)
        SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, subject, seq)
        FROM consent_event WHERE subject LIKE 'user:%'
        """
    )
    op.execute(
        sa.text(
            "INSERT INTO consent_feed_head (name, position, updated_at) "
            "SELECT :name, COUNT(*), CURRENT_TIMESTAMP FROM consent_feed_entry"
        ).bindparams(name=FEED)
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_consent_evidence_user_id"), table_name="consent_evidence")
    op.drop_table("consent_evidence")
    op.drop_table("consent_feed_entry")
    op.drop_table("consent_feed_head")
