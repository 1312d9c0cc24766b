"""Who is which Stripe customer, their subscriptions and invoices, as Stripe's events last said."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opmaestro.core.datamap import (
    BILLING,
    DELETE,
    not_personal,
    personal,
    retain,
    subject_key,
    subject_rows,
)
from opmaestro.core.db import Base, IdMixin, TimestampMixin

# Tax and accounting law (for example the German HGB/AO, 10 years; the French Code de commerce,
# 10 years) requires invoices and what ties them to the customer to be kept.
INVOICE_RECORDS = retain(
    "tax and accounting law: invoices, and the records tying them to the customer, are kept for ten years",
    days=3650,
)


class BillingCustomer(IdMixin, TimestampMixin, Base):
    """The Stripe customer we created for a person (created once, server-side)."""

    __tablename__ = "billing_customer"
    __table_args__ = {"info": subject_rows(subject_key("user_id"))}

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"),
        unique=True,
        info=personal(BILLING, erase=INVOICE_RECORDS),
    )
    stripe_customer_id: Mapped[str] = mapped_column(
        String(255), unique=True, info=personal(BILLING, erase=INVOICE_RECORDS)
    )


class BillingSubscription(IdMixin, TimestampMixin, Base):
    """A Stripe subscription of a person; `event_version` is the Stripe event time last applied."""

    __tablename__ = "billing_subscription"
    __table_args__ = {"info": subject_rows(subject_key("user_id"))}

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True, info=personal(BILLING, erase=DELETE)
    )
    stripe_subscription_id: Mapped[str] = mapped_column(
        String(255), unique=True, info=personal(BILLING, erase=DELETE)
    )
    stripe_customer_id: Mapped[str] = mapped_column(String(255), info=personal(BILLING, erase=DELETE))
    plan_key: Mapped[str | None] = mapped_column(String(64), info=personal(BILLING, erase=DELETE))
    price_id: Mapped[str | None] = mapped_column(String(255), info=personal(BILLING, erase=DELETE))
    status: Mapped[str] = mapped_column(String(32), info=personal(BILLING, erase=DELETE))
    current_period_end: Mapped[datetime | None] = mapped_column(info=personal(BILLING, erase=DELETE))
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False, info=personal(BILLING, erase=DELETE))
    # The latest invoice of this subscription whose payment failed and that is not paid since.
    failed_invoice_id: Mapped[str | None] = mapped_column(String(255), info=personal(BILLING, erase=DELETE))
    event_version: Mapped[int | None] = mapped_column(
        BigInteger, info=not_personal("Stripe's `created` of the last subscription event applied")
    )


class BillingInvoice(IdMixin, TimestampMixin, Base):
    """An invoice Stripe told us about; kept for the legal period, its link dropped on erasure."""

    __tablename__ = "billing_invoice"
    __table_args__ = {"info": subject_rows(subject_key("user_id"))}

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT"),
        index=True,
        info=personal(BILLING, erase=INVOICE_RECORDS),
    )
    stripe_invoice_id: Mapped[str] = mapped_column(
        String(255), unique=True, info=personal(BILLING, erase=INVOICE_RECORDS)
    )
    stripe_subscription_id: Mapped[str | None] = mapped_column(
        String(255), info=personal(BILLING, erase=INVOICE_RECORDS)
    )
    number: Mapped[str | None] = mapped_column(String(255), info=personal(BILLING, erase=INVOICE_RECORDS))
    amount_due: Mapped[int] = mapped_column(BigInteger, info=personal(BILLING, erase=INVOICE_RECORDS))
    amount_paid: Mapped[int] = mapped_column(BigInteger, info=personal(BILLING, erase=INVOICE_RECORDS))
    currency: Mapped[str] = mapped_column(String(3), info=personal(BILLING, erase=INVOICE_RECORDS))
    status: Mapped[str] = mapped_column(String(32), info=personal(BILLING, erase=INVOICE_RECORDS))
    issued_at: Mapped[datetime] = mapped_column(index=True, info=personal(BILLING, erase=INVOICE_RECORDS))
    # The hosted page shows the person's name and address; Stripe keeps the invoice itself.
    hosted_invoice_url: Mapped[str | None] = mapped_column(Text, info=personal(BILLING, erase=DELETE))
    event_version: Mapped[int] = mapped_column(
        BigInteger, info=not_personal("Stripe's `created` of the last invoice event applied")
    )
    status_rank: Mapped[int] = mapped_column(
        Integer, default=0, info=not_personal("orders two events of one second: paid outranks open")
    )
