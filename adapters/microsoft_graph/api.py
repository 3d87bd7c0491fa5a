"""Microsoft Graph wire shapes and calls for one customer tenant: organisation, subscribed
SKUs, directory subscriptions, domains and their DNS records; `@odata.nextLink` paging."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from adapters.microsoft_graph.config import GRAPH_SCOPE, MicrosoftGraphConfig
from hub.sdk import AdapterContext, ClientCredentials, InvalidResponse, VendorHttp
from hub.sdk.parsing import parse_model

VENDOR = "Microsoft Graph"
MAX_PAGES = 10_000
SKU_FIELDS = "id,skuId,skuPartNumber,appliesTo,capabilityStatus,consumedUnits,prepaidUnits,subscriptionIds"

W = TypeVar("W", bound=BaseModel)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class VerifiedDomain(_Wire):
    name: str
    isDefault: bool | None = None
    isInitial: bool | None = None


class Organization(_Wire):
    id: str = Field(min_length=1)
    displayName: str | None = None
    countryLetterCode: str | None = None
    verifiedDomains: list[VerifiedDomain] = []


class PrepaidUnits(_Wire):
    enabled: int | None = Field(default=None, ge=0)
    lockedOut: int | None = Field(default=None, ge=0)
    suspended: int | None = Field(default=None, ge=0)
    warning: int | None = Field(default=None, ge=0)


class SubscribedSku(_Wire):
    id: str = Field(min_length=1)
    skuId: str | None = None
    skuPartNumber: str = Field(min_length=1)
    appliesTo: str | None = None
    capabilityStatus: str | None = None
    consumedUnits: int | None = Field(default=None, ge=0)
    prepaidUnits: PrepaidUnits = PrepaidUnits()
    subscriptionIds: list[str] = []


class CompanySubscription(_Wire):
    id: str = Field(min_length=1)
    commerceSubscriptionId: str | None = None
    createdDateTime: str | None = None
    isTrial: bool | None = None
    nextLifecycleDateTime: str | None = None
    skuId: str | None = None
    skuPartNumber: str | None = None
    status: str = Field(min_length=1)
    totalLicenses: int | None = Field(default=None, ge=0)


class Domain(_Wire):
    id: str = Field(min_length=1)
    isDefault: bool = False
    isInitial: bool = False
    isVerified: bool = False
    supportedServices: list[str] = []


class DomainDnsRecord(_Wire):
    """One `domainDnsRecord` of any subtype (`@odata.type` says which)."""

    odata_type: str = Field(alias="@odata.type")
    id: str | None = None
    isOptional: bool = False
    label: str = Field(min_length=1)
    recordType: str | None = None
    supportedService: str | None = None
    ttl: int | None = None
    mailExchange: str | None = None
    preference: int | None = None
    text: str | None = None
    canonicalName: str | None = None
    nameTarget: str | None = None
    port: int | None = None
    priority: int | None = None
    protocol: str | None = None
    service: str | None = None
    weight: int | None = None


class Collection(_Wire):
    value: list[Any]
    next_link: str | None = Field(default=None, alias="@odata.nextLink")


def _error(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def describe_error(response: httpx.Response) -> str:
    """The OData error envelope `{"error": {code, message, innerError}}` as `code: message`."""
    error = _error(response)
    parts = [str(error[k])[:150] for k in ("code", "message") if isinstance(error.get(k), str) and error[k]]
    return ": ".join(parts) or response.reason_phrase or f"HTTP {response.status_code}"


def request_id(response: httpx.Response) -> str | None:
    inner = _error(response).get("innerError")
    value = inner.get("request-id") if isinstance(inner, dict) else None
    return value[:100] if isinstance(value, str) and value else None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


class GraphApi:
    def __init__(self, config: MicrosoftGraphConfig, ctx: AdapterContext) -> None:
        self.config = config
        self.auth = ClientCredentials(
            ctx,
            token_url=f"{config.authority_url}/{config.tenant_id}/oauth2/v2.0/token",
            client_id=config.client_id,
            client_secret=config.client_secret,
            scope=GRAPH_SCOPE,
            encoding="form",
        )
        self.http = VendorHttp(
            ctx,
            vendor=VENDOR,
            base_url=f"{config.graph_url}/v1.0",
            auth=self.auth,
            describe_error=describe_error,
            request_id=request_id,
            default_headers={"Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"GraphApi(tenant_id={self.config.tenant_id!r})"

    async def _pages(self, path: str, params: dict[str, str] | None = None) -> AsyncIterator[Any]:
        """Items of a collection, following `@odata.nextLink` verbatim (it already carries
        the query); the token is only ever sent back to the Graph host configured."""
        url, query = self.http.url(path), params
        seen: set[str] = set()
        while True:
            body = parse_model(Collection, await self.http.get_json(url, params=query), what=f"{path} page")
            for item in body.value:
                yield item
            if not body.next_link:
                return
            if _origin(body.next_link) != _origin(self.config.graph_url):
                raise InvalidResponse(f"{path}: @odata.nextLink points outside Microsoft Graph")
            if body.next_link in seen or len(seen) >= MAX_PAGES:
                raise InvalidResponse(f"{path}: @odata.nextLink loops back on itself")
            seen.add(body.next_link)
            url, query = body.next_link, None

    async def _each(
        self, model: type[W], path: str, params: dict[str, str] | None = None
    ) -> AsyncIterator[W]:
        async for item in self._pages(path, params):
            yield parse_model(model, item, what=f"{path} item")

    async def organization(self) -> Organization:
        orgs = [org async for org in self._each(Organization, "/organization")]
        if len(orgs) != 1:
            raise InvalidResponse(f"/organization returned {len(orgs)} organisations, expected one")
        return orgs[0]

    def subscribed_skus(self) -> AsyncIterator[SubscribedSku]:
        # Only $select is supported on this collection ($filter is refused with 400).
        return self._each(SubscribedSku, "/subscribedSkus", {"$select": SKU_FIELDS})

    def subscriptions(self) -> AsyncIterator[CompanySubscription]:
        return self._each(CompanySubscription, "/directory/subscriptions")

    def domains(self) -> AsyncIterator[Domain]:
        return self._each(Domain, "/domains")

    def service_records(self, domain_id: str) -> AsyncIterator[DomainDnsRecord]:
        return self._each(
            DomainDnsRecord, f"/domains/{quote(domain_id, safe='')}/serviceConfigurationRecords"
        )

    def verification_records(self, domain_id: str) -> AsyncIterator[DomainDnsRecord]:
        return self._each(DomainDnsRecord, f"/domains/{quote(domain_id, safe='')}/verificationDnsRecords")
