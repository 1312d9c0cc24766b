"""Answers of the integrations API: the providers, their connection, the authorization URL."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from opmaestro.core.schemas import ResponseModel
from opmaestro.integrations.models import Provider, SyncStatus

ConnectionStatus = Literal["not_configured", "not_connected", "connected"]


class IntegrationConnectionRead(ResponseModel):
    account_email: str | None = Field(description="The provider account's email (Google).")
    account_name: str | None = Field(description="The company (Gusto) or business (Stripe) name.")
    subject: str = Field(description="The provider's id of the account, company or Stripe account.")
    granted_scopes: list[str] = Field(description="The scopes the provider actually granted.")
    connected_at: datetime
    last_synced_at: datetime | None
    sync_status: SyncStatus
    sync_error: str | None
    needs_reconnect: bool = Field(description="The provider revoked the tokens: connect again to sync.")
    imported_items: int = Field(description="Calendar events (Google) or employees (Gusto) imported.")


class IntegrationRead(ResponseModel):
    provider: Provider
    name: str
    status: ConnectionStatus
    requested_scopes: list[str]
    imports: str = Field(description="What connecting imports, in a sentence.")
    connection: IntegrationConnectionRead | None


class IntegrationList(ResponseModel):
    items: list[IntegrationRead]


class AuthorizationStart(ResponseModel):
    authorization_url: str = Field(
        description="Send the browser here; the provider redirects to the callback."
    )
    expires_at: datetime


class SyncQueued(ResponseModel):
    provider: Provider
    sync_status: SyncStatus


class Disconnected(ResponseModel):
    provider: Provider
    revoked_at_provider: bool = Field(
        description="False when the provider could not be told; local data is gone anyway."
    )
