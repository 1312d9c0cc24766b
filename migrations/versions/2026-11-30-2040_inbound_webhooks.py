"""Inbound webhooks: the raw event store, object versions, Google push channels, Gusto subscriptions

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 20:40:19.835088+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gusto_webhook_subscription",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subscription_uuid", sa.String(length=64), nullable=False),
        sa.Column("token_encrypted", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gusto_webhook_subscription")),
        sa.UniqueConstraint(
            "subscription_uuid",
            "token_hash",
            name=op.f("uq_gusto_webhook_subscription_subscription_uuid_token_hash"),
        ),
    )
    op.create_table(
        "inbound_object_version",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("object_key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "object_key", name=op.f("pk_inbound_object_version")),
    )
    op.create_table(
        "google_push_channel",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_user_id", sa.Uuid(), nullable=False),
        sa.Column("connection_ref", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_message_number", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["user_account.id"],
            name=op.f("fk_google_push_channel_owner_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_google_push_channel")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_google_push_channel_channel_id")),
    )
    with op.batch_alter_table("google_push_channel", schema=None) as batch_op:
        batch_op.create_index("ix_google_push_channel_expires_at", ["expires_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_google_push_channel_owner_user_id"), ["owner_user_id"], unique=False
        )

    op.create_table(
        "inbound_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=255), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=True),
        sa.Column("object_version", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_inbound_event_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_event")),
        sa.UniqueConstraint("provider", "event_id", name=op.f("uq_inbound_event_provider_event_id")),
    )
    with op.batch_alter_table("inbound_event", schema=None) as batch_op:
        batch_op.create_index("ix_inbound_event_state_received_at", ["state", "received_at"], unique=False)
        batch_op.create_index("ix_inbound_event_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_event", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_event_user_id")
        batch_op.drop_index("ix_inbound_event_state_received_at")

    op.drop_table("inbound_event")
    with op.batch_alter_table("google_push_channel", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_google_push_channel_owner_user_id"))
        batch_op.drop_index("ix_google_push_channel_expires_at")

    op.drop_table("google_push_channel")
    op.drop_table("inbound_object_version")
    op.drop_table("gusto_webhook_subscription")
