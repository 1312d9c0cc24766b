"""Imports every domain's job handlers, so any worker knows them all."""

from opmaestro.accounts import tasks as accounts_tasks  # noqa: F401
from opmaestro.core import jobs  # noqa: F401
from opmaestro.notifications import tasks as notifications_tasks  # noqa: F401
