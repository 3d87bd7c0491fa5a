"""A FortiGate answering the FortiOS REST API monitor calls the adapter makes.

Emulates: the monitor envelope (`serial`, `version`, `build`, `results`, `status`,
`http_status` on errors); a static API token (Bearer header or `access_token` query) that
can be rotated (the old one then gets 401); the admin lockout (3 bad tokens from one
source address within 60 s lock that address for 60 s, each further lockout of an API
user doubling; during a lockout the token is not even checked and the call is refused);
licence statuses computed from the clock from epoch-second `expires`; an "offline" box
with an empty `available[]`; 424 for an unknown VDOM and 500 for a bad `scope`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
GOOD_TOKEN = "fgt-sim-token-8w3nq5rjz1h9sxb4"
EXPIRES_SOON_DAYS = 30


@dataclass
class Lockout:
    until: datetime
    count: int


class FortiosSimulator(Simulator):
    slug: ClassVar[str] = "fortinet_fortios"
    data_paths: ClassVar[str] = r"^/api/v2/monitor/"

    def __init__(
        self,
        *,
        faults: FaultPlan | None = None,
        page_size: int | None = None,
        clock: Clock | None = None,
        fixture: str = "fg60f",
        offline: bool = False,
        available: list[str] | None = None,
        lockout_threshold: int = 3,
        lockout_window: float = 60.0,
        lockout_duration: float = 60.0,
    ) -> None:
        # page_size is accepted for the common harness; these monitor calls do not paginate.
        super().__init__(faults=faults, page_size=page_size, clock=clock)
        self.data: dict[str, Any] = json.loads((FIXTURES / f"{fixture}.json").read_text())
        self.token = GOOD_TOKEN
        self.offline = offline
        self.lockout_threshold = lockout_threshold
        self.lockout_window = timedelta(seconds=lockout_window)
        self.lockout_duration = lockout_duration
        self.failures: dict[str, list[datetime]] = {}
        self.lockouts: dict[str, Lockout] = {}
        self.refused_during_lockout = 0
        now = self.clock()
        self.anchor = datetime(now.year, now.month, now.day, tzinfo=UTC)
        if available is not None:
            self.data["firmware"]["available"] = [self._image(v) for v in available]
        self._updates: list[tuple[datetime, tuple[str, ...], datetime]] = []  # (due, services, expires)

    # -- harness ------------------------------------------------------------------
    @property
    def serial(self) -> str:
        return str(self.data["serial"])

    def config(self, base_url: str, *, valid_credentials: bool = True) -> dict[str, Any]:
        return {
            "base_url": base_url,
            "api_token": self.token if valid_credentials else "fgt-wrong-token-000000000",
            "serial_number": self.serial,
        }

    def invalid_configs(self, base_url: str) -> list[dict[str, Any]]:
        good = self.config(base_url)
        return [
            {k: v for k, v in good.items() if k != "api_token"},
            {**good, "serial_number": "not a serial!"},
            {**good, "base_url": "ftp://firewall.example"},
            {**good, "ca_pem": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"},
            {**good, "unknown_field": 1},
        ]

    def sample_arguments(self) -> dict[Capability, dict[str, Any]]:
        days = int(self.data["licenses"]["antivirus"]["expires_in_days"])
        return {
            Capability.term_readback: {
                "ref": "antivirus",
                "unknown_ref": "no_such_service",
                "ends_on": (self.anchor + timedelta(days=days)).date(),
            }
        }

    def error_body(self, status: int) -> dict[str, Any]:
        body: dict[str, Any] = {"http_method": "GET", "status": "error", "http_status": status}
        if status not in (401, 403):
            body.update(serial=self.serial, version=self.data["version"], build=self.data["build"])
        return body

    def revoke_tokens(self) -> None:
        self.rotate_token("fgt-sim-token-rotated-4kq8m2")

    # -- test controls -------------------------------------------------------------
    def rotate_token(self, new_token: str) -> None:
        """An administrator regenerated the API user's key: the old one now gets 401."""
        self.token = new_token

    def extend_services(
        self, expires: datetime, services: tuple[str, ...] | None = None, *, after: float = 0.0
    ) -> None:
        """A contract was registered for this box: after `after` seconds (the box's next
        FortiGuard synchronisation) `license/status` shows `expires` for `services` (all
        dated ones when None)."""
        dated = tuple(k for k, v in self.data["licenses"].items() if "expires_in_days" in v)
        self._updates.append((self.clock() + timedelta(seconds=after), services or dated, expires))

    def _apply_updates(self) -> None:
        now = self.clock()
        due = [u for u in self._updates if u[0] <= now]
        self._updates = [u for u in self._updates if u[0] > now]
        for _, services, expires in due:
            days = (expires - self.anchor).days
            for name in services:
                entry = self.data["licenses"].get(name)
                if entry is not None and "expires_in_days" in entry:
                    entry["expires_in_days"] = days

    def locked_until(self, address: str = "127.0.0.1") -> datetime | None:
        lock = self.lockouts.get(address)
        return lock.until if lock and lock.until > self.clock() else None

    # -- the box -------------------------------------------------------------------
    def _image(self, version: str) -> dict[str, Any]:
        major, minor, patch = (int(part) for part in version.lstrip("v").split("."))
        return {
            "name": "FortiOS",
            "id": f"{major:02d}{minor:03d}{patch:03d}FIMG00123456",
            "version": f"v{major}.{minor}.{patch}",
            "major": major,
            "minor": minor,
            "patch": patch,
            "build": 1000 + major * 100 + minor * 10 + patch,
            "release-type": "GA",
            "maturity": "M",
            "source": "fortiguard",
            "platform-id": "FG60F",
        }

    def _envelope(self, request: Request, path: str, name: str, results: Any) -> JSONResponse:
        return JSONResponse(
            {
                "http_method": "GET",
                "results": results,
                "vdom": request.query_params.get("vdom", "root"),
                "path": path,
                "name": name,
                "action": "",
                "status": "success",
                "serial": self.serial,
                "version": self.data["version"],
                "build": self.data["build"],
            }
        )

    def _error(self, status: int) -> JSONResponse:
        return JSONResponse(self.error_body(status), status_code=status)

    def _authenticate(self, request: Request) -> Response | None:
        address = request.client.host if request.client else "unknown"
        now = self.clock()
        lock = self.lockouts.get(address)
        if lock and lock.until > now:
            # During a lockout FortiOS refuses without checking the token, and the
            # attempt counts neither as a success nor as a failure.
            self.refused_during_lockout += 1
            return self._error(401)
        header = request.headers.get("authorization", "")
        presented = header[7:].strip() if header.lower().startswith("bearer ") else None
        presented = presented or request.query_params.get("access_token")
        if presented == self.token:
            self.failures.pop(address, None)  # one success resets the count
            return None
        recent = [t for t in self.failures.get(address, []) if now - t < self.lockout_window] + [now]
        if len(recent) >= self.lockout_threshold:
            count = (lock.count if lock else 0) + 1
            duration = self.lockout_duration * 2 ** (count - 1)  # API users: each lockout doubles
            self.lockouts[address] = Lockout(until=now + timedelta(seconds=duration), count=count)
            recent = []
        self.failures[address] = recent
        return self._error(401)

    def _check_params(self, request: Request) -> Response | None:
        vdom = request.query_params.get("vdom")
        if vdom is not None and vdom != "root":
            return self._error(424)
        scope = request.query_params.get("scope")
        if scope is not None and scope not in ("global", "vdom"):
            return self._error(500)
        return None

    async def _guard(self, request: Request) -> Response | None:
        return self._authenticate(request) or self._check_params(request)

    async def system_status(self, request: Request) -> Response:
        if refused := await self._guard(request):
            return refused
        return self._envelope(request, "system", "status", self.data["status"])

    async def firmware(self, request: Request) -> Response:
        if refused := await self._guard(request):
            return refused
        results = copy.deepcopy(self.data["firmware"])
        if self.offline:
            results["available"] = []  # cannot reach FortiGuard: nothing offered
        return self._envelope(request, "system", "firmware", results)

    def _expiry(self, entry: dict[str, Any]) -> tuple[int, str]:
        expires = self.anchor + timedelta(days=int(entry.pop("expires_in_days")))
        now = self.clock()
        if expires <= now:
            status = "expired"
        elif expires <= now + timedelta(days=EXPIRES_SOON_DAYS):
            status = "expires_soon"
        else:
            status = "licensed"
        return int(expires.timestamp()), status

    async def license_status(self, request: Request) -> Response:
        if refused := await self._guard(request):
            return refused
        self._apply_updates()
        results: dict[str, Any] = {}
        for name, raw in self.data["licenses"].items():
            entry = copy.deepcopy(raw)
            if "expires_in_days" in entry:
                entry["expires"], entry["status"] = self._expiry(entry)
            if "last_update_days_ago" in entry:
                days = entry.pop("last_update_days_ago")
                entry["last_update"] = int((self.anchor - timedelta(days=days)).timestamp())
            for support in (entry.get("support") or {}).values():
                support["expires"], support["status"] = self._expiry(support)
            results[name] = entry
        return self._envelope(request, "license", "status", results)

    async def not_found(self, request: Request) -> Response:
        if refused := self._authenticate(request):
            return refused
        return self._error(404)

    def build_app(self) -> ASGIApp:
        return Starlette(
            routes=[
                Route("/api/v2/monitor/system/status", self.system_status),
                Route("/api/v2/monitor/system/status/", self.system_status),
                Route("/api/v2/monitor/system/firmware", self.firmware),
                Route("/api/v2/monitor/system/firmware/", self.firmware),
                Route("/api/v2/monitor/license/status", self.license_status),
                Route("/api/v2/monitor/license/status/", self.license_status),
                Route("/{path:path}", self.not_found),
            ]
        )
