"""Inbound provider webhooks: verified on the raw body, stored once, handled by a job."""
