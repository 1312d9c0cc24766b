"""Integrations: connections to Google, Gusto and Stripe, pending authorizations, imported slices

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 20:43:04.976939+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "integration_authorization",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_integration_authorization_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_authorization")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_integration_authorization_state_hash")),
    )
    with op.batch_alter_table("integration_authorization", schema=None) as batch_op:
        batch_op.create_index("ix_integration_authorization_user_id", ["user_id"], unique=False)

    op.create_table(
        "integration_connection",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("account_email", sa.String(length=320), nullable=True),
        sa.Column("account_name", sa.String(length=300), nullable=True),
        sa.Column("granted_scopes", sa.JSON(), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_status", sa.String(length=16), nullable=False),
        sa.Column("sync_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_integration_connection_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_connection")),
        sa.UniqueConstraint("user_id", "provider", name=op.f("uq_integration_connection_user_id_provider")),
    )
    with op.batch_alter_table("integration_connection", schema=None) as batch_op:
        batch_op.create_index(
            "ix_integration_connection_provider_subject", ["provider", "subject"], unique=False
        )

    op.create_table(
        "integration_calendar_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=1024), nullable=False),
        sa.Column("title", sa.String(length=1024), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["integration_connection.id"],
            name=op.f("fk_integration_calendar_event_connection_id_integration_connection"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_integration_calendar_event_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_calendar_event")),
    )
    with op.batch_alter_table("integration_calendar_event", schema=None) as batch_op:
        batch_op.create_index("ix_integration_calendar_event_connection_id", ["connection_id"], unique=False)
        batch_op.create_index("ix_integration_calendar_event_user_id", ["user_id"], unique=False)

    op.create_table(
        "integration_employee",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("first_name", sa.String(length=200), nullable=True),
        sa.Column("last_name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("job_title", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["integration_connection.id"],
            name=op.f("fk_integration_employee_connection_id_integration_connection"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_integration_employee_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_employee")),
    )
    with op.batch_alter_table("integration_employee", schema=None) as batch_op:
        batch_op.create_index("ix_integration_employee_connection_id", ["connection_id"], unique=False)
        batch_op.create_index("ix_integration_employee_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("integration_employee", schema=None) as batch_op:
        batch_op.drop_index("ix_integration_employee_user_id")
        batch_op.drop_index("ix_integration_employee_connection_id")

    op.drop_table("integration_employee")
    with op.batch_alter_table("integration_calendar_event", schema=None) as batch_op:
        batch_op.drop_index("ix_integration_calendar_event_user_id")
        batch_op.drop_index("ix_integration_calendar_event_connection_id")

    op.drop_table("integration_calendar_event")
    with op.batch_alter_table("integration_connection", schema=None) as batch_op:
        batch_op.drop_index("ix_integration_connection_provider_subject")

    op.drop_table("integration_connection")
    with op.batch_alter_table("integration_authorization", schema=None) as batch_op:
        batch_op.drop_index("ix_integration_authorization_user_id")

    op.drop_table("integration_authorization")
