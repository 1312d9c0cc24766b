from opmaestro.core.errors import AppError


class WebhookNotConfigured(AppError):
    """The server holds no secret (or client id) for this provider: as if the route were not there."""

    status, slug, title = 404, "webhook-not-configured", "This webhook is not configured"


class ProviderUnavailable(AppError):
    status, slug, title = 503, "provider-unavailable", "The provider could not be reached"


class InvalidSignature(AppError):
    status, slug, title = 400, "invalid-webhook-signature", "The webhook signature is missing or wrong"


class StaleDelivery(AppError):
    status, slug, title = 400, "stale-webhook", "The webhook is too old or dated in the future"


class MalformedEvent(AppError):
    status, slug, title = 400, "malformed-webhook", "The webhook body is not a valid event"


class WebhookBodyTooLarge(AppError):
    status, slug, title = 413, "webhook-too-large", "The webhook body is too large"


class UnknownChannel(AppError):
    status, slug, title = 404, "unknown-push-channel", "Unknown or closed push channel"


class InvalidChannelToken(AppError):
    status, slug, title = 401, "invalid-channel-token", "The channel token is wrong"


class TooManyPendingSubscriptions(AppError):
    status, slug, title = 429, "too-many-pending-subscriptions", "Too many unverified Gusto subscriptions"


class SubscriptionNotFound(AppError):
    status, slug, title = 404, "gusto-subscription-not-found", "Gusto subscription not found"


class SecurityEventRejected(AppError):
    """RFC 8935: a refused security event token, with its error code in `err`."""

    status, slug, title = 400, "security-event-rejected", "The security event token was refused"

    def __init__(self, err: str, detail: str) -> None:
        super().__init__(detail, extra={"err": err, "description": detail})
