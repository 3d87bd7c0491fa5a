"""A Dell TechDirect Warranty API v5 simulator (ASGI).

It enforces what Dell's gateway does: a form-encoded client-credentials token request
(a JSON body gets 400), client authentication by form fields or HTTP Basic but not both
(`client_auth` narrows it to one, to test each), bearer tokens that expire (3600 s by
default) or are revoked, and at most 100 service tags per call (more gets 400). An
unknown tag is answered with `invalid: true` and no entitlements, as Dell does, rather
than a 404. `latency` delays every data answer; `requests_per_minute` answers 429
(with `Retry-After` only when `retry_after` is set: Dell documents neither).

`scale=n` adds n generated assets (deterministic) to the fixtures.

The Self-Dispatch SOAP service (`simulator_dispatch.DispatchDesk`) answers on the same
gateway with its own key: a warranty token is refused there and a dispatch token on the
warranty API (403), as TechDirect issues keys per API.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from hub.sdk.capabilities import Capability
from hub.sdk.testing.simulator import Simulator, TokenIssuer

from .simulator_dispatch import TECH_LOGIN, TECH_PASSWORD, DispatchDesk

FIXTURES = Path(__file__).with_name("fixtures")
CLIENT_ID = "l7xx0d3a9c1f2b8e4d5a6c7b8e9f0a1b2c"
CLIENT_SECRET = "dell-sim-secret-91c2e7"
DATA_PATH = "/PROD/sbil/eapi/v5/asset-entitlements"
TOKEN_PATH = "/auth/oauth/v2/token"
DISPATCH_PATH = "/PROD/support/dispatch/v3/service"
DISPATCH_CLIENT_ID = "l7xx5e1b7d2c9a4f4e8b9c0d1e2f3a4b5c"
DISPATCH_CLIENT_SECRET = "dell-sim-dispatch-secret-4f8a2b"
MAX_TAGS = 100


def _stamp(day: date, *, end: bool = False) -> str:
    # Dell answers instants in UTC; an entitlement ends at 04:59:59Z (midnight US Central).
    moment = datetime(
        day.year, day.month, day.day, 4 if end else 5, 59 if end else 0, 59 if end else 0, tzinfo=UTC
    )
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SimAsset:
    data: dict[str, Any]

    @property
    def tag(self) -> str:
        return str(self.data["serviceTag"])


class DellSimulator(Simulator):
    slug = "dell_techdirect"
    data_paths = r"^/PROD/"

    def __init__(
        self,
        *,
        token_ttl: int = 3600,
        client_auth: Literal["any", "body", "basic"] = "any",
        latency: float = 0.0,
        requests_per_minute: int | None = None,
        retry_after: str | None = None,
        scale: int = 0,
        with_dispatch: bool = True,
        dispatch_review_seconds: float = 300,
        dispatch_approve_seconds: float = 1800,
        dispatch_ship_seconds: float = 4 * 3600,
        dispatch_lag_seconds: float = 0,
        echo_fields: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.with_dispatch = with_dispatch
        self.tokens = TokenIssuer(self.clock, token_ttl)
        self.client_auth = client_auth
        self.latency = latency
        self.requests_per_minute = requests_per_minute
        self.retry_after = retry_after
        self.assets: dict[str, SimAsset] = {}
        self.lookups: list[list[str]] = []
        self._recent: dict[str, list[datetime]] = defaultdict(list)
        self._load(scale)
        self.desk = DispatchDesk(
            self.clock,
            self.assets,
            review_seconds=dispatch_review_seconds,
            approve_seconds=dispatch_approve_seconds,
            ship_seconds=dispatch_ship_seconds,
            lag_seconds=dispatch_lag_seconds,
            echo_fields=echo_fields,
        )

    def _load(self, scale: int) -> None:
        today = self.clock().date()
        for raw in json.loads((FIXTURES / "assets.json").read_text()):
            entitlements = [
                {
                    "itemNumber": e["itemNumber"],
                    "startDate": _stamp(today - timedelta(days=e["startDaysAgo"])),
                    "endDate": _stamp(today + timedelta(days=e["endInDays"]), end=True),
                    "entitlementType": e["entitlementType"],
                    "serviceLevelCode": e["serviceLevelCode"],
                    "serviceLevelDescription": e["serviceLevelDescription"],
                    "serviceLevelGroup": e["serviceLevelGroup"],
                }
                for e in raw["entitlements"]
            ]
            data = {
                k: v
                for k, v in raw.items()
                if not k.startswith("_") and k not in ("shipDaysAgo", "entitlements")
            }
            data.update(
                orderBuid=202,
                localChannel="ENTP",
                productId=raw["productLineDescription"].lower().replace(" ", "-"),
                shipDate=_stamp(today - timedelta(days=raw["shipDaysAgo"])),
                duplicated=False,
                invalid=False,
                entitlements=entitlements,
            )
            self.assets[data["serviceTag"]] = SimAsset(data)
        rng = random.Random(5)
        alphabet = "BCDFGHJKLMNPQRSTVWXYZ0123456789"
        target = len(self.assets) + scale
        while len(self.assets) < target:
            tag = "".join(rng.choice(alphabet) for _ in range(7))
            if tag in self.assets:
                continue
            shipped = today - timedelta(days=rng.randint(0, 2000))
            ends = shipped + timedelta(days=365 * rng.choice([1, 3, 5]))
            self.assets[tag] = SimAsset(
                {
                    "id": rng.randint(10_000_000, 99_999_999),
                    "serviceTag": tag,
                    "productLineDescription": rng.choice(
                        ["LATITUDE 5450", "OPTIPLEX 7020", "POWEREDGE R760"]
                    ),
                    "shipDate": _stamp(shipped),
                    "countryCode": "US",
                    "duplicated": False,
                    "invalid": False,
                    "entitlements": [
                        {
                            "itemNumber": "709-00000",
                            "startDate": _stamp(shipped),
                            "endDate": _stamp(ends, end=True),
                            "entitlementType": "INITIAL",
                            "serviceLevelCode": "ND",
                            "serviceLevelDescription": "Onsite Service After Remote Diagnosis",
                            "serviceLevelGroup": 5,
                        }
                    ],
                }
            )

    def add_asset(
        self,
        tag: str,
        product_line: str,
        shipped: date,
        entitlements: list[tuple[date, date, str, str]],
    ) -> None:
        """Adds a service tag whose entitlements are (start, end, service level code,
        description): the demo registers the MSP's own hardware this way."""
        self.assets[tag] = SimAsset(
            {
                "id": 10_000_000 + len(self.assets),
                "serviceTag": tag,
                "orderBuid": 202,
                "localChannel": "ENTP",
                "productId": product_line.lower().replace(" ", "-"),
                "productLineDescription": product_line,
                "shipDate": _stamp(shipped),
                "countryCode": "IT",
                "duplicated": False,
                "invalid": False,
                "entitlements": [
                    {
                        "itemNumber": f"{997 + n}-{10000 + n:05d}",
                        "startDate": _stamp(start),
                        "endDate": _stamp(end, end=True),
                        "entitlementType": "INITIAL" if n == 0 else "EXTENDED",
                        "serviceLevelCode": code,
                        "serviceLevelDescription": description,
                        "serviceLevelGroup": 5,
                    }
                    for n, (start, end, code, description) in enumerate(entitlements)
                ],
            }
        )

    # -- harness contract ---------------------------------------------------------------
    def config(self, base_url: str, *, valid_credentials: bool = True) -> dict[str, Any]:
        config: dict[str, Any] = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET if valid_credentials else "dell-wrong-secret-000",
            "client_auth": "basic" if self.client_auth == "basic" else "body",
            "token_url": f"{base_url}{TOKEN_PATH}",
            "api_url": base_url,
            # The conformance suite's small pages: fewer tags per call, so that a read takes several.
            "batch_size": min(self.page_size or MAX_TAGS, MAX_TAGS),
        }
        if self.with_dispatch:
            config["dispatch"] = self.dispatch_config(base_url, valid_credentials=valid_credentials)
        return config

    def dispatch_config(self, base_url: str, *, valid_credentials: bool = True) -> dict[str, Any]:
        return {
            "client_id": DISPATCH_CLIENT_ID,
            "client_secret": DISPATCH_CLIENT_SECRET if valid_credentials else "dell-wrong-dispatch-000",
            "login": TECH_LOGIN,
            "password": TECH_PASSWORD if valid_credentials else "Td-wrong-password",
            "branch": "MSP Italia",
            "customer": "Colombo Trasporti",
            "track": "Tier 1",
            "contact_name": "Giulia Ferri",
            "contact_phone": "+39 06 1234567",
            "contact_email": "noc@msp.example",
            "ship_to": {
                "country": "IT",
                "city": "Roma",
                "state": "RM",
                "postal_code": "00144",
                "line1": "Via Cristoforo Colombo 112",
                "time_zone": "Europe/Rome",
            },
            "service_url": f"{base_url}{DISPATCH_PATH}",
            "token_url": f"{base_url}{TOKEN_PATH}",
        }

    def invalid_configs(self, base_url: str) -> list[dict[str, Any]]:
        good = self.config(base_url)
        return [
            {k: v for k, v in good.items() if k != "client_secret"},
            {**good, "batch_size": 101},
            {**good, "client_auth": "header"},
            {**good, "api_url": "apigtwb2c.us.dell.com"},
            {**good, "api_key": "unknown field"},
            {**good, "dispatch": {**good["dispatch"], "address_book_name": "Roma HQ"}},
            {**good, "dispatch": {k: v for k, v in good["dispatch"].items() if k != "password"}},
            {
                **good,
                "dispatch": {
                    **good["dispatch"],
                    "ship_to": {**good["dispatch"]["ship_to"], "country": "ITA"},
                },
            },
        ]

    def sample_arguments(self) -> dict[Capability, dict[str, Any]]:
        tags = [*sorted(self.assets)[:40], "ZZZ9999", "UNKNWN1", "7xk2qh3"]
        return {
            Capability.warranty: {"service_tags": tags},
            Capability.case_desk: {
                "request": {
                    "title": "R660 PSU 2 failed",
                    "description": "iDRAC reports PSU 2 failure (PSU0002) since 07:12; input cable and "
                    "socket checked, swapping the two PSUs moves the fault with the unit.",
                    "subject": "9FQW8R3",
                    "parts": [{"part_number": "PSU", "quantity": 1}],
                },
                "case_external_id": "SR1000000001",
                "create": {
                    "method": "POST",
                    "path": f"^{DISPATCH_PATH}$",
                    "request_body": r"CreateDispatch>",
                },
                "vendor_activity_seconds": 3600,
            },
        }

    def error_body(self, status: int) -> dict[str, Any]:
        if status == 401:
            return {"error": "invalid_token", "error_description": "Access token is invalid or expired"}
        if status == 403:
            return {"error": "access_denied", "error_description": "This API key may not call this API"}
        return {
            "error": {429: "Too Many Requests", 400: "Bad Request"}.get(status, "Server Error"),
            "message": f"Simulated error {status}",
        }

    def revoke_tokens(self) -> None:
        self.tokens.revoke_all()

    # -- the app ------------------------------------------------------------------------
    def build_app(self) -> ASGIApp:
        return Starlette(
            routes=[
                Route(TOKEN_PATH, self._token, methods=["POST"]),
                Route(DATA_PATH, self._entitlements, methods=["GET"]),
                Route(DISPATCH_PATH, self._dispatch, methods=["POST"]),
            ]
        )

    async def _token(self, request: Request) -> Response:
        def deny(status: int, error: str, description: str) -> JSONResponse:
            return JSONResponse({"error": error, "error_description": description}, status_code=status)

        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return deny(400, "invalid_request", "Request must be application/x-www-form-urlencoded")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("latin1")).items()}
        if form.get("grant_type") != "client_credentials":
            return deny(400, "unsupported_grant_type", "grant_type must be client_credentials")
        basic = None
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return deny(400, "invalid_request", "Malformed Basic credentials")
            basic = (unquote(user), unquote(password))
        in_body = ("client_id" in form) or ("client_secret" in form)
        if basic and in_body:
            return deny(400, "invalid_request", "Use only one client authentication method")
        if (self.client_auth == "basic" and not basic) or (self.client_auth == "body" and basic):
            return deny(401, "invalid_client", "Client authentication method not allowed")
        client_id, secret = basic or (form.get("client_id"), form.get("client_secret"))
        keys = {
            CLIENT_ID: (CLIENT_SECRET, "warranty"),
            DISPATCH_CLIENT_ID: (DISPATCH_CLIENT_SECRET, "dispatch"),
        }
        expected, api = keys.get(client_id or "", (None, ""))
        if expected is None or secret != expected:
            return deny(401, "invalid_client", "The given client credentials were not valid")
        value, ttl = self.tokens.issue(client_id or "", api=api)
        return JSONResponse(
            {"access_token": value, "token_type": "Bearer", "expires_in": ttl, "scope": "oob"}
        )

    async def _entitlements(self, request: Request) -> Response:
        token = self.tokens.check(request.headers.get("authorization"))
        if token is None:
            return JSONResponse(self.error_body(401), status_code=401)
        if token.claims.get("api") != "warranty":
            return JSONResponse(self.error_body(403), status_code=403)
        if self._over_limit():
            headers = {"retry-after": self.retry_after} if self.retry_after else None
            return JSONResponse(self.error_body(429), status_code=429, headers=headers)
        if self.latency:
            await asyncio.sleep(self.latency)
        raw = request.query_params.get("servicetags", "")
        tags = [t.strip().upper() for t in raw.split(",") if t.strip()]
        if not tags:
            return JSONResponse(
                {"error": "Bad Request", "message": "servicetags is required"}, status_code=400
            )
        if len(tags) > MAX_TAGS:
            return JSONResponse(
                {"error": "Bad Request", "message": f"A maximum of {MAX_TAGS} service tags is allowed"},
                status_code=400,
            )
        self.lookups.append(tags)
        answer = []
        for tag in dict.fromkeys(tags):
            asset = self.assets.get(tag)
            if asset is None:
                answer.append(
                    {"id": 0, "serviceTag": tag, "invalid": True, "duplicated": False, "entitlements": []}
                )
            else:
                answer.append(asset.data)
        return JSONResponse(answer)

    async def _dispatch(self, request: Request) -> Response:
        token = self.tokens.check(request.headers.get("authorization"))
        if token is None:
            return JSONResponse(self.error_body(401), status_code=401)
        if token.claims.get("api") != "dispatch":
            return JSONResponse(self.error_body(403), status_code=403)
        if self._over_limit():
            headers = {"retry-after": self.retry_after} if self.retry_after else None
            return JSONResponse(self.error_body(429), status_code=429, headers=headers)
        if self.latency:
            await asyncio.sleep(self.latency)
        return await self.desk.handle(request)

    def _over_limit(self) -> bool:
        if not self.requests_per_minute:
            return False
        now = self.clock()
        recent = [t for t in self._recent[CLIENT_ID] if now - t < timedelta(minutes=1)]
        self._recent[CLIENT_ID] = recent
        if len(recent) >= self.requests_per_minute:
            return True
        recent.append(now)
        return False


__all__ = ["CLIENT_ID", "CLIENT_SECRET", "DellSimulator"]
