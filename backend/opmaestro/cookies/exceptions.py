from opmaestro.core.errors import AppError


class CookieNotFound(AppError):
    status, slug, title = 404, "cookie-not-found", "Cookie not found"


class CookieExists(AppError):
    status, slug, title = 409, "cookie-exists", "Cookie exists"


class NoCookieChoice(AppError):
    status, slug, title = 404, "no-cookie-choice", "No cookie choice"


class InvalidDevice(AppError):
    status, slug, title = 400, "invalid-device", "Invalid device cookie"


class TooManyCookieChoices(AppError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class StaleBannerRevision(AppError):
    status, slug, title = 409, "stale-banner-revision", "The cookie banner has changed"
