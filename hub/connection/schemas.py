from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from hub.api.crud import ListParams
from hub.kit.fields import Name
from hub.kit.schema import Input, Output, UpdateInput
from hub.models.enums import ConnectionHealth, ConnectionScope

_CONFIG = Field(
    description="the adapter's configuration (see GET /adapters for its JSON Schema); secret fields "
    "are write-only: never returned, and on update a secret left out keeps its stored value"
)


class ConnectionCreate(Input):
    name: Name
    adapter_slug: str = Field(min_length=1, max_length=80, description="an installed adapter (GET /adapters)")
    scope: ConnectionScope | None = Field(
        None, description="msp (a partner account for all clients) or client; default: client when client_id"
    )
    client_id: uuid.UUID | None = Field(None, description="the client a client-scoped connection belongs to")
    config: dict[str, Any] = _CONFIG
    enabled: bool = True


class ConnectionUpdate(UpdateInput):
    name: Name | None = None
    enabled: bool | None = None
    config: dict[str, Any] | None = Field(
        None, description="replaces the configuration; secrets left out are kept"
    )


class ConnectionClientRead(Output):
    """A client's own connection as the client sees it: which vendor, whether it works;
    nothing of its configuration (URLs, account ids, secrets' state) or its errors."""

    id: uuid.UUID
    name: str
    adapter_slug: str
    client_id: uuid.UUID | None
    enabled: bool
    health: ConnectionHealth
    last_success_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class ConnectionRead(Output):
    id: uuid.UUID
    name: str
    adapter_slug: str
    adapter_installed: bool
    scope: ConnectionScope
    client_id: uuid.UUID | None
    account_ref: str
    config: dict[str, Any] = Field(
        description="non-secret fields as stored; each secret field as {set, changed_at} only"
    )
    config_changed_at: datetime | None
    enabled: bool
    health: ConnectionHealth
    last_success_at: datetime | None
    consecutive_failures: int
    last_error: str | None = Field(description="the last failure, with every secret value redacted")
    next_sync_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class ConnectionFilters(ListParams):
    adapter_slug: str | None = Field(None, max_length=80)
    client_id: uuid.UUID | None = None
    scope: ConnectionScope | None = None
    health: ConnectionHealth | None = None
    enabled: bool | None = None


class ConnectionTestResult(Output):
    connection_id: uuid.UUID
    ok: bool
    health: ConnectionHealth
    account_ref: str | None = Field(None, description="whose account the credentials belong to")
    account_name: str | None = None
    error: str | None = Field(None, description="why it failed (secrets redacted)")


class SyncQueued(Output):
    connection_id: uuid.UUID
    job_id: int
    already_queued: bool = Field(description="a sync of this connection was already waiting or running")


class AdapterRead(Output):
    slug: str
    vendor: str
    category: str
    version: str
    capabilities: list[str]
    account_ref_field: str
    config_schema: dict[str, Any] = Field(description="JSON Schema of the config; secrets are writeOnly")
    docs_url: str | None


class AdapterList(Output):
    items: list[AdapterRead]
    broken: dict[str, str] = Field(description="entry points that could not be loaded, and why")
