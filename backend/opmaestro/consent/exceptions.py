from opmaestro.core.errors import AppError


class PurposeNotFound(AppError):
    status, slug, title = 404, "purpose-not-found", "Purpose not found"


class PurposeExists(AppError):
    status, slug, title = 409, "purpose-exists", "Purpose exists"


class PurposeNotOptional(AppError):
    status, slug, title = 409, "purpose-not-optional", "Purpose not optional"


class ConsentEventNotFound(AppError):
    status, slug, title = 404, "consent-event-not-found", "Consent event not found"


class PersonNotFound(AppError):
    status, slug, title = 404, "person-not-found", "Person not found"


class ConsentSuperseded(AppError):
    status, slug, title = 409, "consent-superseded", "A newer answer exists"


class IdempotencyKeyRequired(AppError):
    status, slug, title = 400, "idempotency-key-required", "Idempotency key required"


class IdempotencyKeyReused(AppError):
    status, slug, title = 422, "idempotency-key-reused", "Idempotency key reused"


class IdempotencyConflict(AppError):
    status, slug, title = 409, "idempotency-conflict", "Request in progress"


class TooManyConsentRequests(AppError):
    status, slug, title = 429, "too-many-requests", "Too many requests"
