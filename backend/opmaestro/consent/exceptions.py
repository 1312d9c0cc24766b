from opmaestro.core.errors import AppError


class PurposeNotFound(AppError):
    status, slug, title = 404, "purpose-not-found", "Purpose not found"


class PurposeExists(AppError):
    status, slug, title = 409, "purpose-exists", "Purpose exists"


class PurposeNotOptional(AppError):
    status, slug, title = 409, "purpose-not-optional", "Purpose not optional"


class ConsentEventNotFound(AppError):
    status, slug, title = 404, "consent-event-not-found", "Consent event not found"
