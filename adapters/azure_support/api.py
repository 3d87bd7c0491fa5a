"""Azure Support REST API (Microsoft.Support, api-version 2024-04-01) wire shapes and calls,
through Azure Resource Manager with a `https://management.azure.com/.default` token.

Tickets and communications are created with PUT on a name we choose; creation may be a
long-running operation (202 with `Azure-AsyncOperation`). Lists page with `nextLink`
(an absolute URL, followed only back to the configured ARM origin: the token goes there).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from hub.sdk.context import AdapterContext
from hub.sdk.errors import InvalidResponse, Rejected
from hub.sdk.http import VendorHttp
from hub.sdk.oauth import ClientCredentials
from hub.sdk.parsing import parse_model

from .config import API_VERSION, MANAGEMENT_SCOPE, AzureSupportConfig

VENDOR = "Azure support"
SUBSCRIPTIONS_API_VERSION = "2022-12-01"
COMMUNICATIONS_PAGE = 10  # the API's maximum $top for communications
MAX_PAGES = 1_000
UPLOAD_CHUNK = 1024 * 1024  # bytes per upload call (not documented: a conservative guess)


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class ServiceLevelAgreement(Wire):
    startTime: str | None = None
    expirationTime: str | None = None
    slaMinutes: int | None = None


class SupportEngineer(Wire):
    emailAddress: str | None = None


class TicketProperties(Wire):
    supportTicketId: str | None = None
    title: str | None = None
    description: str | None = None
    problemClassificationId: str | None = None
    problemClassificationDisplayName: str | None = None
    severity: str | None = None
    status: str | None = None
    createdDate: str | None = None
    modifiedDate: str | None = None
    serviceId: str | None = None
    serviceDisplayName: str | None = None
    serviceLevelAgreement: ServiceLevelAgreement | None = None
    supportEngineer: SupportEngineer | None = None
    supportPlanDisplayName: str | None = None
    fileWorkspaceName: str | None = None


class Ticket(Wire):
    id: str | None = None
    name: str = Field(min_length=1)
    properties: TicketProperties = TicketProperties()


class CommunicationProperties(Wire):
    communicationType: str | None = None
    communicationDirection: str | None = None
    sender: str | None = None
    subject: str | None = None
    body: str | None = None
    createdDate: str | None = None


class Communication(Wire):
    id: str | None = None
    name: str = Field(min_length=1)
    properties: CommunicationProperties = CommunicationProperties()


class Page(Wire):
    value: list[Any]
    nextLink: str | None = None


class OperationError(Wire):
    code: str | None = None
    message: str | None = None


class AsyncOperation(Wire):
    status: str = Field(min_length=1)
    error: OperationError | None = None


class Subscription(Wire):
    subscriptionId: str = Field(min_length=1)
    displayName: str | None = None
    state: str | None = None
    tenantId: str | None = None


def describe_error(response: httpx.Response) -> str:
    """ARM's envelope `{"error": {"code", "message", "details"}}` as `code: message`; also
    the shapes gateways answer with (`{"code", "message"}`, `{"Message"}`, HTML)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.reason_phrase or f"HTTP {response.status_code}"
    error = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(error, str):
        return error[:300]
    if isinstance(error, dict):
        code = error.get("code") or error.get("Code")
        message = error.get("message") or error.get("Message")
        parts = [str(p)[:200] for p in (code, message) if isinstance(p, str) and p]
        if parts:
            return ": ".join(parts)
    return response.reason_phrase or f"HTTP {response.status_code}"


class _WithAuxiliary:
    """Bearer token of the customer's tenant plus, for a CSP partner acting on behalf of
    the customer, the partner tenant's token in `x-ms-authorization-auxiliary`."""

    def __init__(self, primary: ClientCredentials, auxiliary: ClientCredentials | None) -> None:
        self.primary = primary
        self.auxiliary = auxiliary

    async def headers(self) -> dict[str, str]:
        headers = await self.primary.headers()
        if self.auxiliary is not None:
            aux = await self.auxiliary.headers()
            headers["x-ms-authorization-auxiliary"] = aux["Authorization"]
        return headers

    async def refresh(self) -> bool:
        if self.auxiliary is not None:
            await self.auxiliary.refresh()
        return await self.primary.refresh()


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


class AzureSupportApi:
    def __init__(self, config: AzureSupportConfig, ctx: AdapterContext) -> None:
        self.config = config

        def credentials(tenant: str) -> ClientCredentials:
            return ClientCredentials(
                ctx,
                token_url=f"{config.authority_url}/{tenant}/oauth2/v2.0/token",
                client_id=config.client_id,
                client_secret=config.client_secret,
                scope=MANAGEMENT_SCOPE,
            )

        partner = credentials(config.partner_tenant_id) if config.partner_tenant_id else None
        self.http = VendorHttp(
            ctx,
            vendor=VENDOR,
            base_url=config.management_url,
            auth=_WithAuxiliary(credentials(config.tenant_id), partner),
            describe_error=describe_error,
            default_headers={"Accept": "application/json"},
        )
        self.root = f"/subscriptions/{config.subscription_id}/providers/Microsoft.Support"

    def __repr__(self) -> str:
        return f"AzureSupportApi(subscription_id={self.config.subscription_id!r})"

    @staticmethod
    def _q(name: str) -> str:
        return quote(name, safe="")

    def ticket_path(self, name: str) -> str:
        return f"{self.root}/supportTickets/{self._q(name)}"

    def same_origin(self, url: str) -> bool:
        return _origin(url) == _origin(self.config.management_url)

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        params = {"api-version": API_VERSION, **kw.pop("params", {})}
        return VendorHttp.parse_json(await self.http.request(method, path, params=params, **kw))

    # -- reads
    async def subscription(self) -> Subscription:
        data = await self.http.get_json(
            f"/subscriptions/{self.config.subscription_id}", params={"api-version": SUBSCRIPTIONS_API_VERSION}
        )
        return parse_model(Subscription, data, what="subscription")

    async def first_ticket_page(self) -> list[Ticket]:
        data = await self._json("GET", f"{self.root}/supportTickets", params={"$top": "1"})
        page = parse_model(Page, data, what="support ticket list")
        return [parse_model(Ticket, item, what="support ticket") for item in page.value]

    async def ticket(self, name: str) -> Ticket:
        return parse_model(Ticket, await self._json("GET", self.ticket_path(name)), what="support ticket")

    async def operation(self, url: str) -> AsyncOperation:
        data = VendorHttp.parse_json(await self.http.request("GET", url))
        return parse_model(AsyncOperation, data, what="operation status")

    async def communications(self, ticket: str, filter_: str | None = None) -> AsyncIterator[Communication]:
        params = {"api-version": API_VERSION, "$top": str(COMMUNICATIONS_PAGE)}
        if filter_:
            params["$filter"] = filter_
        url = self.http.url(f"{self.ticket_path(ticket)}/communications")
        query: dict[str, str] | None = params
        seen: set[str] = set()
        while True:
            page = parse_model(Page, await self.http.get_json(url, params=query), what="communication list")
            for item in page.value:
                yield parse_model(Communication, item, what="communication")
            if not page.nextLink:
                return
            if not self.same_origin(page.nextLink):
                raise InvalidResponse("communications: nextLink points outside Azure Resource Manager")
            if page.nextLink in seen or len(seen) >= MAX_PAGES:
                raise InvalidResponse("communications: nextLink loops back on itself")
            seen.add(page.nextLink)
            url, query = page.nextLink, None

    async def communication(self, ticket: str, name: str) -> Communication:
        path = f"{self.ticket_path(ticket)}/communications/{self._q(name)}"
        return parse_model(Communication, await self._json("GET", path), what="communication")

    # -- writes
    async def create_ticket(self, name: str, body: dict[str, Any]) -> httpx.Response:
        """PUT a new ticket: not idempotent for the retry policy (a lost answer is an
        `OutcomeUnknown`); 409 (the name is taken) is returned to the caller."""
        return await self.http.request(
            "PUT",
            self.ticket_path(name),
            params={"api-version": API_VERSION},
            json=body,
            idempotent=False,
            accept_statuses=frozenset({409}),
        )

    async def update_ticket(self, name: str, body: dict[str, Any]) -> Ticket:
        # Setting a status or a severity to a value is idempotent: safe to retry.
        data = await self._json("PATCH", self.ticket_path(name), json=body, idempotent=True)
        return parse_model(Ticket, data, what="support ticket")

    async def create_communication(self, ticket: str, name: str, body: dict[str, Any]) -> httpx.Response:
        return await self.http.request(
            "PUT",
            f"{self.ticket_path(ticket)}/communications/{self._q(name)}",
            params={"api-version": API_VERSION},
            json=body,
            idempotent=False,
            accept_statuses=frozenset({409}),
        )

    async def create_file_workspace(self, name: str) -> None:
        # A workspace holds no data until files are uploaded; creating it again is harmless.
        await self.http.request(
            "PUT",
            f"{self.root}/fileWorkspaces/{self._q(name)}",
            params={"api-version": API_VERSION},
            json={},
            idempotent=True,
            accept_statuses=frozenset({409}),
        )

    async def upload_file(self, workspace: str, filename: str, content: bytes, *, ours: bool = False) -> None:
        """Declare the file (size and chunks), then upload each chunk base64-encoded. A
        retried upload rewrites the same chunks, so both steps count as idempotent. A name
        already declared is refused, unless `ours` (a new ticket's own workspace, where it
        can only come from our earlier attempt at the same ticket: its chunks are rewritten)."""
        chunks = [content[i : i + UPLOAD_CHUNK] for i in range(0, len(content), UPLOAD_CHUNK)] or [b""]
        path = f"{self.root}/fileWorkspaces/{self._q(workspace)}/files/{self._q(filename)}"
        declared = {
            "properties": {"chunkSize": UPLOAD_CHUNK, "fileSize": len(content), "numberOfChunks": len(chunks)}
        }
        response = await self.http.request(
            "PUT",
            path,
            params={"api-version": API_VERSION},
            json=declared,
            idempotent=True,
            accept_statuses=frozenset({409}),
        )
        if response.status_code == 409 and not ours:
            raise Rejected(
                f"{VENDOR}: a file named {filename!r} is already on this ticket", vendor_status=409
            )
        for index, chunk in enumerate(chunks):
            await self.http.request(
                "POST",
                f"{path}/upload",
                params={"api-version": API_VERSION},
                json={"chunkIndex": index, "content": base64.b64encode(chunk).decode("ascii")},
                idempotent=True,
            )


__all__ = [
    "VENDOR",
    "AsyncOperation",
    "AzureSupportApi",
    "Communication",
    "Subscription",
    "Ticket",
    "describe_error",
]
