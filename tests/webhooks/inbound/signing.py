"""Deliveries signed the way each provider signs them."""

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

STRIPE_SECRET = "whsec_test_current_secret"
OLD_STRIPE_SECRET = "whsec_test_previous_secret"


def stripe_event(event_id: str = "evt_1", event_type: str = "customer.updated", **fields: Any) -> bytes:
    event = {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "type": event_type,
        "livemode": False,
        "data": {"object": {"id": "cus_123", "object": "customer", "email": "ann@example.com"}},
    } | fields
    return json.dumps(event).encode()


def stripe_signature(body: bytes, secret: str = STRIPE_SECRET, *, at: int | None = None) -> str:
    """`t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`, as Stripe (and its test helper) signs."""
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.{body.decode()}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def gusto_event(event_type: str = "employee.updated", **fields: Any) -> bytes:
    event = {
        "uuid": str(uuid.uuid4()),
        "event_type": event_type,
        "resource_type": "Company",
        "resource_uuid": "5df911a0-e8e9-412d-8aaf-a46ad193dd96",
        "entity_type": "Employee",
        "entity_uuid": "7b1c5e2a-1111-4f2e-9a4b-8c2d3e4f5a6b",
        "timestamp": int(time.time()),
    } | fields
    return json.dumps(event).encode()


def gusto_signature(body: bytes, token: str) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
