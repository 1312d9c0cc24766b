"""Who may receive which events.

An OAuth client's endpoints receive every person's events, so each event type needs the scope
that lets the client read the same facts through the API: consents (`consents:read`), a person's
account status in the user directory (`admin:users:read`), or, for data requests, which no
client reads through the API, a scope of its own (`data_requests:read`). It is checked when the
endpoint is registered or changed, and again for every event, since a client's scopes may shrink.
"""

from collections.abc import Iterable

from opmaestro.webhooks.outbound.models import EventType

CLIENT_SCOPE_OF_EVENT: dict[EventType, str] = {
    EventType.CONSENT_CHANGED: "consents:read",
    EventType.DATA_REQUEST_COMPLETED: "data_requests:read",
    EventType.ACCOUNT_CLOSED: "admin:users:read",
    EventType.ACCOUNT_DELETED: "admin:users:read",
}


def client_scope_of(event_type: str) -> str:
    return CLIENT_SCOPE_OF_EVENT[EventType(event_type)]


def scopes_missing(event_types: Iterable[str], scopes: Iterable[str]) -> list[str]:
    """The scopes a client lacks to receive `event_types`, sorted."""
    return sorted({client_scope_of(name) for name in event_types} - set(scopes))
