"""Connection settings of one Microsoft 365 customer tenant (multi-tenant app + consent)."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

AUTHORITY_URL = "https://login.microsoftonline.com"
GRAPH_URL = "https://graph.microsoft.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query string or fragment")
    return value.rstrip("/")


def _guid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("must be a GUID (the directory's tenant id, not a domain name)") from None


HttpUrlText = Annotated[str, AfterValidator(_http_url)]
Guid = Annotated[str, AfterValidator(_guid)]


class MicrosoftGraphConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    tenant_id: Guid = Field(description="the customer's directory (tenant) id")
    client_id: Guid = Field(description="application (client) id of the MSP's multi-tenant app")
    client_secret: SecretStr = Field(min_length=1, description="a client secret of that app")
    authority_url: HttpUrlText = Field(default=AUTHORITY_URL, description="Microsoft identity platform")
    graph_url: HttpUrlText = Field(default=GRAPH_URL, description="Microsoft Graph host (without /v1.0)")
