"""Sophos Central wire shapes and calls: token, whoami, partner tenants (page-number
pagination), tenant licences (key-based pagination on the tenant's regional host)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from adapters.sophos_central.config import SophosCentralConfig
from hub.sdk import AdapterContext, ClientCredentials, InvalidResponse, VendorHttp
from hub.sdk.parsing import parse_model

VENDOR = "Sophos Central"
TENANT_PAGE_SIZE = 100  # the partner tenant list's documented maxSize
LICENSE_PAGE_SIZE = 100
MAX_PAGES = 100_000  # a vendor that never stops paging is a bug, not a reason to loop forever


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ApiHosts(_Wire):
    global_: str | None = Field(default=None, alias="global")
    dataRegion: str | None = None


class WhoAmI(_Wire):
    id: str = Field(min_length=1)
    idType: str
    apiHosts: ApiHosts = ApiHosts()


class PageNumberInfo(_Wire):
    current: int | None = None
    size: int | None = None
    total: int | None = None
    items: int | None = None
    maxSize: int | None = None


class Ref(_Wire):
    id: str | None = None


class Tenant(_Wire):
    id: str = Field(min_length=1)
    name: str
    showAs: str | None = None
    dataGeography: str | None = None
    dataRegion: str | None = None
    billingType: str | None = None
    apiHost: str = Field(min_length=1)
    status: str | None = None
    partner: Ref | None = None


class TenantPage(_Wire):
    items: list[Tenant]
    pages: PageNumberInfo = PageNumberInfo()


class Product(_Wire):
    code: str = Field(min_length=1)
    name: str | None = None


class UsageCount(_Wire):
    count: int | None = Field(default=None, ge=0)
    date: str | None = None


class Usage(_Wire):
    current: UsageCount | None = None


class License(_Wire):
    id: str = Field(min_length=1)
    licenseIdentifier: str | None = None
    product: Product
    startDate: str | None = None
    endDate: str | None = None
    perpetual: bool | None = None
    type: str | None = None
    quantity: int | None = Field(default=None, ge=0)
    usage: Usage | None = None


class KeyPageInfo(_Wire):
    fromKey: str | None = None
    nextKey: str | None = None
    size: int | None = None
    maxSize: int | None = None


class LicensePage(_Wire):
    licenses: list[License] | None = None
    items: list[License] | None = None  # the generic tenant-level list envelope
    pages: KeyPageInfo = KeyPageInfo()

    @property
    def entries(self) -> list[License]:
        return self.licenses if self.licenses is not None else (self.items or [])


def describe_error(response: httpx.Response) -> str:
    """Sophos error bodies: token endpoint `{errorCode, message, trackingId}`, API
    `{error, message, correlationId, requestId}`."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.reason_phrase or f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    code = body.get("errorCode") or body.get("error")
    message = body.get("message")
    parts = [str(p)[:150] for p in (code, message) if isinstance(p, str) and p.strip()]
    if len(parts) == 2 and parts[0] == parts[1]:
        parts = parts[:1]
    return ": ".join(parts) or f"HTTP {response.status_code}"


def request_id(response: httpx.Response) -> str | None:
    """Sophos puts its ids in the body; support asks for them."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if isinstance(body, dict):
        for key in ("requestId", "correlationId", "trackingId"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:100]
    return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


class SophosApi:
    def __init__(self, config: SophosCentralConfig, ctx: AdapterContext) -> None:
        self.config = config
        self.ctx = ctx
        self.auth = ClientCredentials(
            ctx,
            token_url=config.auth_url,
            client_id=config.client_id,
            client_secret=config.client_secret,
            scope="token",
            encoding="form",
            describe_error=describe_error,
        )
        self.http = VendorHttp(
            ctx,
            vendor=VENDOR,
            base_url=config.api_url,
            auth=self.auth,
            describe_error=describe_error,
            request_id=request_id,
            default_headers={"Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"SophosApi(api_url={self.config.api_url!r})"

    async def whoami(self) -> WhoAmI:
        return parse_model(WhoAmI, await self.http.get_json("/whoami/v1"), what="whoami response")

    def _partner_headers(self, partner_id: str) -> dict[str, str]:
        return {"X-Partner-ID": partner_id}

    async def tenants(self, partner_id: str) -> AsyncIterator[Tenant]:
        """Every tenant: `pageTotal=true` on the first page says how many pages follow."""
        page, total = 1, None
        while total is None or page <= total:
            params: dict[str, Any] = {"page": page, "pageSize": TENANT_PAGE_SIZE}
            if page == 1:
                params["pageTotal"] = "true"
            data = await self.http.get_json(
                "/partner/v1/tenants", params=params, headers=self._partner_headers(partner_id)
            )
            body = parse_model(TenantPage, data, what="tenant page")
            if page == 1:
                total = body.pages.total
            if (total or page) > MAX_PAGES:
                raise InvalidResponse("the tenant list does not end")
            for tenant in body.items:
                yield tenant
            # Without a total (pageTotal not honoured) a short page is the last one: never
            # stop after page 1 and silently drop the other tenants.
            if not body.items or (total is None and len(body.items) < (body.pages.size or TENANT_PAGE_SIZE)):
                break
            page += 1

    async def tenant(self, partner_id: str, tenant_id: str) -> Tenant:
        data = await self.http.get_json(
            f"/partner/v1/tenants/{tenant_id}", headers=self._partner_headers(partner_id)
        )
        return parse_model(Tenant, data, what="tenant")

    def regional_url(self, tenant: Tenant, path: str) -> str:
        """`path` on the tenant's regional host. The bearer token goes there, so the host
        must be the configured API's own origin or a Sophos Central regional host."""
        api_host = tenant.apiHost.rstrip("/")
        scheme, host, _port = _origin(api_host)
        own = _origin(self.config.api_url)
        sophos = scheme == "https" and host.endswith(".central.sophos.com")
        if _origin(api_host) != own and not sophos:
            raise InvalidResponse(f"tenant {tenant.id} names an apiHost outside Sophos Central")
        return f"{api_host}/{path.lstrip('/')}"

    async def licenses(self, tenant: Tenant) -> AsyncIterator[License]:
        """A tenant's licences from its regional host; key-based pages (`pageFromKey`)."""
        url = self.regional_url(tenant, "/licenses/v1/licenses")
        next_key: str | None = None
        seen_keys: set[str] = set()
        while True:
            params: dict[str, Any] = {"pageSize": LICENSE_PAGE_SIZE}
            if next_key:
                params["pageFromKey"] = next_key
            data = await self.http.get_json(url, params=params, headers={"X-Tenant-ID": tenant.id})
            body = parse_model(LicensePage, data, what="licence page")
            for item in body.entries:
                yield item
            next_key = body.pages.nextKey
            if not next_key or not body.entries:
                return
            if next_key in seen_keys or len(seen_keys) > MAX_PAGES:
                raise InvalidResponse("licence pages loop back on themselves")
            seen_keys.add(next_key)
