"""Imports every domain's models so the metadata (and the data map) is complete."""

from opmaestro.core.jobs import Job, PeriodicSchedule
from opmaestro.notifications.models import OutboxMessage

__all__ = ["Job", "OutboxMessage", "PeriodicSchedule"]
