"""Connection settings of a FortiCloud IAM API user for FortiCare Asset Management."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr

HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$", max_length=300)]


class FortiCareConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str = Field(
        min_length=1,
        max_length=200,
        description="The IAM API user's API ID (from its credentials file). It names the account: the "
        "Asset Management API has no call that says whose account a token belongs to.",
    )
    password: SecretStr = Field(min_length=1, description="The IAM API user's password (write-only).")
    client_id: str = Field(
        default="assetmanagement",
        min_length=1,
        max_length=60,
        description="OAuth client id of the portal the token is for (Asset Management: assetmanagement).",
    )
    account_id: int | None = Field(
        default=None,
        ge=1,
        description="FortiCloud account id: optional for an API user with Local scope, required by "
        "FortiCare for one with Organization scope.",
    )
    token_url: HttpUrl = Field(
        default="https://customerapiauth.fortinet.com/api/v1/oauth/token/",
        description="FortiAuthenticator OAuth token endpoint (the trailing slash matters).",
    )
    api_url: HttpUrl = Field(
        default="https://support.fortinet.com/ES/api/registration/v3",
        description="Asset Management API v3 base URL.",
    )
    registration_description: str = Field(
        default="",
        max_length=200,
        description="Description sent with each contract registration (FortiCare shows it on the unit).",
    )


__all__ = ["FortiCareConfig"]
