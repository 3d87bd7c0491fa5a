"""Cloudflare API v4 wire shapes and calls (all through VendorHttp).

Every answer is the envelope `success`, `errors[{code,message}]`, `messages`, `result`,
and for lists `result_info{page,per_page,count,total_count,total_pages}`. Lists are
paginated by `page` (from 1) and `per_page` (zones 5-50, DNS records 5 and up).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from hub.sdk import (
    AdapterContext,
    AuthenticationFailed,
    InvalidResponse,
    NotFound,
    Rejected,
    StaticToken,
    VendorHttp,
)
from hub.sdk.parsing import parse_model

from .config import CloudflareConfig

ZONES_PER_PAGE = 50  # the documented maximum for /zones (minimum 5)
RECORDS_PER_PAGE = 500  # /dns_records allows far more; 500 keeps answers small and calls few
MAX_PAGES = 10_000  # a vendor that never says "last page" must not loop forever

IDENTICAL_RECORD = 81058  # "An identical record already exists."
RECORD_MISSING = 81044  # "Record does not exist."
# Malformed or unusable credentials (answered with 400 or 403 rather than 401).
AUTH_CODES = frozenset({1000, 6003, 6100, 6101, 6102, 6103, 6111, 9103, 9106, 9109, 10000})


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ApiMessage(_Wire):
    code: int | None = None
    message: str = ""


class ResultInfo(_Wire):
    page: int = 1
    per_page: int | None = None
    count: int | None = None
    total_count: int | None = None
    total_pages: int | None = None


class Envelope(_Wire):
    success: bool
    errors: list[ApiMessage] = Field(default_factory=list)
    messages: list[ApiMessage | str] = Field(default_factory=list)
    result: Any = None
    result_info: ResultInfo | None = None

    def codes(self) -> set[int]:
        return {e.code for e in self.errors if e.code is not None}

    def message(self) -> str:
        if not self.errors:
            return "request failed"
        first = self.errors[0]
        return f"{first.message[:200]} (code {first.code})" if first.code is not None else first.message[:200]


class TokenStatus(_Wire):
    id: str
    status: str


class Account(_Wire):
    id: str
    name: str


class Zone(_Wire):
    id: str
    name: str
    status: str | None = None


class DnsRecord(_Wire):
    id: str
    zone_id: str | None = None
    zone_name: str | None = None
    type: str
    name: str
    content: str
    ttl: int = 1
    proxied: bool | None = None
    priority: int | None = None


class IdenticalRecordExists(Exception):
    """Internal: Cloudflare refused a create because the same record already exists."""


def describe_error(response: httpx.Response) -> str:
    try:
        envelope = Envelope.model_validate(response.json())
    except ValueError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    return envelope.message()


class CloudflareApi:
    def __init__(self, config: CloudflareConfig, ctx: AdapterContext) -> None:
        self.config = config
        self.http = VendorHttp(
            ctx,
            vendor="Cloudflare",
            base_url=config.api_url,
            auth=StaticToken(config.api_token),
            describe_error=describe_error,
            default_headers={"Accept": "application/json"},
        )

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        missing_ok: bool = False,
    ) -> Envelope | None:
        """One call; the envelope of a success. Cloudflare answers several failures with
        400 whose `errors[].code` says what happened, so 400 (and 404) are read here."""
        response = await self.http.request(
            method,
            path,
            params=params,
            json=json,
            idempotent=idempotent,
            accept_statuses=frozenset({400, 404}),
        )
        envelope = parse_model(Envelope, self.http.parse_json(response), what=f"Cloudflare {method} envelope")
        status = response.status_code
        info: dict[str, Any] = {"vendor_status": status, "request_id": response.headers.get("cf-ray")}
        if 200 <= status < 300 and envelope.success:
            return envelope
        codes = envelope.codes()
        if IDENTICAL_RECORD in codes:
            raise IdenticalRecordExists()
        if codes & AUTH_CODES:
            raise AuthenticationFailed(f"Cloudflare: {envelope.message()}", **info)
        if status == 404:
            if missing_ok and RECORD_MISSING in codes:
                return None
            raise NotFound(f"Cloudflare: {envelope.message()}", **info)
        if 200 <= status < 300:
            raise InvalidResponse("Cloudflare answered success=false with HTTP 2xx", **info)
        raise Rejected(f"Cloudflare: {envelope.message()}", **info)

    async def _one(self, method: str, path: str, **kwargs: Any) -> Envelope:
        envelope = await self.call(method, path, **kwargs)
        assert envelope is not None  # missing_ok is False
        return envelope

    async def pages(self, path: str, params: Mapping[str, Any], per_page: int) -> AsyncIterator[Any]:
        """Every item of a page-numbered list. Follows `total_pages` (the vendor may serve
        fewer per page than asked) and skips ids already seen (a list changing while it is
        read shifts items between pages)."""
        seen: set[str] = set()
        page = 1
        while page <= MAX_PAGES:
            envelope = await self._one("GET", path, params={**params, "page": page, "per_page": per_page})
            if not isinstance(envelope.result, list):
                raise InvalidResponse(f"Cloudflare {path}: result is not a list")
            for item in envelope.result:
                key = item.get("id") if isinstance(item, dict) else None
                if isinstance(key, str):
                    if key in seen:
                        continue
                    seen.add(key)
                yield item
            info = envelope.result_info
            if info is None or info.total_pages is None or page >= info.total_pages or not envelope.result:
                return
            page += 1
        raise InvalidResponse(f"Cloudflare {path}: more than {MAX_PAGES} pages")

    # -- calls ------------------------------------------------------------------------
    async def verify_token(self) -> TokenStatus:
        envelope = await self._one("GET", "/user/tokens/verify")
        return parse_model(TokenStatus, envelope.result, what="Cloudflare token status")

    async def account(self) -> Account | None:
        """The configured account, or None when this token may not see it."""
        response = await self.http.request(
            "GET", f"/accounts/{self.config.account_id}", accept_statuses=frozenset({403, 404})
        )
        if response.status_code in (403, 404):
            return None
        envelope = parse_model(Envelope, self.http.parse_json(response), what="Cloudflare account envelope")
        return parse_model(Account, envelope.result, what="Cloudflare account")

    async def zones(self) -> AsyncIterator[Zone]:
        params = {"account.id": self.config.account_id}
        async for item in self.pages("/zones", params, ZONES_PER_PAGE):
            yield parse_model(Zone, item, what="Cloudflare zone")

    async def zone(self, zone_id: str) -> Zone:
        envelope = await self._one("GET", f"/zones/{zone_id}")
        return parse_model(Zone, envelope.result, what="Cloudflare zone")

    async def records(self, zone_id: str, **filters: str) -> AsyncIterator[DnsRecord]:
        async for item in self.pages(f"/zones/{zone_id}/dns_records", filters, RECORDS_PER_PAGE):
            yield parse_model(DnsRecord, item, what="Cloudflare DNS record")

    async def create_record(self, zone_id: str, body: dict[str, Any]) -> DnsRecord:
        # Not idempotent: a lost answer raises OutcomeUnknown and the caller reconciles.
        envelope = await self._one("POST", f"/zones/{zone_id}/dns_records", json=body, idempotent=False)
        return parse_model(DnsRecord, envelope.result, what="Cloudflare DNS record")

    async def update_record(self, zone_id: str, record_id: str, body: dict[str, Any]) -> DnsRecord:
        # PATCH with every field sets the same state however often it is sent: safe to retry.
        envelope = await self._one(
            "PATCH", f"/zones/{zone_id}/dns_records/{record_id}", json=body, idempotent=True
        )
        return parse_model(DnsRecord, envelope.result, what="Cloudflare DNS record")

    async def delete_record(self, zone_id: str, record_id: str) -> None:
        await self.call(
            "DELETE", f"/zones/{zone_id}/dns_records/{record_id}", idempotent=True, missing_ok=True
        )
