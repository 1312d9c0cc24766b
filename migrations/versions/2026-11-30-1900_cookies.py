"""Cookies: the inventory and its categories, the banner revision, devices and their current answers

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 17:32:08.199035+00:00

Seeds the two new purposes (`necessary_cookies`, `marketing_cookies`), the four banner
categories, and the cookies the product really sets.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cookie_banner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cookie_banner")),
    )
    op.create_table(
        "cookie_category",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("purpose_key", sa.String(length=64), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["purpose_key"],
            ["consent_purpose.key"],
            name=op.f("fk_cookie_category_purpose_key_consent_purpose"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cookie_category")),
        sa.UniqueConstraint("purpose_key", name=op.f("uq_cookie_category_purpose_key")),
    )
    op.create_table(
        "cookie_device",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_cookie_device_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cookie_device")),
    )
    with op.batch_alter_table("cookie_device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cookie_device_user_id"), ["user_id"], unique=False)

    op.create_table(
        "cookie_definition",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("category_key", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("pattern", sa.Boolean(), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("duration", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_key"],
            ["cookie_category.key"],
            name=op.f("fk_cookie_definition_category_key_cookie_category"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cookie_definition")),
        sa.UniqueConstraint("name", name=op.f("uq_cookie_definition_name")),
    )
    with op.batch_alter_table("cookie_definition", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cookie_definition_category_key"), ["category_key"], unique=False)

    op.create_table(
        "cookie_device_state",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("purpose_key", sa.String(length=64), nullable=False),
        sa.Column("purpose_version", sa.Integer(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["cookie_device.id"],
            name=op.f("fk_cookie_device_state_device_id_cookie_device"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_cookie_device_state_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cookie_device_state")),
        sa.UniqueConstraint(
            "device_id", "purpose_key", name=op.f("uq_cookie_device_state_device_id_purpose_key")
        ),
    )
    with op.batch_alter_table("cookie_device_state", schema=None) as batch_op:
        batch_op.create_index("ix_cookie_device_state_user_id", ["user_id"], unique=False)

    _seed()


def downgrade() -> None:
    with op.batch_alter_table("cookie_device_state", schema=None) as batch_op:
        batch_op.drop_index("ix_cookie_device_state_user_id")

    op.drop_table("cookie_device_state")
    with op.batch_alter_table("cookie_definition", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cookie_definition_category_key"))

    op.drop_table("cookie_definition")
    with op.batch_alter_table("cookie_device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cookie_device_user_id"))

    op.drop_table("cookie_device")
    op.drop_table("cookie_category")
    op.drop_table("cookie_banner")
    op.execute(sa.text("DELETE FROM consent_purpose WHERE key IN ('necessary_cookies', 'marketing_cookies')"))


SEEDED_AT = datetime(2026, 11, 30, tzinfo=UTC)
PURPOSES = [
    (
        "necessary_cookies",
        "Strictly necessary cookies",
        "Cookies the service cannot work without: keeping you signed in, protecting forms against "
        "cross-site request forgery, and remembering your cookie choice. They are always on.",
        "legitimate_interest",
        False,
    ),
    (
        "marketing_cookies",
        "Marketing cookies",
        "Cookies that measure our campaigns and show you OpMaestro on other sites. Off unless you turn "
        "them on; a Global Privacy Control signal keeps them off.",
        "consent",
        True,
    ),
]
# key, name, description, purpose, required
CATEGORIES = [
    (
        "necessary",
        "Strictly necessary",
        "Needed for signing in, security and remembering your cookie choice; always on.",
        "necessary_cookies",
        True,
    ),
    (
        "preferences",
        "Preferences",
        "Remember how you like the app: your views, menus and next-step suggestions.",
        "personalization",
        False,
    ),
    (
        "analytics",
        "Analytics",
        "Count the pages and features used, so we can find what is slow or confusing and improve it.",
        "analytics",
        False,
    ),
    (
        "marketing",
        "Marketing",
        "Measure our campaigns and show OpMaestro on other sites.",
        "marketing_cookies",
        False,
    ),
]
# name, provider, description, duration (the defaults of core/config.py), category
COOKIES = [
    (
        "opm_session",
        "OpMaestro",
        "Keeps you signed in: an opaque session token (named __Host-opm_session over HTTPS). "
        "Set when you sign in, removed when you sign out.",
        "12 hours (ends after 30 minutes idle)",
    ),
    (
        "opm_csrf",
        "OpMaestro",
        "Protects your signed-in requests against cross-site request forgery (named __Host-opm_csrf "
        "over HTTPS). Set when you sign in.",
        "12 hours",
    ),
    (
        "opm_device",
        "OpMaestro",
        "A random id for this browser, so that your cookie choice and its receipts can be recorded and "
        "shown again (named __Host-opm_device over HTTPS). Set when you first answer the cookie banner.",
        "13 months",
    ),
    (
        "cc_cookie",
        "OpMaestro (cookie banner)",
        "Remembers in this browser which cookie categories you accepted, and the banner revision you "
        "answered, so the banner is not shown again.",
        "12 months",
    ),
]


def _seed() -> None:
    purpose = sa.table(
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
    op.bulk_insert(
        purpose,
        [
            {
                "id": uuid.uuid5(uuid.NAMESPACE_URL, f"opmaestro:consent-purpose:{key}"),
                "key": key,
                "name": name,
                "description": description,
                "legal_basis": legal_basis,
                "optional": optional,
                "version": 1,
                "renewal_version": 1,
                "created_at": SEEDED_AT,
                "updated_at": SEEDED_AT,
            }
            for key, name, description, legal_basis, optional in PURPOSES
        ],
    )
    category = sa.table(
        "cookie_category",
        sa.column("key", sa.String()),
        sa.column("name", sa.String()),
        sa.column("description", sa.Text()),
        sa.column("purpose_key", sa.String()),
        sa.column("required", sa.Boolean()),
        sa.column("position", sa.Integer()),
    )
    op.bulk_insert(
        category,
        [
            {
                "key": key,
                "name": name,
                "description": description,
                "purpose_key": purpose_key,
                "required": required,
                "position": position,
            }
            for position, (key, name, description, purpose_key, required) in enumerate(CATEGORIES)
        ],
    )
    definition = sa.table(
        "cookie_definition",
        sa.column("id", sa.Uuid()),
        sa.column("category_key", sa.String()),
        sa.column("name", sa.String()),
        sa.column("pattern", sa.Boolean()),
        sa.column("provider", sa.String()),
        sa.column("description", sa.Text()),
        sa.column("duration", sa.String()),
        sa.column("party", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(
        definition,
        [
            {
                "id": uuid.uuid5(uuid.NAMESPACE_URL, f"opmaestro:cookie:{name}"),
                "category_key": "necessary",
                "name": name,
                "pattern": False,
                "provider": provider,
                "description": description,
                "duration": duration,
                "party": "first",
                "created_at": SEEDED_AT,
                "updated_at": SEEDED_AT,
            }
            for name, provider, description, duration in COOKIES
        ],
    )
    banner = sa.table(
        "cookie_banner",
        sa.column("id", sa.Integer()),
        sa.column("revision", sa.Integer()),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(banner, [{"id": 1, "revision": 1, "updated_at": SEEDED_AT}])
