"""A stateful Sophos Central Partner API simulator.

Follows the real API's shapes (vendor-apis.md §2.1): form-encoded token request with
`scope=token`, Sophos token and API error bodies, `whoami`, the partner tenant list with
page-number pagination (`pageTotal=true`, `pages{current,size,total,items,maxSize}`),
per-tenant `apiHost` URLs pointing back at this simulator (`/region/<dataRegion>`), tenant
calls with `X-Tenant-ID` and key-based pages (`pageFromKey`, `pages.nextKey`), 403 for a
tenant on the wrong region or a term customer without Partner Assistance.

`scale=N` replaces the fixtures with N generated tenants (deterministic, for benchmarks).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from hub.sdk.capabilities import Capability
from hub.sdk.testing import Clock, FaultPlan, Simulator, TokenIssuer

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN_PATH = "/api/v2/oauth2/token"
TENANT_MAX_PAGE = 100
LICENSE_MAX_PAGE = 100
REGIONS = ("eu01", "eu02", "us01", "us03", "au01", "ca01")
PRODUCTS = (
    ("CIXA", "Central Intercept X Advanced"),
    ("SVRCIXA", "Central Intercept X Advanced for Server"),
    ("CEMLADV", "Central Email Advanced"),
    ("MDRCOMP", "Managed Detection and Response Complete"),
)
_NS = uuid.UUID("6f1d8a52-9c3e-4b7a-8e21-5d4c3b2a1f00")


def _new_id() -> str:
    return str(uuid.uuid4())


def _generated_tenants(count: int) -> list[dict[str, Any]]:
    """`count` tenants, 1-3 licences each, the same for the same count."""
    tenants = []
    for i in range(count):
        tenant_id = str(uuid.uuid5(_NS, f"tenant-{i}"))
        licenses = []
        for j in range(1 + i % 3):
            code, name = PRODUCTS[(i + j) % len(PRODUCTS)]
            start = date(2025, 1, 1) + timedelta(days=(i * 7 + j) % 365)
            quantity = 5 + (i * 13 + j) % 200
            licenses.append(
                {
                    "id": str(uuid.uuid5(_NS, f"licence-{i}-{j}")),
                    "licenseIdentifier": f"{code}-{i:05d}-{j}",
                    "product": {"code": code, "name": name},
                    "startDate": start.isoformat(),
                    "endDate": (start + timedelta(days=364)).isoformat(),
                    "perpetual": False,
                    "type": "usage",
                    "quantity": quantity,
                    "usage": {"current": {"count": quantity - (i % 4), "date": "2025-11-30"}},
                }
            )
        tenants.append(
            {
                "id": tenant_id,
                "name": f"Customer {i:05d} Ltd",
                "showAs": f"Customer {i:05d}",
                "dataGeography": "GB",
                "dataRegion": REGIONS[i % len(REGIONS)],
                "billingType": ("usage", "term", "trial")[i % 3],
                "status": "active",
                "partnerAssistance": True,
                "licenses": licenses,
            }
        )
    return tenants


class SophosCentralSimulator(Simulator):
    slug = "sophos_central"
    data_paths: ClassVar[str] = r"^/(whoami|partner|region)/"

    def __init__(
        self,
        *,
        faults: FaultPlan | None = None,
        page_size: int | None = None,
        clock: Clock | None = None,
        scale: int | None = None,
        token_ttl: int = 3600,
        page_totals: bool = True,
    ) -> None:
        super().__init__(faults=faults, page_size=page_size, clock=clock)
        account = json.loads((FIXTURES / "partner.json").read_text())
        self.partner_id: str = account["partner_id"]
        self.client_id: str = account["client_id"]
        self.client_secret: str = account["client_secret"]
        self.tenants: list[dict[str, Any]] = (
            _generated_tenants(scale)
            if scale is not None
            else json.loads((FIXTURES / "tenants.json").read_text())
        )
        self._by_id = {t["id"]: t for t in self.tenants}
        self.issuer = TokenIssuer(self.clock, token_ttl)
        self.token_requests = 0
        self.page_totals = page_totals  # False: `pageTotal=true` ignored, as some list endpoints do

    # -- harness ------------------------------------------------------------------
    def config(self, base_url: str, *, valid_credentials: bool = True) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret if valid_credentials else "sim-sophos-wrong-secret-0000",
            "partner_id": self.partner_id,
            "auth_url": base_url + TOKEN_PATH,
            "api_url": base_url,
        }

    def invalid_configs(self, base_url: str) -> list[dict[str, Any]]:
        good = self.config(base_url)
        without_secret = {k: v for k, v in good.items() if k != "client_secret"}
        return [
            without_secret,
            {**good, "client_id": ""},
            {**good, "partner_id": ""},
            {**good, "api_url": "ftp://api.central.sophos.com"},
            {**good, "auth_url": "not a url"},
            {**good, "region": "eu01"},
        ]

    def sample_arguments(self) -> dict[Capability, dict[str, Any]]:
        readable = next(t for t in self.tenants if t["partnerAssistance"] and t["licenses"])
        licence = readable["licenses"][0]
        return {
            Capability.license_usage: {"tenant_external_id": self.tenants[0]["id"]},
            Capability.term_readback: {
                "ref": f"{readable['id']}/{licence['id']}",
                "unknown_ref": f"{readable['id']}/{_new_id()}",
                "ends_on": date.fromisoformat(licence["endDate"]),
            },
        }

    def error_body(self, status: int) -> dict[str, Any]:
        names = {
            400: "badRequest",
            401: "Unauthorized",
            403: "forbidden",
            404: "notFound",
            429: "tooManyRequests",
            500: "internalServerError",
            502: "badGateway",
            503: "serviceUnavailable",
        }
        name = names.get(status, "error")
        return {
            "error": name,
            "message": f"simulated {status}",
            "correlationId": _new_id(),
            "requestId": _new_id(),
            "createdAt": self.clock().isoformat(),
        }

    def revoke_tokens(self) -> None:
        self.issuer.revoke_all()

    def add_tenant(self, tenant: dict[str, Any]) -> None:
        """Adds (or replaces) a tenant in the stored shape of `fixtures/tenants.json` (the
        demo seeds the MSP's own clients this way)."""
        self.tenants = [t for t in self.tenants if t["id"] != tenant["id"]] + [tenant]
        self._by_id[tenant["id"]] = tenant

    def licence(self, licence_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(tenant, licence) holding `licence_id` (KeyError when none does)."""
        for tenant in self.tenants:
            for item in tenant["licenses"]:
                if item["id"] == licence_id:
                    return tenant, item
        raise KeyError(licence_id)

    def extend_licence(self, licence_id: str, new_end: date) -> None:
        """Sophos applied a renewal to the licence itself: its `endDate` moves."""
        self.licence(licence_id)[1]["endDate"] = new_end.isoformat()

    def add_successor(self, licence_id: str, new_end: date, *, quantity: int | None = None) -> str:
        """Sophos applied a renewal as a new licence of the same product starting the day
        after the old one ends (the other way a term renewal shows up). Returns its id."""
        tenant, old = self.licence(licence_id)
        successor = {
            **old,
            "id": _new_id(),
            "licenseIdentifier": f"{old['licenseIdentifier']}-R",
            "startDate": (date.fromisoformat(old["endDate"]) + timedelta(days=1)).isoformat(),
            "endDate": new_end.isoformat(),
            "quantity": quantity if quantity is not None else old["quantity"],
        }
        tenant["licenses"].append(successor)
        return str(successor["id"])

    def visible_licenses(self) -> list[dict[str, Any]]:
        """Licences a partner can read (what a full sync must return, no more, no less)."""
        return [lic for t in self.tenants if t["partnerAssistance"] for lic in t["licenses"]]

    # -- the API ------------------------------------------------------------------
    def build_app(self) -> ASGIApp:
        return Starlette(
            routes=[
                Route(TOKEN_PATH, self._token, methods=["POST"]),
                Route("/whoami/v1", self._whoami, methods=["GET"]),
                Route("/partner/v1/tenants", self._tenants, methods=["GET"]),
                Route("/partner/v1/tenants/{tenant_id}", self._tenant, methods=["GET"]),
                Route("/region/{region}/licenses/v1/licenses", self._licenses, methods=["GET"]),
            ]
        )

    def _api_error(self, status: int, message: str) -> JSONResponse:
        body = self.error_body(status)
        body["message"] = message
        return JSONResponse(body, status_code=status)

    def _token_error(self, status: int, code: str, message: str) -> JSONResponse:
        return JSONResponse(
            {"errorCode": code, "message": message, "trackingId": _new_id()}, status_code=status
        )

    async def _token(self, request: Request) -> JSONResponse:
        self.token_requests += 1
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return self._token_error(400, "oauth.invalid_request", "Request body must be form encoded")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("latin1")).items()}
        if form.get("grant_type") != "client_credentials":
            return self._token_error(400, "oauth.unsupported_grant_type", "Unsupported grant type")
        if form.get("scope") != "token":
            return self._token_error(400, "oauth.invalid_scope", "scope must be 'token'")
        if form.get("client_id") != self.client_id:
            return self._token_error(401, "oauth.invalid_client_id", "Unauthorized")
        if form.get("client_secret") != self.client_secret:
            return self._token_error(401, "oauth.invalid_client_secret", "Unauthorized")
        value, ttl = self.issuer.issue(self.partner_id)
        return JSONResponse(
            {
                "access_token": value,
                "refresh_token": _new_id(),
                "token_type": "bearer",
                "expires_in": ttl,
                "errorCode": "success",
                "message": "OK",
                "trackingId": _new_id(),
            }
        )

    def _authorized(self, request: Request) -> JSONResponse | None:
        if self.issuer.check(request.headers.get("authorization")) is None:
            # Expired, revoked and unknown tokens all get the same answer at Sophos.
            return self._api_error(401, "Unauthorized")
        return None

    def _page_size(self, request: Request, maximum: int, default: int = 50) -> int | JSONResponse:
        raw = request.query_params.get("pageSize")
        try:
            size = int(raw) if raw is not None else default
        except ValueError:
            return self._api_error(400, "pageSize must be a number")
        if not 1 <= size <= maximum:
            return self._api_error(400, f"pageSize must be between 1 and {maximum}")
        # Tests shrink pages below what the client asks for so every path pages.
        return min(size, self.page_size) if self.page_size else size

    def _partner_guard(self, request: Request) -> JSONResponse | None:
        refused = self._authorized(request)
        if refused is not None:
            return refused
        if "x-tenant-id" in request.headers:
            return self._api_error(403, "partner endpoints do not take X-Tenant-ID")
        if request.headers.get("x-partner-id") != self.partner_id:
            return self._api_error(403, "X-Partner-ID does not match the caller")
        return None

    async def _whoami(self, request: Request) -> JSONResponse:
        refused = self._authorized(request)
        if refused is not None:
            return refused
        base = str(request.base_url).rstrip("/")
        return JSONResponse({"id": self.partner_id, "idType": "partner", "apiHosts": {"global": base}})

    def _public_tenant(self, tenant: dict[str, Any], base: str) -> dict[str, Any]:
        out = {k: v for k, v in tenant.items() if k not in ("licenses", "partnerAssistance")}
        out["partner"] = {"id": self.partner_id}
        out["apiHost"] = f"{base}/region/{tenant['dataRegion']}"
        out["products"] = [{"code": "endpointProtection"}]
        return out

    async def _tenants(self, request: Request) -> JSONResponse:
        refused = self._partner_guard(request)
        if refused is not None:
            return refused
        size = self._page_size(request, TENANT_MAX_PAGE)
        if isinstance(size, JSONResponse):
            return size
        try:
            page = int(request.query_params.get("page", "1"))
        except ValueError:
            return self._api_error(400, "page must be a number")
        if page < 1:
            return self._api_error(400, "page must be 1 or more")
        base = str(request.base_url).rstrip("/")
        chunk = self.tenants[(page - 1) * size : page * size]
        pages: dict[str, Any] = {"current": page, "size": size, "maxSize": TENANT_MAX_PAGE}
        if request.query_params.get("pageTotal") == "true" and self.page_totals:
            pages["total"] = max(1, -(-len(self.tenants) // size))
            pages["items"] = len(self.tenants)
        return JSONResponse({"items": [self._public_tenant(t, base) for t in chunk], "pages": pages})

    async def _tenant(self, request: Request) -> JSONResponse:
        refused = self._partner_guard(request)
        if refused is not None:
            return refused
        tenant = self._by_id.get(request.path_params["tenant_id"])
        if tenant is None:
            return self._api_error(404, "tenant not found")
        return JSONResponse(self._public_tenant(tenant, str(request.base_url).rstrip("/")))

    async def _licenses(self, request: Request) -> JSONResponse:
        refused = self._authorized(request)
        if refused is not None:
            return refused
        if "x-partner-id" in request.headers:
            return self._api_error(403, "tenant endpoints take X-Tenant-ID, not X-Partner-ID")
        tenant = self._by_id.get(request.headers.get("x-tenant-id", ""))
        if tenant is None:
            return self._api_error(403, "X-Tenant-ID is not a tenant of this partner")
        if tenant["dataRegion"] != request.path_params["region"]:
            return self._api_error(403, "the tenant is not hosted in this data region")
        if not tenant["partnerAssistance"]:
            return self._api_error(403, "Partner Assistance is not enabled for this tenant")
        size = self._page_size(request, LICENSE_MAX_PAGE)
        if isinstance(size, JSONResponse):
            return size
        start = 0
        key = request.query_params.get("pageFromKey")
        if key:
            try:
                start = int(base64.urlsafe_b64decode(key.encode()).decode().removeprefix("offset:"))
            except ValueError:
                return self._api_error(400, "pageFromKey is not valid")
        items = tenant["licenses"][start : start + size]
        pages: dict[str, Any] = {"size": size, "maxSize": LICENSE_MAX_PAGE}
        if key:
            pages["fromKey"] = key
        if start + size < len(tenant["licenses"]):
            pages["nextKey"] = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode()
        return JSONResponse({"licenses": items, "pages": pages})
