from opmaestro.core.errors import AppError


class ProviderNotConfigured(AppError):
    status, slug, title = 409, "integration-not-configured", "Integration not configured"


class IntegrationNotConnected(AppError):
    status, slug, title = 404, "integration-not-connected", "Integration not connected"


class IntegrationProviderError(AppError):
    status, slug, title = 502, "integration-provider-error", "The provider could not complete the request"


class SyncAlreadyQueued(AppError):
    status, slug, title = 409, "integration-sync-queued", "A sync is already queued"
