"""Integrations: grants still to be revoked at the provider, by a job with retries

Revision ID: 0016
Revises: 0013
Create Date: 2026-11-30 21:45:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "integration_revocation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("token_type_hint", sa.String(length=16), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_integration_revocation_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_revocation")),
    )
    with op.batch_alter_table("integration_revocation", schema=None) as batch_op:
        batch_op.create_index("ix_integration_revocation_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("integration_revocation", schema=None) as batch_op:
        batch_op.drop_index("ix_integration_revocation_user_id")

    op.drop_table("integration_revocation")
