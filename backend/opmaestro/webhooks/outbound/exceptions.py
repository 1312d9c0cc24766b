"""Errors of the webhook endpoint routes, rendered as problem+json."""

from opmaestro.core.errors import AppError, Forbidden


class EndpointNotFound(AppError):
    status, slug, title = 404, "webhook-endpoint-not-found", "Webhook endpoint not found"


class EndpointUrlRefused(AppError):
    status, slug, title = 422, "webhook-url-refused", "This URL cannot receive webhooks"


class TooManyEndpoints(AppError):
    status, slug, title = 409, "too-many-webhook-endpoints", "Too many webhook endpoints"


class EventScopeMissing(Forbidden):
    slug, title = "webhook-event-scope-missing", "The client may not receive these events"


class ClientsOnly(Forbidden):
    slug, title = "clients-only", "For OAuth clients only"
