"""A Gandi API v5 simulator (domains, organisations), as an adversary.

- Auth: `Authorization: Bearer <PAT>` (or the deprecated `Apikey <key>` when `api_key` is
  given); anything else, a revoked or an expired PAT: 401 with Gandi's generic body
  `{"code", "message", "object", "cause"}`. A PAT lacking the renew permission
  (`can_renew=False`) gets 403 on POST renew.
- Domains of the organisation (`sharing_id` filters the list; another organisation's
  domain is readable by name but owned by its `sharing_space`), 1-based `page`/`per_page`
  pages with a `Total-Count` header (`total_count_header=False` drops it).
- `GET .../renew` (durations, prohibited), `GET /domain/check?processes=renew` (prices).
- `POST .../renew {"duration": n}`: JSON only; `Dry-Run: 1` checks and changes nothing
  (200 `{"status": "success"}`); a real renewal is accepted (202 `{"message": ...}`) and
  applied `renew_delay` seconds later: meanwhile the domain shows `pendingRenew` and its old
  expiry. A second renewal is accepted too (Gandi queues it): both are applied, and
  `duplicate_renewals()` lists the expiry that was visible to both senders. Validation errors are 400
  `{"status": "error", "errors": [{"location", "name", "description"}]}`; a
  `clientRenewProhibited` domain is refused; a registration past ten years is refused.
- Rate limit: `requests_per_minute` (Gandi's is 1000 per IP), 429 with `Retry-After` when
  `retry_after` is set, without it otherwise.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from hub.sdk.capabilities import Capability
from hub.sdk.testing import Clock, FaultPlan, Simulator

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "/v5"
MAX_YEARS = 10
NAMES = {
    400: ("HTTPBadRequest", "Bad Request"),
    401: ("HTTPUnauthorized", "Unauthorized"),
    403: ("HTTPForbidden", "Forbidden"),
    404: ("HTTPNotFound", "Not Found"),
    409: ("HTTPConflict", "Conflict"),
    429: ("HTTPTooManyRequests", "Too Many Requests"),
}


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass
class SimDomain:
    fqdn: str
    owner: str
    expires: datetime
    created: datetime
    status: list[str]
    autorenew: bool
    pending: list[tuple[datetime, int]] = field(default_factory=list)  # (due, years)


class GandiSimulator(Simulator):
    slug: ClassVar[str] = "gandi"
    data_paths: ClassVar[str] = r"^/v5/"

    def __init__(
        self,
        *,
        faults: FaultPlan | None = None,
        page_size: int | None = None,
        clock: Clock | None = None,
        renew_delay: float = 60.0,
        requests_per_minute: int | None = None,
        retry_after: str | None = None,
        api_key: str | None = None,
        pat_expires_in: float | None = None,
        can_renew: bool = True,
        total_count_header: bool = True,
    ) -> None:
        super().__init__(faults=faults, page_size=page_size, clock=clock)
        raw = json.loads((FIXTURES / "domains.json").read_text())
        self.organization: dict[str, str] = raw["organization"]
        self.other_organization: dict[str, str] = raw["other_organization"]
        self.sharing_id = self.organization["id"]
        self.token: str = raw["token"]
        self.api_key = api_key
        self.renew_delay = renew_delay
        self.requests_per_minute = requests_per_minute
        self.retry_after = retry_after
        self.can_renew = can_renew
        self.total_count_header = total_count_header
        now = self.clock()
        self.pat_expires_at = now + timedelta(seconds=pat_expires_in) if pat_expires_in is not None else None
        self.prices = {tld: Decimal(price) for tld, price in raw["prices"].items()}
        midnight = datetime.combine(now.date(), datetime.min.time(), UTC)
        self.domains: dict[str, SimDomain] = {}
        for item in raw["domains"]:
            owner = self.other_organization["id"] if item.get("other") else self.sharing_id
            self.domains[item["fqdn"]] = SimDomain(
                item["fqdn"],
                owner,
                midnight + timedelta(days=item["expiresInDays"], hours=9, minutes=31, seconds=7),
                midnight - timedelta(days=item["createdDaysAgo"]),
                list(item["status"]),
                item["autorenew"],
            )
        self.renewals_per_term: Counter[tuple[str, date]] = Counter()
        self.dry_runs = 0
        self._recent: dict[str, list[datetime]] = defaultdict(list)

    # -- test controls ---------------------------------------------------------------
    def revoke_tokens(self) -> None:
        self.token = "pat_revoked-" + self.token[-12:]

    def duplicate_renewals(self) -> list[tuple[str, date]]:
        """(domain, expiry renewed) renewed more than once: must stay empty."""
        return [key for key, n in self.renewals_per_term.items() if n > 1]

    def expiry_of(self, fqdn: str) -> date:
        return self._advanced(self.domains[fqdn]).expires.date()

    # -- harness contract ------------------------------------------------------------
    def config(self, base_url: str, *, valid_credentials: bool = True) -> dict[str, Any]:
        return {
            "token": self.token if valid_credentials else "pat_00000000-wrong-token",
            "sharing_id": self.sharing_id,
            "api_url": f"{base_url}{BASE}",
        }

    def invalid_configs(self, base_url: str) -> list[dict[str, Any]]:
        good = self.config(base_url)
        return [
            {k: v for k, v in good.items() if k != "token"},
            {**good, "sharing_id": "not an id!"},
            {**good, "auth_scheme": "basic"},
            {**good, "api_url": "gopher://api.gandi.net"},
            {**good, "page_size": 1000},
            {**good, "organization": "unknown field"},
        ]

    def sample_arguments(self) -> dict[Capability, dict[str, Any]]:
        domain = self.domains["client-a.com"]
        return {
            Capability.renewal: {
                "subscription_external_id": domain.fqdn,
                "tenant_external_id": self.sharing_id,
                "product_external_id": "domain:com",
                "order_path": f"{BASE}/domain/domains/{domain.fqdn}/renew",
                "quantity": 1,
                "term_months": 12,
                "expected_current_end": self.expiry_of(domain.fqdn),
            },
            Capability.term_readback: {
                "ref": domain.fqdn,
                "unknown_ref": "no-such-domain.com",
                "ends_on": self.expiry_of(domain.fqdn),
            },
        }

    def error_body(self, status: int) -> dict[str, Any]:
        kind, cause = NAMES.get(
            status, ("HTTPInternalServerError" if status >= 500 else "HTTPError", "Error")
        )
        return {"code": status, "message": f"simulated {status}", "object": kind, "cause": cause}

    # -- the API ---------------------------------------------------------------------
    def build_app(self) -> ASGIApp:
        return Starlette(
            routes=[
                Route(
                    f"{BASE}/organization/organizations", self._guard(self._organizations), methods=["GET"]
                ),
                Route(f"{BASE}/domain/domains", self._guard(self._list), methods=["GET"]),
                Route(f"{BASE}/domain/domains/{{fqdn}}", self._guard(self._details), methods=["GET"]),
                Route(
                    f"{BASE}/domain/domains/{{fqdn}}/renew", self._guard(self._renew), methods=["GET", "POST"]
                ),
                Route(f"{BASE}/domain/check", self._guard(self._check), methods=["GET"]),
            ]
        )

    def _generic(self, status: int, message: str) -> JSONResponse:
        return JSONResponse({**self.error_body(status), "message": message}, status_code=status)

    def _invalid(self, name: str, description: str, location: str = "body") -> JSONResponse:
        body = {
            "status": "error",
            "errors": [{"location": location, "name": name, "description": description}],
        }
        return JSONResponse(body, status_code=400)

    def _guard(self, handler: Any) -> Any:
        async def guarded(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            scheme, _, value = header.partition(" ")
            now = self.clock()
            valid = (scheme.lower() == "bearer" and value == self.token) or (
                self.api_key is not None and scheme.lower() == "apikey" and value == self.api_key
            )
            if valid and scheme.lower() == "bearer" and self.pat_expires_at and now >= self.pat_expires_at:
                valid = False
            if not valid:
                return self._generic(
                    401, "The server could not verify that you authorized to access the document"
                )
            if self._over_limit(value):
                headers = {"Retry-After": self.retry_after} if self.retry_after else {}
                body = {**self.error_body(429), "message": "Too many requests: 1000 per minute per IP"}
                return JSONResponse(body, status_code=429, headers=headers)
            response: Response = await handler(request)
            return response

        return guarded

    def _over_limit(self, key: str) -> bool:
        if not self.requests_per_minute:
            return False
        now = self.clock()
        recent = [t for t in self._recent[key] if now - t < timedelta(minutes=1)]
        self._recent[key] = recent
        if len(recent) >= self.requests_per_minute:
            return True
        recent.append(now)
        return False

    def _advanced(self, domain: SimDomain) -> SimDomain:
        now = self.clock()
        while domain.pending and domain.pending[0][0] <= now:
            _, years = domain.pending.pop(0)
            domain.expires = datetime.combine(
                add_years(domain.expires.date(), years), domain.expires.timetz()
            )
        if not domain.pending and "pendingRenew" in domain.status:
            domain.status.remove("pendingRenew")
        return domain

    @staticmethod
    def _stamp(value: datetime) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _json(self, domain: SimDomain, *, listing: bool) -> dict[str, Any]:
        self._advanced(domain)
        tld = domain.fqdn.rsplit(".", 1)[-1]
        body: dict[str, Any] = {
            "fqdn": domain.fqdn,
            "fqdn_unicode": domain.fqdn,
            "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, domain.fqdn)),
            "tld": tld,
            "status": list(domain.status),
            "dates": {
                "created_at": self._stamp(domain.created),
                "registry_created_at": self._stamp(domain.created),
                "registry_ends_at": self._stamp(domain.expires),
                "updated_at": self._stamp(self.clock()),
            },
            "nameservers": [],
            "tags": [],
            "href": f"https://api.gandi.net/v5/domain/domains/{domain.fqdn}",
        }
        if listing:
            body["autorenew"] = domain.autorenew
            body["owner"] = "MSP Example"
        else:
            body["autorenew"] = {
                "enabled": domain.autorenew,
                "duration": 1,
                "dates": [],
                "org_id": domain.owner,
            }
            name = (
                self.organization["name"]
                if domain.owner == self.sharing_id
                else self.other_organization["name"]
            )
            body["sharing_space"] = {"id": domain.owner, "name": name, "type": "organization"}
            body["services"] = ["gandilivedns"]
        return body

    async def _organizations(self, request: Request) -> Response:
        return JSONResponse([{**self.organization, "corporate": True, "reseller": False}])

    async def _list(self, request: Request) -> Response:
        q = request.query_params
        try:
            per_page = int(q.get("per_page", "100"))
            page = int(q.get("page", "1"))
        except ValueError:
            return self._invalid("page", "page and per_page must be integers", "querystring")
        if per_page < 1 or page < 1:
            return self._invalid("per_page", "must be 1 or more", "querystring")
        if self.page_size:
            per_page = min(per_page, self.page_size)  # a server may serve fewer than asked
        owner = q.get("sharing_id")
        names = sorted(d.fqdn for d in self.domains.values() if owner is None or d.owner == owner)
        chunk = names[(page - 1) * per_page : page * per_page]
        headers = {"Total-Count": str(len(names))} if self.total_count_header else {}
        return JSONResponse([self._json(self.domains[n], listing=True) for n in chunk], headers=headers)

    def _find(self, request: Request) -> SimDomain | None:
        return self.domains.get(request.path_params["fqdn"].lower().rstrip("."))

    async def _details(self, request: Request) -> Response:
        domain = self._find(request)
        if domain is None:
            return self._generic(404, "The resource could not be found.")
        return JSONResponse(self._json(domain, listing=False))

    def _renew_info(self, domain: SimDomain) -> dict[str, Any]:
        self._advanced(domain)
        room = MAX_YEARS - max(0, (domain.expires.date() - self.clock().date()).days // 365)
        prohibited = "clientRenewProhibited" in domain.status or room < 1
        return {
            "renew": {
                "begins_at": self._stamp(domain.expires - timedelta(days=365)),
                "durations": list(range(1, max(1, room) + 1)),
                "minimum": 1,
                "maximum": max(1, room),
                "prohibited": prohibited,
            },
            "contracts": [],
        }

    async def _renew(self, request: Request) -> Response:
        domain = self._find(request)
        if domain is None:
            return self._generic(404, "The resource could not be found.")
        if request.method == "GET":
            return JSONResponse(self._renew_info(domain))
        if not request.headers.get("content-type", "").startswith("application/json"):
            return self._generic(400, "Content-Type must be application/json")
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._invalid("body", "not valid JSON")
        duration = body.get("duration") if isinstance(body, dict) else None
        if not isinstance(duration, int) or isinstance(duration, bool) or duration < 1:
            return self._invalid("duration", "duration is required and must be a positive integer")
        if domain.owner != request.query_params.get("sharing_id", domain.owner):
            return self._generic(403, "Access was denied to this resource.")
        if not self.can_renew:
            return self._generic(403, "This token does not allow domain renewal.")
        info = self._renew_info(domain)["renew"]
        if "clientRenewProhibited" in domain.status:
            return self._invalid(
                "fqdn", "the domain's status prohibits its renewal (clientRenewProhibited)", "path"
            )
        if duration not in info["durations"]:
            return self._invalid("duration", f"duration must be one of {info['durations']}")
        if request.headers.get("dry-run") == "1":
            self.dry_runs += 1
            return JSONResponse({"status": "success"})
        now = self.clock()
        # Counted by the expiry the sender could see: a renewal queued behind a pending one
        # extends a later term, but it was sent for the same one (a blind resend).
        self.renewals_per_term[(domain.fqdn, domain.expires.date())] += 1
        domain.pending.append((now + timedelta(seconds=self.renew_delay), duration))
        if "pendingRenew" not in domain.status:
            domain.status.append("pendingRenew")
        self._advanced(domain)  # with no delay, applied at once
        return JSONResponse({"message": "The domain is being renewed."}, status_code=202)

    async def _check(self, request: Request) -> Response:
        name = request.query_params.get("name", "").lower()
        tld = name.rsplit(".", 1)[-1] if "." in name else ""
        if not name or tld not in self.prices:
            return self._invalid("name", "unsupported or missing domain name", "querystring")
        currency = request.query_params.get("currency", "EUR")
        price = self.prices[tld]
        taxed = (price * Decimal("1.22")).quantize(Decimal("0.01"))
        product = {
            "name": name,
            "process": request.query_params.get("processes", "create"),
            "status": "available",
            "prices": [
                {
                    "duration_unit": "y",
                    "min_duration": 1,
                    "max_duration": MAX_YEARS,
                    "price_before_taxes": float(price),
                    "price_after_taxes": float(taxed),
                    "discount": False,
                }
            ],
            "taxes": [{"type": "service", "rate": 22, "name": "vat"}],
        }
        return JSONResponse(
            {"currency": currency, "grid": "A", "products": [product], "taxes": product["taxes"]}
        )


__all__ = ["GandiSimulator", "add_years"]
