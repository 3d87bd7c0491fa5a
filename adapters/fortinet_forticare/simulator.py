"""A FortiCloud token endpoint and FortiCare Asset Management API v3, as an adversary.

What it holds the adapter to (README, "verified and guessed" says which is which):

- Tokens: `POST /api/v1/oauth/token/` (the trailing slash matters: without it, an HTML
  404) with a JSON body `{username, password, client_id: "assetmanagement", grant_type:
  "password"}`; a form body or another grant is `invalid_request`; bad credentials are
  HTTP 400 `invalid_grant`; `lockout_after` failed sign-ins lock the API user out for
  `lockout_seconds` (every sign-in refused meanwhile, even the right one); tokens last
  `token_ttl` seconds and can be revoked (401 "Invalid security token.").
- Asset Management: every call a POST with a JSON body under `/ES/api/registration/v3/`,
  envelopes `{build, version, status, message, error{errorCode, message}, token}`, refusals
  as HTTP 400 with a negative `status` (or, with `errors_as_200=True`, as HTTP 200 with the
  refusal only in the body). `products/list` needs `serialNumber` (SQL LIKE pattern) or
  `expireBefore`, answers `assets: null` when nothing matches and pages with
  `pageNumber`/`totalPages`; `products/details` by serial; `licenses/register` of a code
  under a serial.
- Registration: an unknown serial or code is refused; a code registered once is refused
  ever after ("already been registered", with the generic error message "Failed"), to the
  same unit or another; a registered contract is listed on the unit at once, but the
  unit's entitlements move only `entitlement_delay` seconds later (then `on_registered`
  is told, e.g. a FortiOS simulator's `extend_services`, so the box can follow).
- Rate limit: `requests_per_minute` per token, 429 with `Retry-After: 60` or without it
  (`retry_after=None`).

`issue_code(sku, months)` adds a new unregistered code to the inventory: what a Pax8
simulator's `code_issuer` calls when it provisions a Fortinet bundle.
"""

from __future__ import annotations

import json
import math
import random
import re
import string
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from hub.sdk.capabilities import Capability
from hub.sdk.testing import Clock, FaultPlan, Simulator, TokenIssuer

FIXTURES = Path(__file__).parent / "fixtures"
API = "/ES/api/registration/v3"
TOKEN_PATH = "/api/v1/oauth/token/"
DEFAULT_PAGE = 20
UNKNOWN_SERIAL = "FGT61FTK0000ZZZZ"
UNKNOWN_CODE = "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZZ"
# Entitlement types a contract renews, by the bundle part of its SKU (FC-10-0060F-950-02-12:
# 950 = Unified Threat Protection, 247 = FortiCare Premium). Unknown bundles renew all.
BUNDLE_TYPES = {"950": {2, 11, 12, 21, 22, 23, 24}, "247": {1, 2, 11, 12}}
OnRegistered = Callable[[str, datetime], None]
"""(serial, new entitlement end) once FortiCare has applied a registration."""


@dataclass
class SimCode:
    code: str
    sku: str
    months: int
    registered_to: str | None = None
    contract_number: str | None = None


@dataclass
class SimUnit:
    serial: str
    model: str
    description: str
    registered: datetime
    entitlements: list[dict[str, Any]]
    contracts: list[dict[str, Any]] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {
            "serialNumber": self.serial,
            "productModel": self.model,
            "description": self.description,
            "registrationDate": self.registered.strftime("%Y-%m-%dT%H:%M:%S"),
            "status": "Registered",
            "isDecommissioned": False,
            "folderId": 0,
            "folderPath": "/My Assets",
            "productModelEoR": None,
            "productModelEoS": None,
            "warrantySupports": None,
            "assetGroups": [],
            "entitlements": [dict(e) for e in self.entitlements],
            "contracts": [dict(c) for c in self.contracts],
        }

    def latest_end(self, types: set[int] | None = None) -> date:
        ends = [
            date.fromisoformat(e["endDate"][:10])
            for e in self.entitlements
            if types is None or e["type"] in types
        ]
        return max(ends)


class FortiCareSimulator(Simulator):
    slug: ClassVar[str] = "fortinet_forticare"
    data_paths: ClassVar[str] = r"^/ES/api/registration/v3/"
    read_method: ClassVar[str] = "POST"

    def __init__(
        self,
        *,
        faults: FaultPlan | None = None,
        page_size: int | None = None,
        clock: Clock | None = None,
        token_ttl: int = 3600,
        entitlement_delay: float = 0.0,
        requests_per_minute: int | None = None,
        retry_after: str | None = "60",
        lockout_after: int = 5,
        lockout_seconds: float = 900.0,
        errors_as_200: bool = False,
        on_registered: OnRegistered | None = None,
        seed: int = 11,
    ) -> None:
        super().__init__(faults=faults, page_size=page_size, clock=clock)
        raw = json.loads((FIXTURES / "account.json").read_text())
        self.username: str = raw["username"]
        self.password: str = raw["password"]
        self.tokens = TokenIssuer(self.clock, token_ttl)
        self.entitlement_delay = entitlement_delay
        self.requests_per_minute = requests_per_minute
        self.retry_after = retry_after
        self.lockout_after = lockout_after
        self.lockout_seconds = lockout_seconds
        self.errors_as_200 = errors_as_200
        self.on_registered = on_registered
        self.failed_sign_ins: list[datetime] = []
        self.locked_until: datetime | None = None
        self.sign_ins = 0
        self.registrations: list[tuple[str, str]] = []  # (serial, code), in order
        self._rng = random.Random(seed)
        self._pending: list[tuple[datetime, str, set[int], int]] = []  # (due, serial, types, months)
        self._recent: dict[str, list[datetime]] = defaultdict(list)
        now = self.clock()
        self.today = now.date()
        self.units: dict[str, SimUnit] = {}
        for unit in raw["units"]:
            self.units[unit["serialNumber"]] = SimUnit(
                unit["serialNumber"],
                unit["productModel"],
                unit["description"],
                now - timedelta(days=unit["registeredDaysAgo"]),
                [self._entitlement(e) for e in unit["entitlements"]],
                [self._contract(c) for c in unit["contracts"]],
            )
        self.codes: dict[str, SimCode] = {
            c["code"]: SimCode(c["code"], c["sku"], c["months"]) for c in raw["codes"]
        }

    def _stamp(self, day: date) -> str:
        return f"{day.isoformat()}T00:00:00"

    def _entitlement(self, raw: dict[str, Any]) -> dict[str, Any]:
        end = self.today + timedelta(days=raw["endsInDays"])
        entry = {k: v for k, v in raw.items() if k != "endsInDays"}
        return {**entry, "startDate": self._stamp(end - timedelta(days=365)), "endDate": self._stamp(end)}

    def _contract(self, raw: dict[str, Any]) -> dict[str, Any]:
        end = self.today + timedelta(days=raw["endsInDays"])
        start = self.today - timedelta(days=raw["startedDaysAgo"])
        return {
            "contractNumber": raw["contractNumber"],
            "sku": raw["sku"],
            "terms": [
                {
                    "supportType": "Unified Threat Protection",
                    "startDate": self._stamp(start),
                    "endDate": self._stamp(end),
                }
            ],
        }

    # -- test controls ---------------------------------------------------------------
    def issue_code(self, sku: str, months: int) -> str:
        """A new, unregistered contract registration code (what Fortinet issues to the
        distributor for a bundle it sold)."""
        alphabet = string.ascii_uppercase + string.digits
        code = "-".join("".join(self._rng.choice(alphabet) for _ in range(n)) for n in (5, 5, 5, 5, 6))
        self.codes[code] = SimCode(code, sku, months)
        return code

    def add_unit(
        self,
        serial: str,
        model: str,
        ends_on: date,
        *,
        description: str = "",
        support_ends_on: date | None = None,
        sku: str | None = None,
    ) -> SimUnit:
        """A registered unit (how a demo seeds the MSP's own FortiGates): FortiGuard services
        and support ending `ends_on`, hardware support `support_ends_on` (default the same)."""
        hardware = support_ends_on or ends_on
        entitlements = [
            (5, "Advanced HW", 1, "Hardware", hardware),
            (6, "Web/Online", 2, "Firmware & General Updates", ends_on),
            (20, "Premium", 11, "Enhanced Support", ends_on),
            (20, "Premium", 12, "Telephone Support", ends_on),
            (6, "Web/Online", 21, "FortiGuard IPS & Application Control", ends_on),
            (6, "Web/Online", 22, "FortiGuard AntiVirus", ends_on),
            (6, "Web/Online", 23, "FortiGuard Web Filtering", ends_on),
            (6, "Web/Online", 24, "FortiGuard AntiSpam", ends_on),
        ]
        unit = SimUnit(
            serial.upper(),
            model,
            description,
            self.clock() - timedelta(days=400),
            [
                {
                    "level": level,
                    "levelDesc": level_desc,
                    "type": kind,
                    "typeDesc": kind_desc,
                    "startDate": self._stamp(end - timedelta(days=365)),
                    "endDate": self._stamp(end),
                }
                for level, level_desc, kind, kind_desc, end in entitlements
            ],
        )
        if sku:
            number = f"{self._rng.randint(1000, 9999)}TR{self._rng.randint(100000, 999999)}"
            terms = [
                {
                    "supportType": "Unified Threat Protection",
                    "startDate": self._stamp(ends_on - timedelta(days=365)),
                    "endDate": self._stamp(ends_on),
                }
            ]
            unit.contracts.append({"contractNumber": number, "sku": sku, "terms": terms})
        self.units[unit.serial] = unit
        return unit

    def revoke_tokens(self) -> None:
        self.tokens.revoke_all()

    # -- harness contract ------------------------------------------------------------
    def config(self, base_url: str, *, valid_credentials: bool = True) -> dict[str, Any]:
        return {
            "username": self.username,
            "password": self.password if valid_credentials else "forticloud-wrong-password-0",
            "token_url": f"{base_url}{TOKEN_PATH}",
            "api_url": f"{base_url}{API}",
        }

    def invalid_configs(self, base_url: str) -> list[dict[str, Any]]:
        good = self.config(base_url)
        return [
            {k: v for k, v in good.items() if k != "password"},
            {**good, "username": ""},
            {**good, "token_url": "ftp://customerapiauth.fortinet.com/"},
            {**good, "account_id": 0},
            {**good, "org": "unknown field"},
        ]

    def sample_arguments(self) -> dict[Capability, dict[str, Any]]:
        serials = list(self.units)
        first = self.units[serials[0]]
        free = [c.code for c in self.codes.values() if c.registered_to is None]
        return {
            Capability.warranty: {"service_tags": [serials[0], serials[1], UNKNOWN_SERIAL]},
            Capability.term_readback: {
                "ref": first.serial,
                "unknown_ref": UNKNOWN_SERIAL,
                "ends_on": self._advanced(first).latest_end(),
            },
            Capability.registration: {
                "serial": serials[0],
                "other_serial": serials[1],
                "contract_code": free[0],
                "second_code": free[1],
                "unknown_code": UNKNOWN_CODE,
                "unknown_serial": UNKNOWN_SERIAL,
                "register_path": f"{API}/licenses/register",
            },
        }

    def error_body(self, status: int) -> dict[str, Any]:
        return self._envelope(
            status=-1,
            message="Too many requests" if status == 429 else "Internal error",
            error={"errorCode": 900 + status % 100, "message": f"simulated {status}"},
        )

    # -- the API ---------------------------------------------------------------------
    def build_app(self) -> ASGIApp:
        return Starlette(
            routes=[
                Route(TOKEN_PATH, self._token, methods=["POST"]),
                Route(TOKEN_PATH.rstrip("/"), self._no_slash, methods=["POST"]),
                Route(f"{API}/products/list", self._guard(self._products_list), methods=["POST"]),
                Route(f"{API}/products/details", self._guard(self._products_details), methods=["POST"]),
                Route(f"{API}/licenses/register", self._guard(self._register), methods=["POST"]),
            ]
        )

    def _envelope(self, **fields: Any) -> dict[str, Any]:
        return {"build": "1.0.0", "version": "3.0", "token": None, "error": None, **fields}

    def _refuse(
        self, code: int, message: str, *, status: int = -1, generic: str | None = None
    ) -> JSONResponse:
        body = self._envelope(
            status=status, message=generic or message, error={"errorCode": code, "message": message}
        )
        return JSONResponse(body, status_code=200 if self.errors_as_200 else 400)

    async def _no_slash(self, request: Request) -> Response:
        return HTMLResponse("<html><body><h1>Not Found</h1></body></html>", status_code=404)

    async def _token(self, request: Request) -> Response:
        def deny(error: str, description: str, status: int = 400) -> JSONResponse:
            return JSONResponse({"error": error, "error_description": description}, status_code=status)

        now = self.clock()
        if not request.headers.get("content-type", "").startswith("application/json"):
            return deny("invalid_request", "Request body must be JSON.")
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return deny("invalid_request", "Malformed JSON.")
        if not isinstance(body, dict) or body.get("grant_type") != "password":
            return deny("unsupported_grant_type", "Only the password grant is supported.")
        if body.get("client_id") != "assetmanagement":
            return deny("invalid_client", "Invalid client_id parameter value.")
        if self.locked_until is not None and now < self.locked_until:
            return deny("invalid_grant", "Too many failed attempts: the API user is locked.")
        if body.get("username") != self.username or body.get("password") != self.password:
            window = now - timedelta(minutes=10)
            self.failed_sign_ins = [t for t in self.failed_sign_ins if t > window] + [now]
            if len(self.failed_sign_ins) >= self.lockout_after:
                self.locked_until = now + timedelta(seconds=self.lockout_seconds)
            return deny("invalid_grant", "Invalid credentials given.")
        self.sign_ins += 1
        value, ttl = self.tokens.issue(self.username)
        return JSONResponse(
            {
                "access_token": value,
                "expires_in": ttl,
                "token_type": "Bearer",
                "scope": "read write",
                "refresh_token": self.issue_code("REFRESH", 0).replace("-", "").lower(),
                "message": "successfully authenticated",
                "status": "success",
            }
        )

    def _guard(self, handler: Any) -> Any:
        async def guarded(request: Request) -> Response:
            token = self.tokens.check(request.headers.get("authorization"))
            if token is None:
                body = self._envelope(
                    status=-1,
                    message="Invalid incoming request.",
                    error={"errorCode": 201, "message": "Invalid security token."},
                )
                return JSONResponse(body, status_code=401)
            if self._over_limit(token.subject):
                headers = {"Retry-After": self.retry_after} if self.retry_after else {}
                body = self._envelope(status=-1, message="Rate limit exceeded: 100 calls per minute.")
                return JSONResponse(body, status_code=429, headers=headers)
            if not request.headers.get("content-type", "").startswith("application/json"):
                return self._refuse(100, "Content-Type must be application/json.")
            try:
                payload = json.loads(await request.body())
            except (json.JSONDecodeError, UnicodeDecodeError):
                return self._refuse(100, "Malformed request body.")
            if not isinstance(payload, dict):
                return self._refuse(100, "Request body must be an object.")
            self._apply_pending()
            response: Response = await handler(payload)
            return response

        return guarded

    def _over_limit(self, subject: str) -> bool:
        if not self.requests_per_minute:
            return False
        now = self.clock()
        recent = [t for t in self._recent[subject] if now - t < timedelta(minutes=1)]
        self._recent[subject] = recent
        if len(recent) >= self.requests_per_minute:
            return True
        recent.append(now)
        return False

    def apply_due(self) -> None:
        """FortiCare's backend applies registrations on its own schedule, whether or not
        anyone reads FortiCare: a test world whose other vendors depend on it (the box's
        FortiGuard expiry) calls this as time passes."""
        self._apply_pending()

    def _apply_pending(self) -> None:
        now = self.clock()
        due = [p for p in self._pending if p[0] <= now]
        self._pending = [p for p in self._pending if p[0] > now]
        for _, serial, types, months in due:
            unit = self.units[serial]
            covered = [e for e in unit.entitlements if e["type"] in types] or unit.entitlements
            new_end = date.min
            for entry in covered:
                current = date.fromisoformat(entry["endDate"][:10])
                start = max(current, now.date())
                end = start + timedelta(days=round(months * 365 / 12))
                entry["startDate"], entry["endDate"] = self._stamp(start), self._stamp(end)
                new_end = max(new_end, end)
            if self.on_registered is not None:
                self.on_registered(serial, datetime.combine(new_end, datetime.min.time(), UTC))

    def _advanced(self, unit: SimUnit) -> SimUnit:
        self._apply_pending()
        return unit

    @staticmethod
    def _like(pattern: str) -> re.Pattern[str]:
        parts = [".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern]
        return re.compile("^" + "".join(parts) + "$", re.IGNORECASE)

    async def _products_list(self, payload: dict[str, Any]) -> Response:
        pattern = payload.get("serialNumber")
        expire_before = payload.get("expireBefore")
        if not pattern and not expire_before:
            return self._refuse(
                101,
                "Both serialNumber and expireBefore cannot be empty at the same time.",
                generic="Invalid incoming request.",
            )
        if payload.get("status", "Registered") not in ("Registered", "Pending"):
            return self._refuse(102, "status must be Registered or Pending.")
        units = sorted(self.units.values(), key=lambda u: u.serial)
        if pattern:
            like = self._like(str(pattern))
            units = [u for u in units if like.match(u.serial)]
        if expire_before:
            try:
                cutoff = datetime.fromisoformat(str(expire_before)).date()
            except ValueError:
                return self._refuse(103, "expireBefore must be an ISO 8601 date time.")
            units = [
                u
                for u in units
                if any(date.fromisoformat(e["endDate"][:10]) < cutoff for e in u.entitlements)
            ]
        if payload.get("status") == "Pending":
            units = []
        size = self.page_size or DEFAULT_PAGE
        try:
            number = int(payload.get("pageNumber", 1))
        except (TypeError, ValueError):
            return self._refuse(104, "pageNumber must be a number.")
        total = math.ceil(len(units) / size)
        chunk = units[(number - 1) * size : number * size] if number >= 1 else []
        body = self._envelope(
            status=0,
            message="Request processed successfully",
            assets=[u.json() for u in chunk] or None,  # null, not [], when nothing matches
            pageNumber=number,
            totalPages=total,
        )
        return JSONResponse(body)

    async def _products_details(self, payload: dict[str, Any]) -> Response:
        unit = self.units.get(str(payload.get("serialNumber", "")).upper())
        if unit is None:
            return self._refuse(302, "Serial number is invalid or not registered in this account.")
        return JSONResponse(self._envelope(status=0, message="Success", assetDetails=unit.json()))

    async def _register(self, payload: dict[str, Any]) -> Response:
        code_text = str(payload.get("licenseRegistrationCode") or "").strip().upper()
        serial = str(payload.get("serialNumber") or "").strip().upper()
        if not code_text:
            return self._refuse(
                101, "licenseRegistrationCode is required.", generic="Invalid incoming request."
            )
        if not serial:
            return self._refuse(
                305, "A contract registration code must be registered under a product serial."
            )
        unit = self.units.get(serial)
        if unit is None:
            return self._refuse(302, f"Serial number {serial} is invalid or not registered in this account.")
        code = self.codes.get(code_text)
        if code is None:
            return self._refuse(303, "Invalid license registration code.")
        if code.registered_to is not None:
            # FortiCare says "Failed" in error.message and the reason only in message.
            return self._refuse(
                301, "Failed", status=2, generic="License registration code has already been registered."
            )
        code.registered_to = serial
        code.contract_number = f"{self._rng.randint(1000, 9999)}TR{self._rng.randint(100000, 999999)}"
        now = self.clock()
        end = unit.latest_end() + timedelta(days=round(code.months * 365 / 12))
        unit.contracts.append(
            {
                "contractNumber": code.contract_number,
                "sku": code.sku,
                # Our guess (README): the unit's details name the code a contract came from.
                "registrationCode": code.code,
                "terms": [
                    {
                        "supportType": "Unified Threat Protection",
                        "startDate": self._stamp(now.date()),
                        "endDate": self._stamp(end),
                    }
                ],
            }
        )
        bundle = code.sku.split("-")[3] if code.sku.count("-") >= 3 else ""
        types = BUNDLE_TYPES.get(bundle, {e["type"] for e in unit.entitlements})
        self._pending.append(
            (now + timedelta(seconds=self.entitlement_delay), serial, set(types), code.months)
        )
        self.registrations.append((serial, code.code))
        self._apply_pending()  # with no delay, the entitlements move at once
        return JSONResponse(
            self._envelope(status=0, message="Success", assetDetails={**unit.json(), "license": None})
        )


__all__ = ["API", "TOKEN_PATH", "UNKNOWN_CODE", "UNKNOWN_SERIAL", "FortiCareSimulator", "OnRegistered"]
