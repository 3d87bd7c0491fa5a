"""A stateful Microsoft Graph (and identity platform) simulator for several customer tenants.

Follows the real shapes (vendor-apis.md §4.1): per-tenant token endpoint
`/{tenant}/oauth2/v2.0/token` (form only, `scope=<resource>/.default`, AADSTS error bodies),
tokens carrying the tenant and audience and checked on every request (the data served
is the token's tenant's; a token for another resource is refused), `InvalidAuthenticationToken`
401 after expiry, OData collections with `@odata.nextLink` (full URL with `$skiptoken`),
`$select` honoured, `$filter` on subscribedSkus refused, the OData error envelope with
`innerError.request-id` (also sent as the `request-id` header), polymorphic
`@odata.type` domain DNS records generated from each domain's services as Microsoft does.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from hub.sdk.testing import Clock, FaultPlan, Simulator, TokenIssuer
from hub.sdk.testing.simulator import IssuedToken

FIXTURES = Path(__file__).parent / "fixtures"
GRAPH_RESOURCE = "https://graph.microsoft.com"
KNOWN_RESOURCES = frozenset({GRAPH_RESOURCE, "https://outlook.office365.com", "https://management.azure.com"})
DEFAULT_PAGE = 100
ERROR_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Authorization_RequestDenied",
    404: "Request_ResourceNotFound",
    429: "TooManyRequests",
    500: "generalException",
    502: "BadGateway",
    503: "serviceNotAvailable",
    504: "GatewayTimeout",
}


def _dns(
    kind: str, label: str, supported: str, ttl: int = 3600, optional: bool = False, **fields: Any
) -> dict[str, Any]:
    return {
        "@odata.type": f"#microsoft.graph.domainDns{kind}Record",
        "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{kind}|{label}|{sorted(fields.items())}")),
        "isOptional": optional,
        "label": label,
        "recordType": kind if kind != "Unavailable" else "Unavailable",
        "supportedService": supported,
        "ttl": ttl,
        **fields,
    }


def service_records(domain: dict[str, Any]) -> list[dict[str, Any]]:
    """What Microsoft 365 asks a custom domain to publish for each of its services."""
    name: str = domain["id"]
    if domain.get("isInitial"):
        return []  # *.onmicrosoft.com is Microsoft's own zone
    if not domain["isVerified"]:
        return [_dns("Unavailable", name, "None", description="Domain is not verified")]
    services = set(domain["supportedServices"])
    out = []
    if "Email" in services:
        out += [
            _dns(
                "Mx",
                name,
                "Email",
                mailExchange=f"{name.replace('.', '-')}.mail.protection.outlook.com",
                preference=0,
            ),
            _dns("Txt", name, "Email", text="v=spf1 include:spf.protection.outlook.com -all"),
            _dns("Cname", f"autodiscover.{name}", "Email", canonicalName="autodiscover.outlook.com"),
        ]
    if "OfficeCommunicationsOnline" in services:
        out += [
            _dns(
                "Cname", f"sip.{name}", "OfficeCommunicationsOnline", canonicalName="sipdir.online.lync.com"
            ),
            _dns(
                "Cname",
                f"lyncdiscover.{name}",
                "OfficeCommunicationsOnline",
                canonicalName="webdir.online.lync.com",
            ),
            _dns(
                "Srv",
                name,
                "OfficeCommunicationsOnline",
                nameTarget="sipdir.online.lync.com",
                port=443,
                priority=100,
                protocol="_tls",
                service="_sip",
                weight=1,
            ),
            _dns(
                "Srv",
                name,
                "OfficeCommunicationsOnline",
                nameTarget="sipfed.online.lync.com",
                port=5061,
                priority=100,
                protocol="_tcp",
                service="_sipfederationtls",
                weight=1,
            ),
        ]
    if "Intune" in services:
        out += [
            _dns(
                "Cname",
                f"enterpriseregistration.{name}",
                "Intune",
                canonicalName="enterpriseregistration.windows.net",
            ),
            _dns(
                "Cname",
                f"enterpriseenrollment.{name}",
                "Intune",
                canonicalName="enterpriseenrollment.manage.microsoft.com",
            ),
        ]
    return out


def verification_records(domain: dict[str, Any]) -> list[dict[str, Any]]:
    code = domain.get("verificationCode") or "ms" + str(uuid.uuid5(uuid.NAMESPACE_DNS, domain["id"]).int)[:8]
    name = domain["id"]
    return [
        _dns("Txt", name, "None", text=f"MS={code}"),
        _dns("Mx", name, "None", mailExchange=f"{code}.msv1.invalid", preference=32767),
    ]


class MicrosoftGraphSimulator(Simulator):
    slug = "microsoft_graph"
    data_paths: ClassVar[str] = r"^/v1\.0/"

    def __init__(
        self,
        *,
        faults: FaultPlan | None = None,
        page_size: int | None = None,
        clock: Clock | None = None,
        token_ttl: int = 3599,
    ) -> None:
        super().__init__(faults=faults, page_size=page_size, clock=clock)
        data = json.loads((FIXTURES / "tenants.json").read_text())
        self.client_id: str = data["app"]["client_id"]
        self.client_secret: str = data["app"]["client_secret"]
        self.tenants: dict[str, dict[str, Any]] = {t["id"]: t for t in data["tenants"]}
        self.tenant_id: str = data["tenants"][0]["id"]
        self.issuer = TokenIssuer(self.clock, token_ttl)
        self.token_requests: list[str] = []  # the tenant of each token request

    # -- harness ------------------------------------------------------------------
    def config(
        self, base_url: str, *, valid_credentials: bool = True, tenant_id: str | None = None
    ) -> dict[str, Any]:
        return {
            "tenant_id": tenant_id or self.tenant_id,
            "client_id": self.client_id,
            "client_secret": self.client_secret if valid_credentials else "sim-graph-wrong~secret~0000",
            "authority_url": base_url,
            "graph_url": base_url,
        }

    def invalid_configs(self, base_url: str) -> list[dict[str, Any]]:
        good = self.config(base_url)
        return [
            {**good, "tenant_id": "harbourdental.co.uk"},
            {**good, "client_id": ""},
            {k: v for k, v in good.items() if k != "client_secret"},
            {**good, "graph_url": "graph.microsoft.com"},
            {**good, "scope": "https://graph.microsoft.com/.default"},
        ]

    def error_body(self, status: int) -> dict[str, Any]:
        return self._odata_error(status, ERROR_CODES.get(status, "UnknownError"), f"simulated {status}")

    def revoke_tokens(self) -> None:
        self.issuer.revoke_all()

    def _odata_error(
        self, status: int, code: str, message: str, request_id: str | None = None
    ) -> dict[str, Any]:
        return {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": self.clock().strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": request_id or str(uuid.uuid4()),
                    "client-request-id": str(uuid.uuid4()),
                },
            }
        }

    # -- the API ------------------------------------------------------------------
    def build_app(self) -> ASGIApp:
        return Starlette(
            routes=[
                Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
                Route("/v1.0/organization", self._organization, methods=["GET"]),
                Route("/v1.0/subscribedSkus", self._skus, methods=["GET"]),
                Route("/v1.0/directory/subscriptions", self._subscriptions, methods=["GET"]),
                Route("/v1.0/domains", self._domains, methods=["GET"]),
                Route(
                    "/v1.0/domains/{domain}/serviceConfigurationRecords",
                    self._service_records,
                    methods=["GET"],
                ),
                Route(
                    "/v1.0/domains/{domain}/verificationDnsRecords",
                    self._verification_records,
                    methods=["GET"],
                ),
            ]
        )

    def _error(self, status: int, code: str, message: str) -> JSONResponse:
        rid = str(uuid.uuid4())
        return JSONResponse(
            self._odata_error(status, code, message, rid), status_code=status, headers={"request-id": rid}
        )

    def _aad_error(self, status: int, error: str, code: int, description: str) -> JSONResponse:
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        return JSONResponse(
            {
                "error": error,
                "error_description": (
                    f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation}"
                ),
                "error_codes": [code],
                "timestamp": self.clock().strftime("%Y-%m-%d %H:%M:%SZ"),
                "trace_id": trace,
                "correlation_id": correlation,
            },
            status_code=status,
        )

    async def _token(self, request: Request) -> JSONResponse:
        tenant_id = request.path_params["tenant"]
        self.token_requests.append(tenant_id)
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return self._aad_error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("latin1")).items()}
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            return self._aad_error(400, "invalid_request", 90002, f"Tenant '{tenant_id}' not found.")
        if form.get("grant_type") != "client_credentials":
            return self._aad_error(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        scope = form.get("scope")
        if not scope:
            return self._aad_error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            )
        resource = scope.removesuffix("/.default")
        if not scope.endswith("/.default") or resource not in KNOWN_RESOURCES:
            return self._aad_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows must have a "
                "scope value with /.default suffixed to the resource identifier (application ID URI).",
            )
        if form.get("client_id") != self.client_id or not tenant["consented"]:
            return self._aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id')}' was not found in the directory "
                f"'{tenant_id}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant.",
            )
        if form.get("client_secret") != self.client_secret:
            return self._aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in "
                "the request is the client secret value, not the client secret ID.",
            )
        value, ttl = self.issuer.issue(self.client_id, tid=tenant_id, aud=resource)
        return JSONResponse(
            {"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl, "access_token": value}
        )

    def _caller(self, request: Request) -> tuple[dict[str, Any], None] | tuple[None, JSONResponse]:
        """The tenant whose data this request may see: the token's, checked now."""
        header = request.headers.get("authorization")
        if not header:
            return None, self._error(401, "InvalidAuthenticationToken", "Access token is empty.")
        value = header[7:].strip() if header.lower().startswith("bearer ") else ""
        issued: IssuedToken | None = self.issuer.tokens.get(value)
        if issued is None:
            return None, self._error(401, "InvalidAuthenticationToken", "Access token validation failure.")
        if issued.expires_at <= self.clock():
            return None, self._error(
                401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."
            )
        if issued.claims.get("aud") != GRAPH_RESOURCE:
            return None, self._error(
                401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience."
            )
        tenant = self.tenants.get(issued.claims.get("tid", ""))
        if tenant is None or not tenant["consented"]:
            return None, self._error(
                403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
            )
        return tenant, None

    def _collection(
        self, request: Request, tenant: dict[str, Any], items: list[dict[str, Any]]
    ) -> JSONResponse:
        """One page of an OData collection; `@odata.nextLink` carries the position and the
        tenant, so a next link cannot be replayed with another tenant's token."""
        start = 0
        skiptoken = request.query_params.get("$skiptoken")
        if skiptoken:
            try:
                owner, _, offset = base64.urlsafe_b64decode(skiptoken.encode()).decode().partition(":")
                start = int(offset)
            except ValueError:
                return self._error(400, "BadRequest", "Invalid $skiptoken.")
            if owner != tenant["id"]:
                return self._error(400, "BadRequest", "The $skiptoken was issued to another tenant.")
        select = request.query_params.get("$select")
        if select:
            keep = {f.strip() for f in select.split(",")} | {"@odata.type"}
            items = [{k: v for k, v in item.items() if k in keep} for item in items]
        size = self.page_size or DEFAULT_PAGE
        base = str(request.base_url).rstrip("/")
        body: dict[str, Any] = {
            "@odata.context": f"{base}/v1.0/$metadata#{request.url.path.removeprefix('/v1.0/')}",
            "value": items[start : start + size],
        }
        if start + size < len(items):
            token = base64.urlsafe_b64encode(f"{tenant['id']}:{start + size}".encode()).decode()
            query = f"$skiptoken={quote(token)}" + (f"&$select={quote(select, safe=',')}" if select else "")
            body["@odata.nextLink"] = f"{base}{request.url.path}?{query}"
        return JSONResponse(body, headers={"request-id": str(uuid.uuid4())})

    async def _organization(self, request: Request) -> JSONResponse:
        tenant, refused = self._caller(request)
        if refused is not None:
            return refused
        assert tenant is not None
        verified = [
            {
                "name": d["id"],
                "isDefault": d["isDefault"],
                "isInitial": d["isInitial"],
                "type": "Managed",
                "capabilities": ", ".join(d["supportedServices"]),
            }
            for d in tenant["domains"]
            if d["isVerified"]
        ]
        org = {
            "id": tenant["id"],
            "displayName": tenant["displayName"],
            "countryLetterCode": tenant["countryLetterCode"],
            "tenantType": "AAD",
            "verifiedDomains": verified,
        }
        return self._collection(request, tenant, [org])

    async def _skus(self, request: Request) -> JSONResponse:
        tenant, refused = self._caller(request)
        if refused is not None:
            return refused
        assert tenant is not None
        if "$filter" in request.query_params:
            return self._error(400, "Request_UnsupportedQuery", "Unsupported Query.")
        skus = [
            {
                "accountId": tenant["id"],
                "accountName": tenant["displayName"],
                "id": f"{tenant['id']}_{s['skuId']}",
                "servicePlans": [],
                **s,
            }
            for s in tenant["subscribedSkus"]
        ]
        return self._collection(request, tenant, skus)

    async def _subscriptions(self, request: Request) -> JSONResponse:
        tenant, refused = self._caller(request)
        if refused is not None:
            return refused
        assert tenant is not None
        subs = [{"ownerId": tenant["id"], "serviceStatus": [], **s} for s in tenant["subscriptions"]]
        return self._collection(request, tenant, subs)

    def _public_domain(self, domain: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in domain.items() if k != "verificationCode"}
        out.update(authenticationType="Managed", isAdminManaged=True, isRoot=True, state=None)
        return out

    async def _domains(self, request: Request) -> JSONResponse:
        tenant, refused = self._caller(request)
        if refused is not None:
            return refused
        assert tenant is not None
        return self._collection(request, tenant, [self._public_domain(d) for d in tenant["domains"]])

    def _domain(self, tenant: dict[str, Any], name: str) -> dict[str, Any] | None:
        return next((d for d in tenant["domains"] if d["id"].lower() == name.lower()), None)

    async def _service_records(self, request: Request) -> JSONResponse:
        tenant, refused = self._caller(request)
        if refused is not None:
            return refused
        assert tenant is not None
        domain = self._domain(tenant, request.path_params["domain"])
        if domain is None:
            return self._error(
                404, "Request_ResourceNotFound", f"Resource '{request.path_params['domain']}' does not exist."
            )
        return self._collection(request, tenant, service_records(domain))

    async def _verification_records(self, request: Request) -> JSONResponse:
        tenant, refused = self._caller(request)
        if refused is not None:
            return refused
        assert tenant is not None
        domain = self._domain(tenant, request.path_params["domain"])
        if domain is None:
            return self._error(
                404, "Request_ResourceNotFound", f"Resource '{request.path_params['domain']}' does not exist."
            )
        return self._collection(request, tenant, verification_records(domain))
