"""Consent ledger: purposes, hash-chained consent events, chain heads and current state

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 18:50:00+00:00
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PURPOSES = [
    (
        "marketing_email",
        "Marketing email",
        "News about OpMaestro features, offers and events, by email, now and then. Every message has a "
        "one-click unsubscribe link, and you can turn this off here at any time.",
        "consent",
    ),
    (
        "product_updates",
        "Product updates",
        "Short notes about changes to the features you use, such as new integrations or retired ones. "
        "We send them because they help you use the service; you can turn them off.",
        "legitimate_interest",
    ),
    (
        "analytics",
        "Usage analytics",
        "Counting the pages and features you use, and the browser and device you use them from, so we "
        "can find what is slow or confusing and improve it. Never sold, never used for advertising.",
        "consent",
    ),
    (
        "personalization",
        "Personalisation",
        "Using what you do in OpMaestro to order menus, suggest next steps and remember your views, "
        "so the app fits the way you work.",
        "consent",
    ),
]


def _seed_purposes() -> None:
    table = sa.table(
        "consent_purpose",
        sa.column("id", sa.Uuid()),
        sa.column("key", sa.String()),
        sa.column("name", sa.String()),
        sa.column("description", sa.Text()),
        sa.column("legal_basis", sa.String()),
        sa.column("optional", sa.Boolean()),
        sa.column("version", sa.Integer()),
        sa.column("renewal_version", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    created = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "id": uuid.uuid5(uuid.NAMESPACE_URL, f"opmaestro:consent-purpose:{key}"),
            "key": key,
            "name": name,
            "description": description,
            "legal_basis": legal_basis,
            "optional": True,
            "version": 1,
            "renewal_version": 1,
            "created_at": created,
            "updated_at": created,
        }
        for key, name, description, legal_basis in PURPOSES
    ]
    op.bulk_insert(table, rows)


def upgrade() -> None:
    op.create_table(
        "consent_chain_head",
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_consent_chain_head")),
    )
    op.create_table(
        "consent_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("subject_user_id", sa.Uuid(), nullable=True),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("purpose_key", sa.String(length=64), nullable=False),
        sa.Column("purpose_version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("policy_version", sa.String(length=32), nullable=True),
        sa.Column("policy_sha256", sa.String(length=64), nullable=True),
        sa.Column("jurisdiction", sa.String(length=2), nullable=True),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_event")),
        sa.UniqueConstraint("hash", name=op.f("uq_consent_event_hash")),
        sa.UniqueConstraint("subject", "seq", name=op.f("uq_consent_event_subject_seq")),
    )
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_event_subject_user_id_created_at", ["subject_user_id", "created_at"], unique=False
        )

    op.create_table(
        "consent_purpose",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.String(length=32), nullable=False),
        sa.Column("optional", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("renewal_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_purpose")),
        sa.UniqueConstraint("key", name=op.f("uq_consent_purpose_key")),
    )
    op.create_table(
        "consent_state",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("purpose_key", sa.String(length=64), nullable=False),
        sa.Column("purpose_version", sa.Integer(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_consent_state_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_state")),
        sa.UniqueConstraint("user_id", "purpose_key", name=op.f("uq_consent_state_user_id_purpose_key")),
    )
    _seed_purposes()


def downgrade() -> None:
    op.drop_table("consent_state")
    op.drop_table("consent_purpose")
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_event_subject_user_id_created_at")

    op.drop_table("consent_event")
    op.drop_table("consent_chain_head")
