"""Connection settings of a Dell TechDirect API client."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$", max_length=300)]
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
DISPATCH_URL = "https://apigtwb2c.us.dell.com/PROD/support/dispatch/v3/service"


class ShipTo(BaseModel):
    """Where Dell ships the parts (when no TechDirect address book entry is named)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    country: str = Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2 country code")
    city: str = Field(min_length=1, max_length=100)
    state: str = Field(default="", max_length=100)
    postal_code: str = Field(min_length=1, max_length=20)
    line1: str = Field(min_length=1, max_length=200)
    line2: str = Field(default="", max_length=200)
    line3: str = Field(default="", max_length=200)
    time_zone: str = Field(
        min_length=1,
        max_length=60,
        description="Dell's time zone name for the site, e.g. Europe/Rome or US/Central",
    )


class DellDispatchConfig(BaseModel):
    """TechDirect Self-Dispatch (parts and labour for a service tag). Dell issues the
    dispatch API its own key, and each request also carries a TechDirect technician's
    login: both are needed."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    client_id: str = Field(
        min_length=1, max_length=200, description="API key issued for the Self-Dispatch API"
    )
    client_secret: SecretStr = Field(min_length=1, description="API secret of that key (write-only)")
    login: Email = Field(description="TechDirect technician login (certified for self-dispatch)")
    password: SecretStr = Field(min_length=1, description="the technician's TechDirect password (write-only)")
    tech_email: Email | None = Field(default=None, description="technician responsible, if not the login")
    branch: str = Field(min_length=1, max_length=200, description="dispatching branch (see CheckLogin)")
    customer: str = Field(min_length=1, max_length=200, description="customer of the branch relationship")
    track: str = Field(min_length=1, max_length=50, description="relationship track, e.g. Tier 1")
    contact_name: str = Field(
        min_length=1, max_length=200, description="primary contact when a case names none"
    )
    contact_phone: str = Field(min_length=3, max_length=40)
    contact_email: Email
    address_book_name: str | None = Field(
        default=None, max_length=200, description="a TechDirect address book entry to ship to (else ship_to)"
    )
    ship_to: ShipTo | None = None
    service_url: HttpUrl = Field(default=DISPATCH_URL, description="the Self-Dispatch SOAP service")
    token_url: HttpUrl = Field(default="https://apigtwb2c.us.dell.com/auth/oauth/v2/token")
    lookback_days: int = Field(
        default=30, ge=1, le=365, description="how far back find_case searches without a sending time"
    )
    settle_seconds: int = Field(
        default=300,
        ge=0,
        le=86_400,
        description="a dispatch sent less than this long ago may not be listed yet: not finding it then "
        "is not proof it does not exist",
    )

    @model_validator(mode="after")
    def _one_address(self) -> DellDispatchConfig:
        if (self.address_book_name is None) == (self.ship_to is None):
            raise ValueError("give exactly one of address_book_name and ship_to")
        return self


class DellTechDirectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = Field(
        min_length=1,
        max_length=200,
        description="API key (client id) issued in TechDirect. It names the account: the warranty API has "
        "no endpoint that says whose key it is, and each TechDirect company gets its own keys.",
    )
    client_secret: SecretStr = Field(min_length=1, description="API secret (write-only).")
    client_auth: Literal["body", "basic"] = Field(
        default="body",
        description="How the token request authenticates the client: form fields, or HTTP Basic "
        "(RFC 6749 §2.3.1), which some Dell gateways require.",
    )
    token_url: HttpUrl = Field(default="https://apigtwb2c.us.dell.com/auth/oauth/v2/token")
    api_url: HttpUrl = Field(default="https://apigtwb2c.us.dell.com", description="API gateway base URL.")
    batch_size: int = Field(default=100, ge=1, le=100, description="Service tags per call (Dell allows 100).")
    dispatch: DellDispatchConfig | None = Field(
        default=None, description="Self-Dispatch settings; without them the case operations are not available"
    )


__all__ = ["DISPATCH_URL", "DellDispatchConfig", "DellTechDirectConfig", "ShipTo"]
