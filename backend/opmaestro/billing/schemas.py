from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from opmaestro.core.config import BillingInterval


class PlanRead(BaseModel):
    key: str
    name: str
    interval: BillingInterval
    amount: int = Field(description="In the currency's minor unit (cents).")
    currency: str
    features: list[str]


class PlanList(BaseModel):
    plans: list[PlanRead]


class CheckoutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")


class RedirectRead(BaseModel):
    url: str = Field(description="Where to send the browser (a Stripe-hosted page).")


class SubscriptionRead(BaseModel):
    plan: str | None = Field(description="The plan's key, or None when the price is not a plan we offer.")
    plan_name: str | None
    status: str = Field(description="Stripe's status: active, trialing, past_due, unpaid, canceled, ...")
    current_period_end: datetime | None
    cancel_at_period_end: bool
    payment_failed: bool = Field(description="A payment failed and was not made good since.")


class SubscriptionState(BaseModel):
    subscription: SubscriptionRead | None


class InvoiceRead(BaseModel):
    id: str = Field(description="Stripe's invoice id.")
    number: str | None
    amount_due: int
    amount_paid: int
    currency: str
    status: str
    issued_at: datetime
    hosted_invoice_url: str | None
