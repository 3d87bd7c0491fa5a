"""An Azure Support REST API simulator (Azure Resource Manager + identity platform).

What it holds the adapter to (see the README for what is verified and what is guessed):
- a per-tenant token endpoint (form only, `scope=https://management.azure.com/.default`,
  AADSTS error bodies); every ARM call checks the token's audience and that its tenant is
  the subscription's; a CSP subscription wants the partner tenant's token in
  `x-ms-authorization-auxiliary` to create anything;
- `api-version=2024-04-01` on every Microsoft.Support call;
- ticket creation validated like the service does (required properties, contact fields,
  a problem classification that belongs to the service, severity values), names unique
  per subscription (a second PUT of a name answers 409), creation as a long-running
  operation: 202 with `Azure-AsyncOperation`, the ticket `Creating` and without its
  `supportTicketId` until `provisioning_seconds` have passed on the simulator's clock; a
  retired problem classification passes the PUT and fails the operation;
- the vendor's side on its own clock: an engineer is assigned and writes after
  `answer_after_seconds`, asks again four times later, and (when `close_after_seconds`
  is set) closes the ticket; severity cannot change once an engineer works on it;
  messages to a closed ticket are refused;
- communications at most 10 a page (`$top` above 10 is a 400), newest first, `nextLink`
  with a `$skipToken`, `$filter` on `createdDate ge` and `communicationType eq`;
- file workspaces, file declarations and chunked base64 uploads (sizes checked);
- ARM error envelopes with `x-ms-request-id`, and 429s with `Retry-After` from the
  shared fault plan.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from hub.sdk.capabilities import Capability
from hub.sdk.testing import Clock, FaultPlan, Simulator, TokenIssuer
from hub.sdk.testing.simulator import IssuedToken

FIXTURES = Path(__file__).parent / "fixtures"
MANAGEMENT = "https://management.azure.com"
API_VERSION = "2024-04-01"
SUBSCRIPTION_API_VERSIONS = frozenset({"2020-01-01", "2022-12-01"})
SEVERITIES = {"minimal": 480, "moderate": 240, "critical": 60, "highestcriticalimpact": 60}
CONTACT_FIELDS = (
    "firstName",
    "lastName",
    "preferredContactMethod",
    "primaryEmailAddress",
    "preferredTimeZone",
    "country",
    "preferredSupportLanguage",
)
ERROR_CODES = {
    400: "BadRequest",
    401: "ExpiredAuthenticationToken",
    403: "AuthorizationFailed",
    404: "NotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SimTicket:
    subscription: str
    name: str
    properties: dict[str, Any]
    created: datetime
    provisioned_at: datetime
    number: str
    operation: str
    status: str = "Open"
    engineer: str | None = None
    communications: list[dict[str, Any]] = field(default_factory=list)
    failed: str | None = None
    scripted: set[int] = field(default_factory=set)


class AzureSupportSimulator(Simulator):
    slug = "azure_support"
    data_paths: ClassVar[str] = r"^/(subscriptions|providers)/"

    def __init__(
        self,
        *,
        faults: FaultPlan | None = None,
        page_size: int | None = None,
        clock: Clock | None = None,
        token_ttl: int = 3599,
        async_create: bool = True,
        provisioning_seconds: float = 60,
        answer_after_seconds: float = 900,
        close_after_seconds: float | None = None,
    ) -> None:
        super().__init__(faults=faults, page_size=page_size, clock=clock)
        world = json.loads((FIXTURES / "world.json").read_text())
        self.client_id: str = world["app"]["client_id"]
        self.client_secret: str = world["app"]["client_secret"]
        self.partner_tenant: str = world["partner_tenant"]
        self.subscriptions: dict[str, dict[str, Any]] = {
            s["subscriptionId"]: s for s in world["subscriptions"]
        }
        self.subscription_id: str = world["subscriptions"][0]["subscriptionId"]
        self.services: dict[str, dict[str, Any]] = {s["name"]: s for s in world["services"]}
        self.issuer = TokenIssuer(self.clock, token_ttl)
        self.async_create = async_create
        self.provisioning = timedelta(seconds=provisioning_seconds)
        self.answer_after = timedelta(seconds=answer_after_seconds)
        self.close_after = timedelta(seconds=close_after_seconds) if close_after_seconds is not None else None
        self.tickets: dict[tuple[str, str], SimTicket] = {}
        self.workspaces: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self.operations: dict[str, tuple[str, str]] = {}
        self.auxiliary_seen: list[str] = []
        self._numbers = 0
        for raw in world["tickets"]:
            self._seed(raw)

    # -- world --------------------------------------------------------------------------
    def _seed(self, raw: dict[str, Any]) -> None:
        now = self.clock()
        created = now - timedelta(hours=raw["createdHoursAgo"])
        service = raw["service"]
        properties = {
            "title": raw["title"],
            "description": raw["description"],
            "serviceId": f"/providers/Microsoft.Support/services/{service}",
            "problemClassificationId": (
                f"/providers/Microsoft.Support/services/{service}/problemClassifications/{raw['problemClassification']}"
            ),
            "severity": raw["severity"],
            "advancedDiagnosticConsent": "No",
            "contactDetails": {
                "firstName": "Giulia",
                "lastName": "Ferri",
                "preferredContactMethod": "email",
                "primaryEmailAddress": "noc@msp.example",
                "preferredTimeZone": "W. Europe Standard Time",
                "country": "ita",
                "preferredSupportLanguage": "it-it",
            },
        }
        ticket = SimTicket(
            subscription=raw["subscriptionId"],
            name=raw["name"],
            properties=properties,
            created=created,
            provisioned_at=created,
            number=raw["supportTicketId"],
            operation=str(uuid.uuid4()),
            engineer=raw.get("engineer"),
            scripted={0, 1},  # its vendor history is in the fixture
        )
        for comm in raw["communications"]:
            ticket.communications.append(
                self._communication(
                    ticket,
                    comm["name"],
                    comm["subject"],
                    comm["body"],
                    comm["sender"],
                    comm["direction"],
                    now - timedelta(hours=comm["hoursAgo"]),
                )
            )
        self.tickets[(ticket.subscription, ticket.name)] = ticket

    def classification(self, service: str, classification: str) -> dict[str, Any] | None:
        for item in self.services.get(service, {}).get("problemClassifications", []):
            if item["name"] == classification:
                return dict(item)
        return None

    def ticket(self, name: str, subscription: str | None = None) -> SimTicket | None:
        """For tests: a ticket as stored (after the vendor's scheduled activity)."""
        found = self.tickets.get((subscription or self.subscription_id, name))
        if found is not None:
            self._advance(found)
        return found

    # -- harness ------------------------------------------------------------------------
    def config(
        self, base_url: str, *, valid_credentials: bool = True, subscription_id: str | None = None
    ) -> dict[str, Any]:
        subscription = self.subscriptions[subscription_id or self.subscription_id]
        config: dict[str, Any] = {
            "subscription_id": subscription["subscriptionId"],
            "tenant_id": subscription["tenantId"],
            "client_id": self.client_id,
            "client_secret": self.client_secret if valid_credentials else "sim-arm-wrong~secret~0000",
            "contact": {
                "first_name": "Giulia",
                "last_name": "Ferri",
                "email": "noc@msp.example",
                "phone": "+39 06 1234567",
                "country": "ITA",
                "time_zone": "W. Europe Standard Time",
                "language": "it-it",
            },
            "sender_email": "noc@msp.example",
            "authority_url": base_url,
            "management_url": base_url,
        }
        if subscription["csp"]:
            config["partner_tenant_id"] = self.partner_tenant
        return config

    def invalid_configs(self, base_url: str) -> list[dict[str, Any]]:
        good = self.config(base_url)
        return [
            {**good, "subscription_id": "Colombo Produzione"},
            {k: v for k, v in good.items() if k != "client_secret"},
            {**good, "management_url": "https://management.azure.com/subscriptions"},
            {**good, "contact": {**good["contact"], "country": "IT"}},
            {**good, "default_problem_classification_id": "cannot connect"},
            {**good, "api_version": "2020-04-01"},
        ]

    def sample_arguments(self) -> dict[Capability, dict[str, Any]]:
        vm = "06bfd9d3-516b-d5c6-5802-169c800dec89"
        return {
            Capability.case_desk: {
                "request": {
                    "title": "vm-erp-01 does not boot after host maintenance",
                    "description": "Boot diagnostics show a blue screen since 06:40 UTC.",
                    "severity": "normal",
                    "category": (
                        f"/providers/Microsoft.Support/services/{vm}"
                        "/problemClassifications/a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a5b"
                    ),
                    "subject": (
                        f"/subscriptions/{self.subscription_id}/resourceGroups/erp"
                        "/providers/Microsoft.Compute/virtualMachines/vm-erp-01"
                    ),
                },
                "case_external_id": "hub-seeded-0001",
                "create": {"method": "PUT", "path": r"/providers/Microsoft\.Support/supportTickets/[^/]+$"},
                "vendor_activity_seconds": 3600,
            }
        }

    def error_body(self, status: int) -> dict[str, Any]:
        return {"error": {"code": ERROR_CODES.get(status, "UnknownError"), "message": f"simulated {status}"}}

    def revoke_tokens(self) -> None:
        self.issuer.revoke_all()

    # -- the API ------------------------------------------------------------------------
    def build_app(self) -> ASGIApp:
        sub = "/subscriptions/{sub}"
        support = f"{sub}/providers/Microsoft.Support"
        return Starlette(
            routes=[
                Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
                Route(sub, self._subscription, methods=["GET"]),
                Route("/providers/Microsoft.Support/services", self._services, methods=["GET"]),
                Route(
                    "/providers/Microsoft.Support/services/{service}/problemClassifications",
                    self._classifications,
                    methods=["GET"],
                ),
                Route(f"{support}/supportTickets", self._list_tickets, methods=["GET"]),
                Route(f"{support}/supportTickets/{{name}}", self._ticket, methods=["GET", "PUT", "PATCH"]),
                Route(
                    f"{support}/supportTickets/{{name}}/communications", self._communications, methods=["GET"]
                ),
                Route(
                    f"{support}/supportTickets/{{name}}/communications/{{comm}}",
                    self._communication_route,
                    methods=["GET", "PUT"],
                ),
                Route(f"{support}/operationsStatus/{{op}}", self._operation, methods=["GET"]),
                Route(f"{support}/fileWorkspaces/{{ws}}", self._workspace, methods=["GET", "PUT"]),
                Route(f"{support}/fileWorkspaces/{{ws}}/files/{{file}}", self._file, methods=["PUT"]),
                Route(
                    f"{support}/fileWorkspaces/{{ws}}/files/{{file}}/upload", self._upload, methods=["POST"]
                ),
            ]
        )

    def _error(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> JSONResponse:
        rid = str(uuid.uuid4())
        return JSONResponse(
            {"error": {"code": code, "message": message}},
            status_code=status,
            headers={"x-ms-request-id": rid, **(headers or {})},
        )

    def _ok(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(
            body, status_code=status, headers={"x-ms-request-id": str(uuid.uuid4()), **(headers or {})}
        )

    async def _token(self, request: Request) -> JSONResponse:
        tenant = request.path_params["tenant"]

        def aad(status: int, error: str, code: int, description: str) -> JSONResponse:
            return JSONResponse(
                {"error": error, "error_description": f"AADSTS{code}: {description}", "error_codes": [code]},
                status_code=status,
            )

        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return aad(400, "invalid_request", 900144, "The request body must contain 'grant_type'.")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("latin1")).items()}
        tenants = {s["tenantId"] for s in self.subscriptions.values()} | {self.partner_tenant}
        if tenant not in tenants:
            return aad(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return aad(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        if form.get("scope") != f"{MANAGEMENT}/.default":
            return aad(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {form.get('scope')} is not valid.",
            )
        if form.get("client_id") != self.client_id:
            return aad(400, "unauthorized_client", 700016, "Application not found in the directory.")
        if form.get("client_secret") != self.client_secret:
            return aad(401, "invalid_client", 7000215, "Invalid client secret provided.")
        value, ttl = self.issuer.issue(self.client_id, tid=tenant, aud=MANAGEMENT)
        return JSONResponse(
            {"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl, "access_token": value}
        )

    def _token_of(self, header: str | None) -> IssuedToken | None:
        if not header or not header.lower().startswith("bearer "):
            return None
        issued = self.issuer.tokens.get(header[7:].strip())
        if issued is None or issued.expires_at <= self.clock() or issued.claims.get("aud") != MANAGEMENT:
            return None
        return issued

    def _caller(
        self, request: Request, *, support: bool = True
    ) -> tuple[dict[str, Any] | None, JSONResponse | None]:
        """The subscription the request may act on, or the refusal."""
        issued = self._token_of(request.headers.get("authorization"))
        if issued is None:
            return None, self._error(
                401, "ExpiredAuthenticationToken", "The access token is missing, invalid or expired."
            )
        subscription = self.subscriptions.get(request.path_params.get("sub", ""))
        if subscription is None:
            return None, self._error(404, "SubscriptionNotFound", "The subscription could not be found.")
        if issued.claims.get("tid") != subscription["tenantId"]:
            return None, self._error(
                401,
                "InvalidAuthenticationTokenTenant",
                "The access token is from the wrong issuer: it must match the tenant of the subscription.",
            )
        auxiliary = request.headers.get("x-ms-authorization-auxiliary")
        if auxiliary is not None:
            partner = self._token_of(auxiliary)
            if partner is None or partner.claims.get("tid") != self.partner_tenant:
                return None, self._error(
                    401, "InvalidAuxiliaryToken", "The auxiliary token is invalid or expired."
                )
            self.auxiliary_seen.append(request.method + " " + request.url.path)
        if support and request.query_params.get("api-version") != API_VERSION:
            return None, self._error(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{request.query_params.get('api-version')}' is invalid; use {API_VERSION}.",
            )
        return subscription, None

    async def _subscription(self, request: Request) -> JSONResponse:
        subscription, refused = self._caller(request, support=False)
        if refused is not None:
            return refused
        assert subscription is not None
        if request.query_params.get("api-version") not in SUBSCRIPTION_API_VERSIONS:
            return self._error(
                400, "InvalidApiVersionParameter", "Unsupported api-version for subscriptions."
            )
        return self._ok(
            {
                "id": f"/subscriptions/{subscription['subscriptionId']}",
                "subscriptionId": subscription["subscriptionId"],
                "tenantId": subscription["tenantId"],
                "displayName": subscription["displayName"],
                "state": subscription["state"],
            }
        )

    def _anonymous_check(self, request: Request) -> JSONResponse | None:
        if self._token_of(request.headers.get("authorization")) is None:
            return self._error(
                401, "ExpiredAuthenticationToken", "The access token is missing, invalid or expired."
            )
        if request.query_params.get("api-version") != API_VERSION:
            return self._error(400, "InvalidApiVersionParameter", "Unsupported api-version.")
        return None

    async def _services(self, request: Request) -> JSONResponse:
        refused = self._anonymous_check(request)
        if refused is not None:
            return refused
        return self._ok(
            {
                "value": [
                    {
                        "id": f"/providers/Microsoft.Support/services/{s['name']}",
                        "name": s["name"],
                        "type": "Microsoft.Support/services",
                        "properties": {"displayName": s["displayName"], "resourceTypes": s["resourceTypes"]},
                    }
                    for s in self.services.values()
                ]
            }
        )

    async def _classifications(self, request: Request) -> JSONResponse:
        refused = self._anonymous_check(request)
        if refused is not None:
            return refused
        service = self.services.get(request.path_params["service"])
        if service is None:
            return self._error(404, "ResourceNotFound", "The service does not exist.")
        return self._ok(
            {
                "value": [
                    {
                        "id": f"/providers/Microsoft.Support/services/{service['name']}"
                        f"/problemClassifications/{pc['name']}",
                        "name": pc["name"],
                        "type": "Microsoft.Support/problemClassifications",
                        "properties": {"displayName": pc["displayName"]},
                    }
                    for pc in service["problemClassifications"]
                    if not pc.get("retired")
                ]
            }
        )

    # -- tickets ------------------------------------------------------------------------
    def _advance(self, ticket: SimTicket) -> None:
        """Apply the vendor's scheduled activity up to now (deterministic: each event is
        dated by the schedule, not by when it was first seen)."""
        now = self.clock()
        if ticket.failed or now < ticket.provisioned_at:
            return
        schedule: list[tuple[datetime, str]] = [
            (ticket.provisioned_at + self.answer_after, "answer"),
            (ticket.provisioned_at + self.answer_after * 4, "ask"),
        ]
        if self.close_after is not None:
            schedule.append((ticket.provisioned_at + self.close_after, "close"))
        for index, (when, what) in enumerate(schedule):
            if index in ticket.scripted or when > now:
                continue
            ticket.scripted.add(index)
            engineer = ticket.engineer or f"engineer{ticket.number[-3:]}@support.microsoft.example"
            if what == "answer":
                ticket.engineer = engineer
                body = "Thank you for contacting Microsoft Support. I am reviewing your case."
            elif what == "ask":
                body = "Could you send the output of the diagnostics we asked for?"
            else:
                ticket.status = "Closed"
                body = "We are closing this case as resolved."
            ticket.communications.append(
                self._communication(
                    ticket, str(uuid.uuid4()), f"Case {ticket.number}", body, engineer, "inbound", when
                )
            )

    @staticmethod
    def _root(ticket: SimTicket) -> str:
        return f"/subscriptions/{ticket.subscription}/providers/Microsoft.Support"

    def _render(self, ticket: SimTicket) -> dict[str, Any]:
        self._advance(ticket)
        now = self.clock()
        ready = now >= ticket.provisioned_at and not ticket.failed
        properties = dict(ticket.properties)
        minutes = SEVERITIES.get(properties.get("severity", ""), 240)
        properties.update(
            status=ticket.status if ready or ticket.status == "Closed" else "Creating",
            createdDate=_stamp(ticket.created),
            modifiedDate=_stamp(max(ticket.created, min(now, ticket.provisioned_at))),
            serviceDisplayName=self.services.get(properties["serviceId"].rsplit("/", 1)[-1], {}).get(
                "displayName"
            ),
            supportPlanType="Premier",
            supportPlanDisplayName="Unified Enterprise",
            require24X7Response=False,
        )
        if ready:
            properties["supportTicketId"] = ticket.number
            properties["serviceLevelAgreement"] = {
                "startTime": _stamp(ticket.provisioned_at),
                "expirationTime": _stamp(ticket.provisioned_at + timedelta(minutes=minutes)),
                "slaMinutes": minutes,
            }
            properties["supportEngineer"] = {"emailAddress": ticket.engineer}
        return {
            "id": f"{self._root(ticket)}/supportTickets/{ticket.name}",
            "name": ticket.name,
            "type": "Microsoft.Support/supportTickets",
            "properties": properties,
        }

    async def _list_tickets(self, request: Request) -> JSONResponse:
        subscription, refused = self._caller(request)
        if refused is not None:
            return refused
        assert subscription is not None
        mine = [
            t
            for t in self.tickets.values()
            if t.subscription == subscription["subscriptionId"] and not t.failed
        ]
        top = int(request.query_params.get("$top", "25"))
        if not 1 <= top <= 100:
            return self._error(400, "BadRequest", "$top must be between 1 and 100.")
        return self._ok({"value": [self._render(t) for t in mine[:top]]})

    async def _ticket(self, request: Request) -> JSONResponse:
        subscription, refused = self._caller(request)
        if refused is not None:
            return refused
        assert subscription is not None
        key = (subscription["subscriptionId"], request.path_params["name"])
        existing = self.tickets.get(key)
        if request.method == "PUT":
            if subscription["csp"] and request.headers.get("x-ms-authorization-auxiliary") is None:
                return self._error(
                    403,
                    "AuthorizationFailed",
                    "The client does not have authorization to perform action "
                    "'Microsoft.Support/supportTickets/write' without the partner's auxiliary token.",
                )
            if existing is not None:
                return self._error(409, "Conflict", f"A support ticket named '{key[1]}' already exists.")
            return await self._create(request, subscription, key[1])
        if existing is None or existing.failed:
            return self._error(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Support/supportTickets/{key[1]}' was not found.",
            )
        if request.method == "PATCH":
            return await self._update(request, existing)
        return self._ok(self._render(existing))

    async def _json_body(self, request: Request) -> tuple[dict[str, Any] | None, JSONResponse | None]:
        try:
            body = json.loads(await request.body() or b"null")
        except json.JSONDecodeError:
            return None, self._error(
                400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
            )
        if not isinstance(body, dict):
            return None, self._error(
                400, "InvalidRequestContent", "The request content must be a JSON object."
            )
        return body, None

    # One branch per refusal the real API documents, in its order: splitting would hide the list.
    async def _create(  # noqa: C901
        self, request: Request, subscription: dict[str, Any], name: str
    ) -> JSONResponse:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", name) or name.endswith("."):
            return self._error(400, "InvalidResourceName", f"The resource name '{name}' is invalid.")
        body, refused = await self._json_body(request)
        if refused is not None:
            return refused
        assert body is not None
        properties = body.get("properties")
        if not isinstance(properties, dict):
            return self._error(400, "InvalidParameter", "properties is required.")
        for required in (
            "serviceId",
            "title",
            "description",
            "problemClassificationId",
            "severity",
            "advancedDiagnosticConsent",
        ):
            if not properties.get(required):
                return self._error(400, "InvalidParameter", f"The '{required}' property is required.")
        contact = properties.get("contactDetails")
        if not isinstance(contact, dict):
            return self._error(400, "InvalidParameter", "The 'contactDetails' property is required.")
        for required in CONTACT_FIELDS:
            if not contact.get(required):
                return self._error(
                    400, "InvalidParameter", f"The 'contactDetails.{required}' property is required."
                )
        if properties["severity"] not in SEVERITIES:
            return self._error(400, "InvalidParameter", f"Severity '{properties['severity']}' is not valid.")
        if properties["advancedDiagnosticConsent"] not in ("Yes", "No"):
            return self._error(400, "InvalidParameter", "advancedDiagnosticConsent must be Yes or No.")
        service = properties["serviceId"].rsplit("/", 1)[-1]
        match = re.fullmatch(
            r"/providers/Microsoft\.Support/services/([^/]+)/problemClassifications/([^/]+)",
            properties["problemClassificationId"],
        )
        classification = (
            self.classification(service, match.group(2)) if match and match.group(1) == service else None
        )
        if service not in self.services or classification is None:
            return self._error(
                400,
                "InvalidProblemClassificationId",
                "The problem classification does not belong to the service.",
            )
        workspace = properties.get("fileWorkspaceName")
        if workspace and (subscription["subscriptionId"], workspace) not in self.workspaces:
            return self._error(400, "InvalidParameter", f"File workspace '{workspace}' does not exist.")
        now = self.clock()
        self._numbers += 1
        ticket = SimTicket(
            subscription=subscription["subscriptionId"],
            name=name,
            properties={k: v for k, v in properties.items() if k not in ("status", "supportTicketId")},
            created=now,
            provisioned_at=now + self.provisioning if self.async_create else now,
            number=f"0{now:%y%m%d}1000{self._numbers:05d}",
            operation=str(uuid.uuid4()),
        )
        if classification.get("retired"):
            ticket.failed = "The problem classification has been retired; choose another one."
        self.tickets[(ticket.subscription, name)] = ticket
        self.operations[ticket.operation] = (ticket.subscription, name)
        if not self.async_create and not ticket.failed:
            return self._ok(self._render(ticket))
        base = str(request.base_url).rstrip("/")
        root = f"{base}/subscriptions/{ticket.subscription}/providers/Microsoft.Support"
        return self._ok(
            None,
            status=202,
            headers={
                "azure-asyncoperation": (
                    f"{root}/operationsStatus/{ticket.operation}?api-version={API_VERSION}"
                ),
                "location": f"{root}/operationResults/{ticket.operation}?api-version={API_VERSION}",
                "retry-after": "10",
            },
        )

    async def _update(self, request: Request, ticket: SimTicket) -> JSONResponse:
        body, refused = await self._json_body(request)
        if refused is not None:
            return refused
        assert body is not None
        unknown = set(body) - {
            "severity",
            "status",
            "contactDetails",
            "advancedDiagnosticConsent",
            "secondaryConsent",
        }
        if unknown:
            return self._error(400, "InvalidParameter", f"Unknown property '{sorted(unknown)[0]}'.")
        self._advance(ticket)
        if "severity" in body:
            if body["severity"] not in SEVERITIES:
                return self._error(400, "InvalidParameter", f"Severity '{body['severity']}' is not valid.")
            if ticket.engineer and body["severity"] != ticket.properties.get("severity"):
                return self._error(
                    400,
                    "SeverityUpdateNotAllowed",
                    "The severity cannot be changed while a support engineer works on the ticket; "
                    "ask the engineer by adding a communication.",
                )
            ticket.properties["severity"] = body["severity"]
        if "status" in body:
            if body["status"] not in ("open", "closed"):
                return self._error(400, "InvalidParameter", "Status must be open or closed.")
            ticket.status = "Open" if body["status"] == "open" else "Closed"
        return self._ok(self._render(ticket))

    async def _operation(self, request: Request) -> JSONResponse:
        _, refused = self._caller(request)
        if refused is not None:
            return refused
        key = self.operations.get(request.path_params["op"])
        if key is None:
            return self._error(404, "OperationNotFound", "The operation does not exist.")
        ticket = self.tickets[key]
        if ticket.failed:
            return self._ok(
                {
                    "status": "Failed",
                    "error": {"code": "InvalidProblemClassificationId", "message": ticket.failed},
                }
            )
        done = self.clock() >= ticket.provisioned_at
        return self._ok({"status": "Succeeded" if done else "InProgress"})

    # -- communications -----------------------------------------------------------------
    def _communication(
        self,
        ticket: SimTicket,
        name: str,
        subject: str,
        body: str,
        sender: str,
        direction: str,
        when: datetime,
    ) -> dict[str, Any]:
        return {
            "id": f"{self._root(ticket)}/supportTickets/{ticket.name}/communications/{name}",
            "name": name,
            "type": "Microsoft.Support/communications",
            "properties": {
                "subject": subject,
                "body": body,
                "communicationType": "web",
                "communicationDirection": direction,
                "sender": sender,
                "createdDate": _stamp(when),
            },
        }

    def _live_ticket(self, subscription: dict[str, Any], name: str) -> SimTicket | None:
        ticket = self.tickets.get((subscription["subscriptionId"], name))
        if ticket is None or ticket.failed:
            return None
        self._advance(ticket)
        return ticket

    # One branch per refusal the real API documents, in its order: splitting would hide the list.
    async def _communications(self, request: Request) -> JSONResponse:  # noqa: C901
        subscription, refused = self._caller(request)
        if refused is not None:
            return refused
        assert subscription is not None
        ticket = self._live_ticket(subscription, request.path_params["name"])
        if ticket is None:
            return self._error(404, "ResourceNotFound", "The support ticket was not found.")
        try:
            top = int(request.query_params.get("$top", "10"))
        except ValueError:
            return self._error(400, "BadRequest", "$top must be a number.")
        if not 1 <= top <= 10:
            return self._error(400, "BadRequest", "$top must be between 1 and 10 for communications.")
        items = sorted(ticket.communications, key=lambda c: c["properties"]["createdDate"], reverse=True)
        query = request.query_params.get("$filter")
        if query:
            for clause in re.split(r"\s+and\s+", query.strip(), flags=re.I):
                created = re.fullmatch(r"createdDate\s+(ge|gt)\s+(\S+)", clause.strip())
                kind = re.fullmatch(r"communicationType\s+eq\s+'(\w+)'", clause.strip())
                if created:
                    limit = created.group(2)
                    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?", limit):
                        return self._error(400, "BadRequest", f"Invalid createdDate '{limit}'.")
                    op = created.group(1)
                    items = [
                        c
                        for c in items
                        if (
                            c["properties"]["createdDate"] >= limit
                            if op == "ge"
                            else c["properties"]["createdDate"] > limit
                        )
                    ]
                elif kind:
                    items = [c for c in items if c["properties"]["communicationType"] == kind.group(1)]
                else:
                    return self._error(400, "BadRequest", f"Unsupported $filter clause '{clause}'.")
        size = min(top, self.page_size or 10)
        start = 0
        token = request.query_params.get("$skipToken")
        if token:
            try:
                owner, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
                start = int(offset)
            except (ValueError, binascii.Error):
                return self._error(400, "BadRequest", "Invalid $skipToken.")
            if owner != ticket.name:
                return self._error(400, "BadRequest", "The $skipToken belongs to another ticket.")
        page: dict[str, Any] = {"value": items[start : start + size]}
        if start + size < len(items):
            token = base64.urlsafe_b64encode(f"{ticket.name}:{start + size}".encode()).decode()
            base = str(request.base_url).rstrip("/")
            params = f"api-version={API_VERSION}&$top={top}&$skipToken={quote(token)}"
            if query:
                params += f"&$filter={quote(query)}"
            page["nextLink"] = f"{base}{request.url.path}?{params}"
        return self._ok(page)

    async def _communication_route(self, request: Request) -> JSONResponse:
        subscription, refused = self._caller(request)
        if refused is not None:
            return refused
        assert subscription is not None
        ticket = self._live_ticket(subscription, request.path_params["name"])
        if ticket is None:
            return self._error(404, "ResourceNotFound", "The support ticket was not found.")
        name = request.path_params["comm"]
        existing = next((c for c in ticket.communications if c["name"] == name), None)
        if request.method == "GET":
            if existing is None:
                return self._error(404, "ResourceNotFound", f"Communication '{name}' was not found.")
            return self._ok(existing)
        if existing is not None:
            return self._error(409, "Conflict", f"A communication named '{name}' already exists.")
        if ticket.status == "Closed":
            return self._error(
                400, "TicketClosed", "Communications cannot be added to a closed support ticket."
            )
        body, refused = await self._json_body(request)
        if refused is not None:
            return refused
        assert body is not None
        properties = body.get("properties") or {}
        for required in ("subject", "body"):
            if not properties.get(required):
                return self._error(400, "InvalidParameter", f"The '{required}' property is required.")
        if not properties.get("sender"):
            # Required when the caller is a service principal, which our callers always are.
            return self._error(
                400, "InvalidParameter", "The 'sender' property is required for service principals."
            )
        created = self._communication(
            ticket,
            name,
            properties["subject"],
            properties["body"],
            properties["sender"],
            "outbound",
            self.clock(),
        )
        ticket.communications.append(created)
        return self._ok(created)

    # -- files --------------------------------------------------------------------------
    async def _workspace(self, request: Request) -> JSONResponse:
        subscription, refused = self._caller(request)
        if refused is not None:
            return refused
        assert subscription is not None
        name = request.path_params["ws"]
        key = (subscription["subscriptionId"], name)
        if request.method == "GET":
            if key not in self.workspaces:
                return self._error(404, "ResourceNotFound", "File workspace not found.")
        elif not re.fullmatch(r"[0-9a-zA-Z_\-. ]+", name):
            return self._error(400, "InvalidResourceName", f"Invalid file workspace name '{name}'.")
        elif key in self.workspaces:
            return self._error(409, "Conflict", f"File workspace '{name}' already exists.")
        else:
            self.workspaces[key] = {}
        now = self.clock()
        return self._ok(
            {
                "id": f"/subscriptions/{key[0]}/providers/Microsoft.Support/fileWorkspaces/{name}",
                "name": name,
                "type": "Microsoft.Support/fileWorkspaces",
                "properties": {"createdOn": _stamp(now), "expirationTime": _stamp(now + timedelta(days=365))},
            },
            status=201 if request.method == "PUT" else 200,
        )

    async def _file(self, request: Request) -> JSONResponse:
        subscription, refused = self._caller(request)
        if refused is not None:
            return refused
        assert subscription is not None
        files = self.workspaces.get((subscription["subscriptionId"], request.path_params["ws"]))
        if files is None:
            return self._error(404, "ResourceNotFound", "File workspace not found.")
        name = request.path_params["file"]
        if name in files:
            return self._error(409, "Conflict", f"File '{name}' already exists.")
        body, refused = await self._json_body(request)
        if refused is not None:
            return refused
        assert body is not None
        props = body.get("properties") or {}
        try:
            size, chunk, chunks = (
                int(props["fileSize"]),
                int(props["chunkSize"]),
                int(props["numberOfChunks"]),
            )
        except (KeyError, TypeError, ValueError):
            return self._error(
                400, "InvalidParameter", "fileSize, chunkSize and numberOfChunks are required."
            )
        if size > 4 * 1024 * 1024 or chunks < 1 or chunk < 1 or (chunks - 1) * chunk >= max(size, 1):
            return self._error(
                400, "InvalidParameter", "Inconsistent file size, chunk size and number of chunks."
            )
        files[name] = {"size": size, "chunk": chunk, "chunks": chunks, "data": {}}
        return self._ok(
            {
                "name": name,
                "type": "Microsoft.Support/files",
                "properties": {**props, "createdOn": _stamp(self.clock())},
            },
            status=201,
        )

    async def _upload(self, request: Request) -> Response:
        subscription, refused = self._caller(request)
        if refused is not None:
            return refused
        assert subscription is not None
        files = self.workspaces.get((subscription["subscriptionId"], request.path_params["ws"])) or {}
        declared = files.get(request.path_params["file"])
        if declared is None:
            return self._error(404, "ResourceNotFound", "File not found; create it first.")
        body, refused = await self._json_body(request)
        if refused is not None:
            return refused
        assert body is not None
        index = body.get("chunkIndex")
        try:
            content = base64.b64decode(str(body.get("content", "")), validate=True)
        except (binascii.Error, ValueError):
            return self._error(400, "InvalidParameter", "content must be base64.")
        if (
            not isinstance(index, int)
            or not 0 <= index < declared["chunks"]
            or len(content) > declared["chunk"]
        ):
            return self._error(400, "InvalidParameter", "Invalid chunk index or chunk too large.")
        declared["data"][index] = content
        return Response(status_code=204, headers={"x-ms-request-id": str(uuid.uuid4())})

    def file_content(self, workspace: str, name: str) -> bytes | None:
        """For tests: an uploaded file as Microsoft would assemble it."""
        files = self.workspaces.get((self.subscription_id, workspace)) or {}
        declared = files.get(name)
        if declared is None or len(declared["data"]) != declared["chunks"]:
            return None
        return b"".join(declared["data"][i] for i in range(declared["chunks"]))


__all__ = ["AzureSupportSimulator"]
