"""Connection configuration: a Cloudflare API token scoped to one account."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

DEFAULT_API_URL = "https://api.cloudflare.com/client/v4"


class CloudflareConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    api_token: Annotated[
        SecretStr,
        Field(min_length=20, description="API token (Zone:Read, DNS:Edit on the account's zones)"),
    ]
    account_id: Annotated[
        str,
        Field(
            pattern=r"^[0-9a-f]{32}$",
            description="Cloudflare account id (32 hex digits); only this account's zones are read",
        ),
    ]
    api_url: str = Field(default=DEFAULT_API_URL, description="API base URL (tests: the simulator)")

    @field_validator("account_id", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")) or "?" in value or "#" in value:
            raise ValueError("must be an http(s) URL without query or fragment")
        return value
