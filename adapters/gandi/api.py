"""Gandi API v5 (domains, organisations): wire shapes and calls, all through VendorHttp.

Errors come in two shapes: validation `{"status": "error", "errors": [{"location", "name",
"description"}]}` (400) and the generic `{"code", "message", "object", "cause"}` (401, 403,
404, 409...). POST, PUT and PATCH bodies must be JSON. The `Dry-Run: 1` header makes a
POST check its parameters without acting. Unknown fields are ignored.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from hub.sdk.context import AdapterContext
from hub.sdk.errors import InvalidResponse
from hub.sdk.http import VendorHttp
from hub.sdk.oauth import StaticToken
from hub.sdk.parsing import parse_model

from .config import GandiConfig

VENDOR = "Gandi"
MAX_PAGES = 10_000


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Dates(Wire):
    created_at: str | None = None
    registry_created_at: str | None = None
    registry_ends_at: str | None = None
    updated_at: str | None = None


class AutoRenew(Wire):
    enabled: bool | None = None
    duration: int | None = None


class SharingSpace(Wire):
    id: str | None = None
    name: str | None = None


class Domain(Wire):
    fqdn: str = Field(min_length=1)
    tld: str | None = None
    status: list[str] = Field(default_factory=list)
    dates: Dates = Dates()
    # The list says `autorenew: false`; a domain's details give an object.
    autorenew: AutoRenew | bool | None = None
    sharing_space: SharingSpace | None = None

    @property
    def auto_renew(self) -> bool | None:
        if isinstance(self.autorenew, AutoRenew):
            return self.autorenew.enabled
        return self.autorenew


class RenewInfo(Wire):
    begins_at: str | None = None
    durations: list[int] = Field(default_factory=list)
    minimum: int | None = None
    maximum: int | None = None
    prohibited: bool | None = None


class RenewAnswer(Wire):
    renew: RenewInfo


class Price(Wire):
    duration_unit: str | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    price_before_taxes: Decimal | None = None
    price_after_taxes: Decimal | None = None


class CheckProduct(Wire):
    name: str | None = None
    process: str | None = None
    status: str | None = None
    prices: list[Price] = Field(default_factory=list)


class Check(Wire):
    currency: str | None = None
    products: list[CheckProduct] = Field(default_factory=list)


class Organization(Wire):
    id: str = Field(min_length=1)
    name: str | None = None


def describe_error(response: httpx.Response) -> str:
    """Gandi's words: each validation error as `name: description`, else `message`/`cause`."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            parts = [
                f"{e.get('name') or e.get('location') or 'request'}: {e.get('description') or 'invalid'}"
                for e in errors[:3]
                if isinstance(e, dict)
            ]
            if parts:
                return "; ".join(parts)[:300]
        for key in ("message", "cause"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:300]
    return response.reason_phrase or f"HTTP {response.status_code}"


class GandiApi:
    def __init__(self, config: GandiConfig, ctx: AdapterContext) -> None:
        self.config = config
        scheme = "Bearer" if config.auth_scheme == "bearer" else "Apikey"
        self.http = VendorHttp(
            ctx,
            vendor=VENDOR,
            base_url=config.api_url,
            auth=StaticToken(config.token, scheme=scheme),
            describe_error=describe_error,
            default_headers={"Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"GandiApi(api_url={self.config.api_url!r})"

    def _scope(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {**(params or {}), "sharing_id": self.config.sharing_id}

    async def organizations(self) -> list[Organization]:
        data = await self.http.get_json("/organization/organizations")
        if not isinstance(data, list):
            raise InvalidResponse(f"{VENDOR} organizations: expected a list")
        return [parse_model(Organization, item, what=f"{VENDOR} organization") for item in data]

    async def domains(self) -> AsyncIterator[Domain]:
        """Every domain of the organisation: 1-based pages of `per_page`, until the count in
        Gandi's `Total-Count` header is reached or a page comes back empty (a short page is
        not taken as the last: a server may serve fewer than asked)."""
        size, page, seen = self.config.page_size, 1, set()
        while page <= MAX_PAGES:
            response = await self.http.request(
                "GET", "/domain/domains", params=self._scope({"per_page": size, "page": page})
            )
            data = self.http.parse_json(response)
            if not isinstance(data, list):
                raise InvalidResponse(f"{VENDOR} domain list: expected a list")
            if not data:
                return
            for item in data:
                domain = parse_model(Domain, item, what=f"{VENDOR} domain")
                if domain.fqdn in seen:
                    continue  # pages shifted under us: once is enough
                seen.add(domain.fqdn)
                yield domain
            total = response.headers.get("total-count", "")
            if total.isdigit() and len(seen) >= int(total):
                return
            page += 1
        raise InvalidResponse(f"{VENDOR} domain list does not end")

    async def domain(self, fqdn: str) -> Domain:
        return parse_model(
            Domain, await self.http.get_json(f"/domain/domains/{fqdn}"), what=f"{VENDOR} domain"
        )

    async def renew_info(self, fqdn: str) -> RenewInfo:
        data = await self.http.get_json(f"/domain/domains/{fqdn}/renew")
        return parse_model(RenewAnswer, data, what=f"{VENDOR} renew information").renew

    async def renew_price(self, fqdn: str, years: int) -> Check:
        params = {"name": fqdn, "processes": "renew", "period": years, "currency": self.config.currency}
        return parse_model(
            Check, await self.http.get_json("/domain/check", params=self._scope(params)), what="check"
        )

    async def renew(self, fqdn: str, years: int, *, dry_run: bool) -> httpx.Response:
        """`POST /domain/domains/{fqdn}/renew {"duration": years}`, billed to the
        organisation (`sharing_id`). A dry run only checks (so it may be retried); a real
        renewal is never retried once it may have reached Gandi: OutcomeUnknown instead."""
        return await self.http.request(
            "POST",
            f"/domain/domains/{fqdn}/renew",
            params={"sharing_id": self.config.sharing_id},
            json={"duration": years},
            headers={"Dry-Run": "1" if dry_run else "0"},
            idempotent=dry_run,
        )


__all__ = [
    "Check",
    "CheckProduct",
    "Domain",
    "GandiApi",
    "Organization",
    "Price",
    "RenewInfo",
    "describe_error",
]
