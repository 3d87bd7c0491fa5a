"""FortiCare Asset Management API v3: wire shapes and calls (all through VendorHttp).

Every call is a POST with a JSON body, reads included (they are retried like reads: they
change nothing). Every answer is an envelope `{build, version, status, message, error,
token, ...}`: `status` 0 is success, -1/-2 and others are refusals with `error{errorCode,
message}`; FortiCare sends most refusals with HTTP 400, but the body's `status` is checked
on a 200 too. Unknown fields are ignored.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from hub.sdk.context import AdapterContext
from hub.sdk.errors import InvalidResponse, Rejected
from hub.sdk.http import VendorHttp
from hub.sdk.parsing import parse_model

from .auth import PasswordGrant
from .config import FortiCareConfig

VENDOR = "FortiCare"
MAX_PAGES = 1000  # a vendor that never stops paging is a bug, not a reason to loop forever


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class ApiError(Wire):
    errorCode: int | None = None
    message: str | None = None


class Entitlement(Wire):
    level: int | None = None
    levelDesc: str | None = None
    type: int | None = None
    typeDesc: str | None = None
    startDate: str | None = None
    endDate: str | None = None


class ContractTerm(Wire):
    supportType: str | None = None
    startDate: str | None = None
    endDate: str | None = None


class Contract(Wire):
    contractNumber: str | None = None
    sku: str | None = None
    terms: list[ContractTerm] | None = None


class Asset(Wire):
    serialNumber: str = Field(min_length=1)
    productModel: str | None = None
    description: str | None = None
    registrationDate: str | None = None
    status: str | None = None
    isDecommissioned: bool | None = None
    entitlements: list[Entitlement] | None = None
    contracts: list[Contract] | None = None
    message: str | None = None


class Envelope(Wire):
    status: int | None = None
    message: str | None = None
    error: ApiError | str | None = None

    @property
    def reason(self) -> str:
        """The vendor's own words for a refusal: the error's message and the envelope's
        message when they differ (FortiCare may put only "Failed" in one of them)."""
        texts: list[str] = []
        if isinstance(self.error, ApiError) and self.error.message:
            texts.append(self.error.message.strip())
        elif isinstance(self.error, str) and self.error.strip():
            texts.append(self.error.strip())
        if self.message and self.message.strip() and self.message.strip() not in texts:
            texts.append(self.message.strip())
        return "; ".join(texts)[:300] or "refused"

    @property
    def code(self) -> int | None:
        return self.error.errorCode if isinstance(self.error, ApiError) else None


class ProductPage(Envelope):
    assets: list[Asset] | None = None  # null is FortiCare's "nothing found"
    pageNumber: int | None = None
    totalPages: int | None = None


class AssetDetails(Envelope):
    assetDetails: Asset | None = None


def describe_error(response: httpx.Response) -> str:
    """FortiCare and FortiCloud error bodies: the envelope's `error.message` (the specific
    reason; `message` is often only "Invalid incoming request."), a unit's `message` in
    `assets[]`, or the token endpoint's `error_description`, `error_message`, `oauth{}`."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.reason_phrase or f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    candidates: list[Any] = []
    error = body.get("error")
    if isinstance(error, dict) and isinstance(body.get("message"), str):
        try:
            return Envelope.model_validate(body).reason
        except ValueError:
            pass
    if isinstance(error, dict):
        candidates.append(error.get("message"))
    assets = body.get("assets")
    if isinstance(assets, list):
        candidates += [a.get("message") for a in assets if isinstance(a, dict)]
    oauth = body.get("oauth")
    if isinstance(oauth, dict):
        candidates += [" / ".join(str(v) for v in oauth.values() if isinstance(v, str))]
    candidates += [body.get("error_description"), body.get("error_message"), body.get("message")]
    if isinstance(error, str):
        candidates.append(error)
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()[:300]
    return response.reason_phrase or f"HTTP {response.status_code}"


class FortiCareApi:
    def __init__(self, config: FortiCareConfig, ctx: AdapterContext) -> None:
        self.config = config
        self.auth = PasswordGrant(config, ctx, describe_error)
        self.http = VendorHttp(
            ctx,
            vendor=VENDOR,
            base_url=config.api_url,
            auth=self.auth,
            describe_error=describe_error,
            default_headers={"Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"FortiCareApi(api_url={self.config.api_url!r})"

    def _body(self, **fields: Any) -> dict[str, Any]:
        body = {key: value for key, value in fields.items() if value is not None}
        if self.config.account_id is not None:
            body["accountId"] = self.config.account_id
        return body

    async def _read(self, path: str, body: dict[str, Any]) -> Any:
        # A read: changes nothing, so the common retry policy applies as for a GET.
        response = await self.http.request("POST", path, json=body, idempotent=True)
        return self.http.parse_json(response)

    async def products(self, serial_pattern: str = "%") -> AsyncIterator[Asset]:
        """Every registered unit with entitlements whose serial matches (SQL LIKE: `%` any,
        `_` one character). FortiCare pages with `pageNumber`/`totalPages`; a page that
        repeats one already read ends the walk with InvalidResponse rather than a loop."""
        page, seen = 1, set()
        while True:
            data = await self._read(
                "/products/list", self._body(serialNumber=serial_pattern, pageNumber=page)
            )
            parsed = parse_model(ProductPage, data, what=f"{VENDOR} products/list")
            if parsed.status not in (0, None):
                raise Rejected(f"{VENDOR}: {parsed.reason}", vendor_status=200)
            assets = parsed.assets or []
            serials = tuple(a.serialNumber for a in assets)
            if assets and serials in seen:
                raise InvalidResponse(f"{VENDOR} products/list answered page {page} twice")
            seen.add(serials)
            for asset in assets:
                yield asset
            total = parsed.totalPages or 1
            if not assets or page >= total or page >= MAX_PAGES:
                return
            page += 1

    async def product(self, serial: str) -> Asset | None:
        """One unit by exact serial from products/list (None when FortiCare lists none:
        unknown, or registered without any entitlement)."""
        async for asset in self.products(serial.replace("%", "").replace("_", "")):
            if asset.serialNumber.upper() == serial.upper():
                return asset
        return None

    async def details(self, serial: str) -> tuple[int, dict[str, Any]]:
        """`products/details`: the unit with its contracts, and the HTTP status (a 400
        names a serial FortiCare does not know in this account)."""
        response = await self.http.request(
            "POST",
            "/products/details",
            json=self._body(serialNumber=serial),
            idempotent=True,
            accept_statuses=frozenset({400}),
        )
        data = self.http.parse_json(response)
        if not isinstance(data, dict):
            raise InvalidResponse(f"{VENDOR} products/details answered with something not an object")
        return response.status_code, data

    async def register_licence(self, serial: str, code: str, description: str) -> tuple[int, dict[str, Any]]:
        """`licenses/register` with the unit's serial: the code is registered under it.

        Sent as idempotent (retried after a lost answer): a code registers once at FortiCare,
        so a repeat cannot register twice; it is answered "already registered", which the
        adapter resolves by reading the unit. HTTP 400 answers are returned, not raised, so
        that the adapter reads FortiCare's reason."""
        body = self._body(
            licenseRegistrationCode=code, serialNumber=serial, description=description, isGovernment=False
        )
        response = await self.http.request(
            "POST", "/licenses/register", json=body, idempotent=True, accept_statuses=frozenset({400})
        )
        data = self.http.parse_json(response)
        if not isinstance(data, dict):
            raise InvalidResponse(f"{VENDOR} licenses/register answered with something not an object")
        return response.status_code, data


__all__ = [
    "Asset",
    "AssetDetails",
    "Contract",
    "Entitlement",
    "Envelope",
    "FortiCareApi",
    "ProductPage",
    "describe_error",
]
