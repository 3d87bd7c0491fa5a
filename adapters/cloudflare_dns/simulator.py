"""Cloudflare API v4 (the DNS part) as a stateful ASGI app.

Emulates: Bearer API tokens (`/user/tokens/verify`; 403 with code 9109 for a bad token on
other endpoints, 400 with 6003/6111 for a malformed Authorization header); the envelope
`success/errors/messages/result/result_info`; `page`/`per_page` with the real caps (zones
5-50, default 20; DNS records 5 and up, default 100; out of range -> 400 code 6008);
zones filtered by `name`, `status`, `account.id`; records filtered by `type`, `name`,
`content`; record names relative to the zone expanded; identical-record refusal (400,
81058) and CNAME conflicts (81053/81054); 404 code 81044 for a missing record; the rate
limit (1200 requests per 300 s per token, then every call is refused with 429 for 300 s)
with `Ratelimit`/`Ratelimit-Policy` on every answer and `retry-after` only on 429.

`page_size` (the harness's "small pages") caps what one page holds, but never below
Cloudflare's minimum of 5: a test asking for page size 1 gets pages of 5, as Cloudflare
would never serve fewer per page.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from hub.sdk.testing import Clock, FaultPlan, Simulator

FIXTURES = Path(__file__).parent / "fixtures"
PREFIX = "/client/v4"
GOOD_TOKEN = "cf-sim-token-Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQ"
MIN_PER_PAGE = 5
ZONES_MAX_PER_PAGE, ZONES_DEFAULT_PER_PAGE = 50, 20
RECORDS_MAX_PER_PAGE, RECORDS_DEFAULT_PER_PAGE = 5_000_000, 100
RECORD_TYPES = frozenset(
    {"A", "AAAA", "CAA", "CNAME", "DS", "HTTPS", "MX", "NS", "PTR", "SRV", "SVCB", "TXT"}
)
HOSTNAME_CONTENT = frozenset({"CNAME", "MX", "NS", "PTR", "SRV"})
PROXIABLE = frozenset({"A", "AAAA", "CNAME"})


def _hex_id(*parts: str) -> str:
    return hashlib.md5("|".join(parts).encode()).hexdigest()  # noqa: S324 - an id, not security


@dataclass
class RateWindow:
    started: datetime
    count: int = 0
    blocked_until: datetime | None = None


@dataclass
class SimZone:
    id: str
    name: str
    account_id: str
    status: str
    records: dict[str, dict[str, Any]] = field(default_factory=dict)


class CloudflareError(Exception):
    def __init__(self, status: int, code: int, message: str, chain: list[tuple[int, str]] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.chain = status, code, message, chain or []


class CloudflareSimulator(Simulator):
    slug: ClassVar[str] = "cloudflare_dns"
    data_paths: ClassVar[str] = r"^/client/v4/zones"

    def __init__(
        self,
        *,
        faults: FaultPlan | None = None,
        page_size: int | None = None,
        clock: Clock | None = None,
        rate_limit: int = 1200,
        rate_window: float = 300.0,
        block_seconds: float = 300.0,
    ) -> None:
        super().__init__(faults=faults, page_size=page_size, clock=clock)
        data = json.loads((FIXTURES / "zones.json").read_text())
        self.account = data["account"]
        self.accounts = {a["id"]: a for a in (data["account"], data["other_account"])}
        self.tokens = {GOOD_TOKEN: {"id": _hex_id("token", GOOD_TOKEN), "accounts": set(self.accounts)}}
        self.rate_limit = rate_limit
        self.rate_window = timedelta(seconds=rate_window)
        self.block = timedelta(seconds=block_seconds)
        self.windows: dict[str, RateWindow] = {}
        self.zones: dict[str, SimZone] = {}
        self.created = 0
        for raw in data["zones"]:
            zone = SimZone(_hex_id("zone", raw["name"]), raw["name"], raw["account_id"], raw["status"])
            for rec in raw["records"]:
                self._store(zone, rec, _hex_id("record", zone.name, rec["type"], rec["name"], rec["content"]))
            self.zones[zone.id] = zone

    # -- harness ------------------------------------------------------------------
    def config(self, base_url: str, *, valid_credentials: bool = True) -> dict[str, Any]:
        return {
            "api_token": GOOD_TOKEN if valid_credentials else "cf-wrong-token-000000000000000000000000",
            "account_id": self.account["id"],
            "api_url": base_url + PREFIX,
        }

    def invalid_configs(self, base_url: str) -> list[dict[str, Any]]:
        good = self.config(base_url)
        return [
            {k: v for k, v in good.items() if k != "api_token"},
            {**good, "account_id": "not-an-account"},
            {**good, "api_token": "short"},
            {**good, "api_url": "api.cloudflare.com/client/v4"},
            {**good, "zone_id": "abc"},
        ]

    def error_body(self, status: int) -> dict[str, Any]:
        code, message = {
            401: (10000, "Authentication error"),
            403: (9109, "Invalid access token"),
            429: (971, "Please wait and consider throttling your request speed"),
        }.get(status, (10000 + status, f"simulated {status}"))
        return self._failure(code, message)

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    # -- test helpers ---------------------------------------------------------------
    def add_account(self, account_id: str, name: str) -> None:
        """Another account the partner's token may use (the demo gives each client its own)."""
        self.accounts[account_id] = {"id": account_id, "name": name}
        accounts = self.tokens[GOOD_TOKEN]["accounts"]
        assert isinstance(accounts, set)
        accounts.add(account_id)

    def add_zone(self, name: str, records: list[dict[str, Any]], *, account_id: str | None = None) -> SimZone:
        """Adds an active zone of the partner's account with `records` (dicts with name, type,
        content and, for MX, priority), ids derived from the content as the fixtures' are."""
        zone = SimZone(_hex_id("zone", name), name, account_id or self.account["id"], "active")
        for rec in records:
            self._store(zone, rec, _hex_id("record", zone.name, rec["type"], rec["name"], rec["content"]))
        self.zones[zone.id] = zone
        return zone

    def zone_named(self, name: str) -> SimZone:
        return next(z for z in self.zones.values() if z.name == name)

    def blocked_for(self, token: str = GOOD_TOKEN) -> float | None:
        window = self.windows.get(token)
        if window and window.blocked_until and window.blocked_until > self.clock():
            return (window.blocked_until - self.clock()).total_seconds()
        return None

    # -- envelope -------------------------------------------------------------------
    @staticmethod
    def _failure(code: int, message: str, chain: list[tuple[int, str]] | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"code": code, "message": message}
        if chain:
            error["error_chain"] = [{"code": c, "message": m} for c, m in chain]
        return {"success": False, "errors": [error], "messages": [], "result": None}

    @staticmethod
    def _ok(
        result: Any, info: dict[str, Any] | None = None, messages: list[Any] | None = None
    ) -> JSONResponse:
        body: dict[str, Any] = {"success": True, "errors": [], "messages": messages or [], "result": result}
        if info is not None:
            body["result_info"] = info
        return JSONResponse(body)

    def _page(self, request: Request, items: list[Any], max_per_page: int, default: int) -> JSONResponse:
        try:
            page = int(request.query_params.get("page", "1"))
            per_page = int(request.query_params.get("per_page", str(default)))
        except ValueError:
            raise CloudflareError(400, 6008, "Invalid request parameters") from None
        if page < 1 or not MIN_PER_PAGE <= per_page <= max_per_page:
            raise CloudflareError(
                400,
                6008,
                "Invalid request parameters",
                [(11000, f"per_page must be a number between {MIN_PER_PAGE} and {max_per_page}")],
            )
        if self.page_size is not None:
            per_page = min(per_page, max(self.page_size, MIN_PER_PAGE))
        chunk = items[(page - 1) * per_page : page * per_page]
        info = {
            "page": page,
            "per_page": per_page,
            "count": len(chunk),
            "total_count": len(items),
            "total_pages": math.ceil(len(items) / per_page) if items else 0,
        }
        return self._ok(chunk, info)

    # -- auth and rate limit -------------------------------------------------------
    def _token(self, request: Request) -> tuple[str, dict[str, Any]]:
        header = request.headers.get("authorization")
        if not header or not header.startswith("Bearer ") or not header[7:].strip():
            raise CloudflareError(
                400, 6003, "Invalid request headers", [(6111, "Invalid format for Authorization header")]
            )
        value = header[7:].strip()
        token = self.tokens.get(value)
        if token is None:
            if request.url.path == f"{PREFIX}/user/tokens/verify":
                raise CloudflareError(401, 1000, "Invalid API Token")
            raise CloudflareError(403, 9109, "Invalid access token")
        return value, token

    def _rate(self, key: str) -> tuple[RateWindow, float | None]:
        """Count one request; the seconds the caller must wait when refused."""
        now = self.clock()
        window = self.windows.get(key)
        if window is None or now - window.started >= self.rate_window:
            window = self.windows[key] = RateWindow(
                started=now, blocked_until=window.blocked_until if window else None
            )
        if window.blocked_until and window.blocked_until > now:
            return window, (window.blocked_until - now).total_seconds()
        window.count += 1
        if window.count > self.rate_limit:
            # Tripped: every call is refused for the whole block, whatever the window says.
            window.blocked_until = now + self.block
            return window, self.block.total_seconds()
        return window, None

    def _limit_headers(self, window: RateWindow | None) -> dict[str, str]:
        now = self.clock()
        remaining, reset = self.rate_limit, self.rate_window.total_seconds()
        if window is not None:
            remaining = max(0, self.rate_limit - window.count)
            reset = max(0.0, (window.started + self.rate_window - now).total_seconds())
            if window.blocked_until and window.blocked_until > now:
                remaining, reset = 0, (window.blocked_until - now).total_seconds()
        return {
            "ratelimit": f'"default";r={remaining};t={math.ceil(reset)}',
            "ratelimit-policy": f'"default";q={self.rate_limit};w={int(self.rate_window.total_seconds())}',
        }

    # -- zones and records -------------------------------------------------------------
    def _zone(self, zone_id: str, token: dict[str, Any]) -> SimZone:
        zone = self.zones.get(zone_id)
        if zone is None or zone.account_id not in token["accounts"]:
            raise CloudflareError(
                404, 7003, f"Could not route to /zones/{zone_id}, perhaps your object identifier is invalid?"
            )
        return zone

    @staticmethod
    def _fqdn(name: str, zone: SimZone) -> str:
        name = name.strip().rstrip(".").lower()
        if name in ("", "@"):
            return zone.name
        return name if name == zone.name or name.endswith("." + zone.name) else f"{name}.{zone.name}"

    @staticmethod
    def _content(record_type: str, content: str) -> str:
        content = content.strip()
        if record_type in HOSTNAME_CONTENT:
            return content.rstrip(".").lower()
        if record_type in ("A", "AAAA"):
            return str(ipaddress.ip_address(content))
        return content

    def _store(self, zone: SimZone, raw: dict[str, Any], record_id: str) -> dict[str, Any]:
        now = self.clock().isoformat().replace("+00:00", "Z")
        record = {
            "id": record_id,
            "zone_id": zone.id,
            "zone_name": zone.name,
            "name": raw["name"],
            "type": raw["type"],
            "content": raw["content"],
            "proxiable": raw["type"] in PROXIABLE,
            "proxied": bool(raw.get("proxied", False)),
            "ttl": raw.get("ttl", 1),
            "locked": False,
            "meta": {"auto_added": False, "managed_by_apps": False, "managed_by_argo_tunnel": False},
            "comment": raw.get("comment"),
            "tags": [],
            "created_on": now,
            "modified_on": now,
        }
        if raw.get("priority") is not None:
            record["priority"] = raw["priority"]
        zone.records[record_id] = record
        return record

    # One branch per refusal the real API documents, in its order: splitting would hide the list.
    def _validated(self, zone: SimZone, body: Any, existing: dict[str, Any] | None) -> dict[str, Any]:  # noqa: C901
        if not isinstance(body, dict):
            raise CloudflareError(400, 9207, "Request body is invalid.")
        merged = {**(existing or {}), **body}
        record_type = str(merged.get("type", "")).upper()
        if record_type not in RECORD_TYPES:
            raise CloudflareError(
                400, 9000, "DNS name is invalid." if not record_type else "Invalid DNS record type"
            )
        if not merged.get("name") or not isinstance(merged.get("content"), str) or not merged["content"]:
            raise CloudflareError(
                400, 1004, "DNS Validation Error", [(9005, "Content for record is invalid.")]
            )
        try:
            content = self._content(record_type, merged["content"])
        except ValueError:
            raise CloudflareError(
                400, 1004, "DNS Validation Error", [(9005, "Content for A record is invalid.")]
            ) from None
        ttl = merged.get("ttl", 1)
        if not isinstance(ttl, int) or not (ttl == 1 or 60 <= ttl <= 86400):
            raise CloudflareError(
                400,
                1004,
                "DNS Validation Error",
                [(9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.")],
            )
        if merged.get("proxied") and record_type not in PROXIABLE:
            raise CloudflareError(400, 9004, "This record type cannot be proxied.")
        if record_type == "MX" and merged.get("priority") is None:
            raise CloudflareError(400, 1004, "DNS Validation Error", [(9100, "MX priority is required.")])
        record = {
            "type": record_type,
            "name": self._fqdn(str(merged["name"]), zone),
            "content": content,
            "ttl": ttl,
            "proxied": bool(merged.get("proxied", False)),
            "priority": merged.get("priority") if record_type in ("MX", "SRV", "URI") else None,
            "comment": merged.get("comment"),
        }
        skip = existing["id"] if existing else None
        for other in zone.records.values():
            if other["id"] == skip or other["name"] != record["name"]:
                continue
            if (other["type"], other["content"], other.get("priority")) == (
                record["type"],
                record["content"],
                record["priority"],
            ):
                raise CloudflareError(400, 81058, "An identical record already exists.")
            if other["type"] == "CNAME" and record_type != "CNAME":
                raise CloudflareError(400, 81054, "A CNAME record with that host already exists.")
            if record_type == "CNAME":
                raise CloudflareError(
                    400, 81053, "An A, AAAA, or CNAME record with that host already exists."
                )
        return record

    # -- routes -------------------------------------------------------------------------
    async def verify_token(self, request: Request, key: str, token: dict[str, Any]) -> Response:
        return self._ok(
            {"id": token["id"], "status": "active"},
            messages=[{"code": 10000, "message": "This API Token is valid and active", "type": None}],
        )

    async def get_account(self, request: Request, key: str, token: dict[str, Any]) -> Response:
        account_id = request.path_params["account_id"]
        if account_id not in token["accounts"] or account_id not in self.accounts:
            raise CloudflareError(403, 9109, "Unauthorized to access requested resource")
        account = self.accounts[account_id]
        return self._ok({"id": account["id"], "name": account["name"], "type": "standard", "settings": {}})

    def _zone_json(self, zone: SimZone) -> dict[str, Any]:
        account = self.accounts[zone.account_id]
        return {
            "id": zone.id,
            "name": zone.name,
            "status": zone.status,
            "paused": False,
            "type": "full",
            "account": {"id": account["id"], "name": account["name"]},
            "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
        }

    async def list_zones(self, request: Request, key: str, token: dict[str, Any]) -> Response:
        query = request.query_params
        zones = [z for z in self.zones.values() if z.account_id in token["accounts"]]
        if "account.id" in query:
            zones = [z for z in zones if z.account_id == query["account.id"]]
        if "name" in query:
            zones = [z for z in zones if z.name == query["name"].lower()]
        if "status" in query:
            zones = [z for z in zones if z.status == query["status"]]
        zones.sort(key=lambda z: z.name)
        return self._page(
            request, [self._zone_json(z) for z in zones], ZONES_MAX_PER_PAGE, ZONES_DEFAULT_PER_PAGE
        )

    async def get_zone(self, request: Request, key: str, token: dict[str, Any]) -> Response:
        return self._ok(self._zone_json(self._zone(request.path_params["zone_id"], token)))

    async def records(self, request: Request, key: str, token: dict[str, Any]) -> Response:
        zone = self._zone(request.path_params["zone_id"], token)
        if request.method == "POST":
            try:
                body = json.loads(await request.body() or b"null")
            except ValueError:
                raise CloudflareError(400, 9207, "Request body is invalid.") from None
            record = self._validated(zone, body, None)
            self.created += 1
            return self._ok(self._store(zone, record, _hex_id("created", zone.id, str(self.created))))
        query = request.query_params
        items = sorted(zone.records.values(), key=lambda r: (r["type"], r["name"], r["content"], r["id"]))
        if "type" in query:
            items = [r for r in items if r["type"] == query["type"].upper()]
        if "name" in query:
            items = [r for r in items if r["name"] == query["name"].rstrip(".").lower()]
        if "content" in query:
            items = [r for r in items if r["content"] == query["content"]]
        return self._page(request, items, RECORDS_MAX_PER_PAGE, RECORDS_DEFAULT_PER_PAGE)

    async def record(self, request: Request, key: str, token: dict[str, Any]) -> Response:
        zone = self._zone(request.path_params["zone_id"], token)
        record_id = request.path_params["record_id"]
        existing = zone.records.get(record_id)
        if existing is None:
            raise CloudflareError(404, 81044, "Record does not exist.")
        if request.method == "GET":
            return self._ok(existing)
        if request.method == "DELETE":
            del zone.records[record_id]
            return self._ok({"id": record_id})
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            raise CloudflareError(400, 9207, "Request body is invalid.") from None
        if request.method == "PUT":
            body = {"ttl": 1, "proxied": False, **(body if isinstance(body, dict) else {})}
        record = self._validated(zone, body, existing)
        existing.update({k: v for k, v in record.items() if v is not None or k == "priority"})
        if existing.get("priority") is None:
            existing.pop("priority", None)
        existing["modified_on"] = self.clock().isoformat().replace("+00:00", "Z")
        return self._ok(existing)

    def _endpoint(
        self, handler: Callable[[Request, str, dict[str, Any]], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            window: RateWindow | None = None
            try:
                key, token = self._token(request)
                window, wait = self._rate(key)
                if wait is not None:
                    response: Response = JSONResponse(self.error_body(429), status_code=429)
                    response.headers["retry-after"] = str(math.ceil(wait))  # Cloudflare rounds up
                else:
                    response = await handler(request, key, token)
            except CloudflareError as exc:
                response = JSONResponse(
                    self._failure(exc.code, exc.message, exc.chain), status_code=exc.status
                )
            response.headers.update(self._limit_headers(window))
            response.headers["cf-ray"] = _hex_id("ray", str(len(self.requests)))[:16] + "-SIM"
            return response

        return endpoint

    async def not_found(self, request: Request) -> Response:
        return JSONResponse(self._failure(7000, "No route for that URI"), status_code=404)

    def build_app(self) -> ASGIApp:
        methods_records = ["GET", "POST"]
        methods_record = ["GET", "PATCH", "PUT", "DELETE"]
        return Starlette(
            routes=[
                Route(f"{PREFIX}/user/tokens/verify", self._endpoint(self.verify_token)),
                Route(f"{PREFIX}/accounts/{{account_id}}", self._endpoint(self.get_account)),
                Route(f"{PREFIX}/zones", self._endpoint(self.list_zones)),
                Route(f"{PREFIX}/zones/{{zone_id}}", self._endpoint(self.get_zone)),
                Route(
                    f"{PREFIX}/zones/{{zone_id}}/dns_records",
                    self._endpoint(self.records),
                    methods=methods_records,
                ),
                Route(
                    f"{PREFIX}/zones/{{zone_id}}/dns_records/{{record_id}}",
                    self._endpoint(self.record),
                    methods=methods_record,
                ),
                Route("/{path:path}", self.not_found, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
            ]
        )


__all__ = ["CloudflareSimulator"]
