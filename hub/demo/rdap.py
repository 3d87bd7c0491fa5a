"""A registry's RDAP service (RFC 9083) for the demo world, with its IANA-style bootstrap
file (RFC 9224), as an ASGI app: served on loopback by the world like any other simulator."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

RDAP_JSON = "application/rdap+json"


def domain_answer(name: str, expires: date, registrar: str = "Demo Registrar S.p.A.") -> dict[str, Any]:
    return {
        "objectClassName": "domain",
        "ldhName": name.upper(),
        "status": ["client transfer prohibited"],
        "events": [
            {"eventAction": "registration", "eventDate": f"{expires - timedelta(days=5 * 365)}T09:00:00Z"},
            {"eventAction": "expiration", "eventDate": f"{expires.isoformat()}T23:59:59Z"},
        ],
        "entities": [
            {
                "objectClassName": "entity",
                "roles": ["registrar"],
                "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", registrar]]],
            }
        ],
    }


def rdap_app(expiries: Mapping[str, date]) -> Starlette:
    """`GET /rdap/domain/{name}` and `GET /dns.json` (every demo TLD served here)."""
    known = {name.lower(): expires for name, expires in expiries.items()}

    async def domain(request: Request) -> Response:
        name = request.path_params["name"].lower().rstrip(".")
        if name not in known:
            return JSONResponse({"errorCode": 404, "title": "not found"}, 404, media_type=RDAP_JSON)
        return JSONResponse(domain_answer(name, known[name]), media_type=RDAP_JSON)

    async def bootstrap(request: Request) -> Response:
        base = str(request.base_url).rstrip("/") + "/rdap/"
        tlds = sorted({name.rsplit(".", 1)[-1] for name in known})
        return JSONResponse({"version": "1.0", "services": [[tlds, [base]]]})

    return Starlette(
        routes=[Route("/rdap/domain/{name}", domain), Route("/dns.json", bootstrap)],
    )
