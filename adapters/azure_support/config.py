"""Connection settings for Azure support tickets in one Azure subscription."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

AUTHORITY_URL = "https://login.microsoftonline.com"
MANAGEMENT_URL = "https://management.azure.com"
MANAGEMENT_SCOPE = "https://management.azure.com/.default"
API_VERSION = "2024-04-01"
CLASSIFICATION = re.compile(
    r"^/providers/Microsoft\.Support/services/(?P<service>[^/]+)/problemClassifications/(?P<pc>[^/]+)$", re.I
)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    if parts.query or parts.fragment or parts.path.strip("/"):
        raise ValueError("must be a bare origin (no path, query string or fragment)")
    return value.rstrip("/")


def _guid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("must be a GUID") from None


def _classification(value: str) -> str:
    if not CLASSIFICATION.match(value):
        raise ValueError(
            "must be a problem classification id: /providers/Microsoft.Support/services/{service}"
            "/problemClassifications/{classification}"
        )
    return value


HttpUrlText = Annotated[str, AfterValidator(_http_url)]
Guid = Annotated[str, AfterValidator(_guid)]
ClassificationId = Annotated[str, AfterValidator(_classification)]
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class SupportContact(BaseModel):
    """Who Microsoft contacts about the tickets (required on every ticket)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    email: Email
    phone: str | None = Field(default=None, max_length=40)
    country: str = Field(
        pattern=r"^[A-Za-z]{3}$", description="ISO 3166-1 alpha-3 country of the contact (ITA, USA)"
    )
    time_zone: str = Field(
        min_length=1,
        max_length=100,
        description="Windows time zone name (Microsoft Time Zone Index), e.g. 'W. Europe Standard Time'",
    )
    language: str = Field(
        default="en-us", pattern=r"^[a-z]{2}-[a-z]{2,4}$", description="en-us, it-it, de-de, fr-fr, ..."
    )


class AzureSupportConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    subscription_id: Guid = Field(
        description="the Azure subscription the tickets are opened for (the account)"
    )
    tenant_id: Guid = Field(description="the directory (tenant) that subscription belongs to")
    client_id: Guid = Field(description="application (client) id of the MSP's app registration")
    client_secret: SecretStr = Field(min_length=1, description="a client secret of that app")
    partner_tenant_id: Guid | None = Field(
        default=None,
        description="CSP partner tenant: when set, an auxiliary token from it is sent "
        "(x-ms-authorization-auxiliary) to open tickets on behalf of the customer",
    )
    contact: SupportContact
    sender_email: Email = Field(
        description="sender of the messages we add (required for a service principal)"
    )
    default_problem_classification_id: ClassificationId | None = Field(
        default=None, description="used when a case request names no category"
    )
    advanced_diagnostic_consent: Literal["Yes", "No"] = "No"
    highest_critical_impact: bool = Field(
        default=False,
        description="map critical cases to 'highestcriticalimpact' (Premium/Unified plans only), "
        "else to 'critical'",
    )
    authority_url: HttpUrlText = Field(default=AUTHORITY_URL, description="Microsoft identity platform")
    management_url: HttpUrlText = Field(default=MANAGEMENT_URL, description="Azure Resource Manager")


__all__ = [
    "API_VERSION",
    "CLASSIFICATION",
    "MANAGEMENT_SCOPE",
    "MANAGEMENT_URL",
    "AzureSupportConfig",
    "SupportContact",
]
