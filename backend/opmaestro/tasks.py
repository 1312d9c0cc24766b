"""Imports every domain's job handlers and hooks, so any process (app, CLI, worker) knows them all."""

from opmaestro.accounts import tasks as accounts_tasks  # noqa: F401
from opmaestro.billing import tasks as billing_tasks  # noqa: F401
from opmaestro.consent import hooks as consent_hooks  # noqa: F401
from opmaestro.cookies import hooks as cookies_hooks  # noqa: F401
from opmaestro.core import jobs  # noqa: F401
from opmaestro.dsar import erasure as dsar_erasure  # noqa: F401
from opmaestro.dsar import export as dsar_export  # noqa: F401
from opmaestro.dsar import tasks as dsar_tasks  # noqa: F401
from opmaestro.integrations import hooks as integrations_hooks  # noqa: F401
from opmaestro.integrations import provider_events as integrations_provider_events  # noqa: F401
from opmaestro.integrations import tasks as integrations_tasks  # noqa: F401
from opmaestro.notifications import tasks as notifications_tasks  # noqa: F401
from opmaestro.webhooks.inbound import gusto_events as inbound_gusto  # noqa: F401
from opmaestro.webhooks.inbound import tasks as inbound_webhook_tasks  # noqa: F401
from opmaestro.webhooks.outbound import delivery as webhooks_delivery  # noqa: F401
from opmaestro.webhooks.outbound import events as webhooks_events  # noqa: F401
