"""Connection settings of a Gandi organisation reached with a Personal Access Token."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$", max_length=300)]


class GandiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token: SecretStr = Field(
        min_length=1,
        description="Personal Access Token (Gandi Admin, Account settings; scoped to one organisation, "
        "with domain read and renew permissions). PATs expire: renew them before they do.",
    )
    auth_scheme: Literal["bearer", "apikey"] = Field(
        default="bearer",
        description="bearer for a Personal Access Token; apikey for a legacy API key (deprecated by Gandi).",
    )
    sharing_id: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9-]+$",
        description="The organisation's id (sharing_id): it names the account, scopes every list, and "
        "pays for renewals from its prepaid account.",
    )
    api_url: HttpUrl = Field(
        default="https://api.gandi.net/v5",
        description="API base (the sandbox is https://api.sandbox.gandi.net/v5).",
    )
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$", description="Currency asked of price quotes.")
    renewal_settle_seconds: int = Field(
        default=900,
        ge=0,
        le=86400,
        description="How long after a renewal is sent Gandi may show neither a pending renewal nor the new "
        "expiry. find_order() proves no renewal happened only after this (AbsenceUnproven before).",
    )
    page_size: int = Field(default=100, ge=1, le=100, description="Domains per page of the domain list.")


__all__ = ["GandiConfig"]
