"""Imports every domain's job handlers, so any worker knows them all."""

from opmaestro.core import jobs  # noqa: F401
from opmaestro.notifications import tasks as notifications_tasks  # noqa: F401
