"""Errors of the data-request routes, rendered as problem+json."""

from opmaestro.core.errors import AppError


class DataRequestNotFound(AppError):
    status, slug, title = 404, "data-request-not-found", "Data request not found"


class OpenRequestExists(AppError):
    status, slug, title = 409, "open-request-exists", "A request of this kind is open"


class RequestNotOpen(AppError):
    status, slug, title = 409, "request-not-open", "The request is not open"


class CannotCancel(AppError):
    status, slug, title = 409, "cannot-cancel", "The request can no longer be cancelled"


class AlreadyExtended(AppError):
    status, slug, title = 409, "already-extended", "The deadline was already extended"


class NotACorrection(AppError):
    status, slug, title = 409, "not-a-correction", "Only correction requests are resolved by staff"


class NotAwaitingVerification(AppError):
    status, slug, title = 409, "not-awaiting-verification", "The request is not awaiting verification"


class VerificationLinkInvalid(AppError):
    # The link is the credential: a wrong, used or expired one is refused alike.
    status, slug, title = 403, "invalid-token", "Invalid or expired link"
