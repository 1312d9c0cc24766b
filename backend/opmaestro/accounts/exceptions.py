from opmaestro.core.errors import AppError, Forbidden


class InvalidCredentials(AppError):
    status, slug, title = 401, "invalid-credentials", "Invalid credentials"


class MfaRequired(AppError):
    status, slug, title = 401, "mfa-required", "Two-factor code required"


class TooManyAttempts(AppError):
    status, slug, title = 429, "too-many-attempts", "Too many attempts"


class InvalidToken(AppError):
    # The token is the credential for what it grants: a wrong or spent one is refused like one.
    status, slug, title = 403, "invalid-token", "Invalid or expired link"


class PolicyVersionMismatch(AppError):
    status, slug, title = 409, "policy-version-mismatch", "Policy changed"


class EmailTaken(AppError):
    status, slug, title = 409, "email-taken", "Email address in use"


class WrongPassword(AppError):
    status, slug, title = 403, "wrong-password", "Wrong password"


class SessionNotFound(AppError):
    status, slug, title = 404, "session-not-found", "Session not found"


class TokenNotFound(AppError):
    status, slug, title = 404, "token-not-found", "Token not found"


class UserNotFound(AppError):
    status, slug, title = 404, "user-not-found", "User not found"


class ClientNotFound(AppError):
    status, slug, title = 404, "client-not-found", "Client not found"


class ScopeNotAllowed(AppError):
    status, slug, title = 403, "scope-not-allowed", "Scope not allowed"


class LastAdmin(AppError):
    status, slug, title = 409, "last-admin", "Last administrator"


class AccountErased(AppError):
    status, slug, title = 409, "account-erased", "Account erased"


class MfaAlreadyEnabled(AppError):
    status, slug, title = 409, "mfa-already-enabled", "Two-factor already enabled"


class MfaNotEnabled(AppError):
    status, slug, title = 409, "mfa-not-enabled", "Two-factor not enabled"


class MfaRequiredForStaff(AppError):
    status, slug, title = 409, "mfa-required-for-staff", "Two-factor required for staff"


class MfaNotStarted(AppError):
    status, slug, title = 409, "mfa-not-started", "Two-factor enrollment not started"


class InvalidOtp(AppError):
    status, slug, title = 400, "invalid-otp", "Invalid code"


class InvalidClient(AppError):
    status, slug, title = 401, "invalid-client", "Invalid client"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail, headers={"WWW-Authenticate": 'Basic realm="oauth"'}, extra={"error": "invalid_client"}
        )


class UnsupportedGrant(AppError):
    status, slug, title = 400, "unsupported-grant-type", "Unsupported grant type"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, extra={"error": "unsupported_grant_type"})


class InvalidOAuthRequest(AppError):
    status, slug, title = 400, "invalid-request", "Invalid token request"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, extra={"error": "invalid_request"})


class InvalidScope(AppError):
    status, slug, title = 400, "invalid-scope", "Invalid scope"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, extra={"error": "invalid_scope"})


class ReauthenticationRequired(Forbidden):
    slug, title = "reauthentication-required", "Re-authentication required"
