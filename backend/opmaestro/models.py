"""Imports every domain's models so the metadata (and the data map) is complete."""

from opmaestro.accounts.models import (
    AccountToken,
    OAuthClient,
    PersonalAccessToken,
    RecoveryCode,
    SecurityEvent,
    User,
    UserSession,
)
from opmaestro.audit.models import AuditRecord
from opmaestro.billing.models import BillingCustomer, BillingInvoice, BillingSubscription
from opmaestro.consent.models import (
    ConsentChainHead,
    ConsentEvent,
    ConsentPurpose,
    ConsentState,
    EmailCampaign,
)
from opmaestro.cookies.models import (
    CookieBannerRevision,
    CookieCategory,
    CookieDefinition,
    CookieDevice,
    CookieDeviceState,
)
from opmaestro.core.jobs import Job, PeriodicSchedule
from opmaestro.core.jwt import SigningKey
from opmaestro.dsar.models import DataRequest, LegalHold
from opmaestro.integrations.models import (
    IntegrationAuthorization,
    IntegrationCalendarEvent,
    IntegrationConnection,
    IntegrationEmployee,
    IntegrationRevocation,
)
from opmaestro.notifications.models import OutboxMessage
from opmaestro.policies.models import PolicyAcceptance, PolicyVersion
from opmaestro.webhooks.inbound.models import GustoSubscription, InboundEvent, ObjectVersion, PushChannel
from opmaestro.webhooks.outbound.models import WebhookDelivery, WebhookEndpoint

__all__ = [
    "AccountToken",
    "AuditRecord",
    "BillingCustomer",
    "BillingInvoice",
    "BillingSubscription",
    "ConsentChainHead",
    "ConsentEvent",
    "ConsentPurpose",
    "ConsentState",
    "CookieBannerRevision",
    "CookieCategory",
    "CookieDefinition",
    "CookieDevice",
    "CookieDeviceState",
    "DataRequest",
    "EmailCampaign",
    "GustoSubscription",
    "InboundEvent",
    "IntegrationAuthorization",
    "IntegrationCalendarEvent",
    "IntegrationConnection",
    "IntegrationEmployee",
    "IntegrationRevocation",
    "Job",
    "LegalHold",
    "OAuthClient",
    "ObjectVersion",
    "OutboxMessage",
    "PeriodicSchedule",
    "PersonalAccessToken",
    "PolicyAcceptance",
    "PolicyVersion",
    "PushChannel",
    "RecoveryCode",
    "SecurityEvent",
    "SigningKey",
    "User",
    "UserSession",
    "WebhookDelivery",
    "WebhookEndpoint",
]
