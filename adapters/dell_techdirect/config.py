"""Connection settings of a Dell TechDirect API client."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$", max_length=300)]


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


__all__ = ["DellTechDirectConfig"]
