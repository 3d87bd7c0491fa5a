"""Connection settings of a Pax8 partner account."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr

HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$", max_length=300)]


class Pax8Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = Field(
        min_length=1,
        max_length=200,
        description="API client id from the Pax8 partner portal (Integrations). It names the account: "
        "the Partner API has no endpoint that returns the partner's own identity, and the token "
        "endpoint is what confirms the client id.",
    )
    client_secret: SecretStr = Field(min_length=1, description="API client secret (write-only).")
    order_email: str = Field(
        pattern=r"^[A-Za-z0-9._%+-]{1,40}@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
        description="Mailbox Pax8 records as `orderedByUserEmail` on our orders. The adapter plus-addresses "
        "it with the hub's order reference (renewals+<ref>@...) so that an order whose answer was lost "
        "can be found again: the Pax8 order has no other free-text reference field.",
    )
    reference_in_email: bool = Field(
        default=True,
        description="Turn off if Pax8 refuses plus-addressed emails for this account; orders are then "
        "found again by company, product, quantity and date only.",
    )
    token_url: HttpUrl = Field(
        default="https://api.pax8.com/v1/token",
        description="OAuth2 token endpoint (the spec also names https://token-manager.pax8.com/oauth/token).",
    )
    api_url: HttpUrl = Field(default="https://api.pax8.com/v1", description="Partner API base URL.")
    audience: str = Field(default="https://api.pax8.com", min_length=1, max_length=200)
    page_size: int = Field(
        default=200, ge=1, le=200, description="Page size asked of list endpoints (max 200)."
    )
    default_currency: str = Field(
        default="USD",
        pattern=r"^[A-Z]{3}$",
        description="Currency of prices when a subscription does not state its currencyCode.",
    )
    order_visibility_lag_seconds: int = Field(
        default=600,
        ge=0,
        le=86400,
        description="How long after an order is sent GET /orders may still not list it. Pax8 documents "
        "no consistency guarantee, so find_order() proves no order exists only once this much time has "
        "passed since the send (it raises AbsenceUnproven before). Raise it if orders appear late.",
    )
    clock_skew_seconds: int = Field(
        default=300,
        ge=0,
        le=3600,
        description="Allowance between our clock and Pax8's when an order is matched by its creation time "
        "(createdDate is a date in Pax8's examples, so matching is by day, less this allowance).",
    )


__all__ = ["Pax8Config"]
