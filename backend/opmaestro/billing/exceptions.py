from opmaestro.core.errors import AppError


class BillingNotConfigured(AppError):
    status, slug, title = 503, "billing-not-configured", "Billing is not configured"


class UnknownPlan(AppError):
    status, slug, title = 422, "unknown-plan", "Unknown plan"


class AlreadySubscribed(AppError):
    status, slug, title = 409, "already-subscribed", "Already subscribed"


class NoBillingAccount(AppError):
    status, slug, title = 409, "no-billing-account", "No billing account yet"


class IdempotencyKeyReused(AppError):
    status, slug, title = 409, "idempotency-key-reused", "Idempotency key reused"


class PaymentProviderFailed(AppError):
    status, slug, title = 502, "payment-provider-error", "The payment provider did not answer as expected"
