"""Webhooks: inbound provider events (inbound/) and signed outbound events to clients (outbound/)."""
