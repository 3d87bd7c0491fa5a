"""A small adapter and its simulator, built only with hub.sdk, standing in for the real
adapters in sync tests: OAuth client credentials, a whoami, and paginated tenants,
licences, subscriptions, firmware and warranty lookups."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from hub.sdk import AdapterContext, AdapterSpec, ClientCredentials, Manifest, VendorHttp
from hub.sdk.capabilities import Capability
from hub.sdk.records import (
    AccountIdentity,
    EntitlementRecord,
    FirmwareRecord,
    LicenseRecord,
    SubscriptionRecord,
    TenantRecord,
    WarrantyRecord,
)
from hub.sdk.testing import Simulator, TokenIssuer

SLUG = "testvendor"


class AcmeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(pattern=r"^http://127\.0\.0\.1:\d+$")
    partner_id: str = Field(min_length=1, max_length=60)
    client_id: str = Field(min_length=1)
    client_secret: SecretStr = Field(min_length=8)
    region: str = "eu"


class AcmeAdapter:
    max_batch = 2

    def __init__(self, config: AcmeConfig, ctx: AdapterContext) -> None:
        self.config = config
        auth = ClientCredentials(
            ctx,
            token_url=f"{config.base_url}/oauth/token",
            client_id=config.client_id,
            client_secret=config.client_secret,
        )
        self.http = VendorHttp(ctx, vendor="Test Vendor", base_url=config.base_url, auth=auth)

    async def verify(self) -> AccountIdentity:
        data = await self.http.get_json("/v1/whoami")
        return AccountIdentity(account_ref=data["partner_id"], name=data["name"])

    async def aclose(self) -> None:
        return None

    async def _pages(self, path: str) -> AsyncIterator[dict[str, Any]]:
        page = 0
        while True:
            data = await self.http.get_json(path, params={"page": page})
            for item in data["items"]:
                yield item
            if not data["has_more"]:
                return
            page += 1

    async def list_tenants(self) -> AsyncIterator[TenantRecord]:
        async for t in self._pages("/v1/tenants"):
            yield TenantRecord(external_id=t["id"], name=t["name"], domain=t.get("domain"))

    async def list_licenses(self, tenant_external_id: str | None = None) -> AsyncIterator[LicenseRecord]:
        async for lic in self._pages("/v1/licenses"):
            yield LicenseRecord(
                external_id=lic["id"],
                tenant_external_id=lic["tenant"],
                product_code=lic["code"],
                product_name=lic["name"],
                seats_paid=lic["paid"],
                seats_used=lic["used"],
                end_date=lic.get("end"),
            )

    async def list_subscriptions(
        self, tenant_external_id: str | None = None
    ) -> AsyncIterator[SubscriptionRecord]:
        async for s in self._pages("/v1/subscriptions"):
            yield SubscriptionRecord(
                external_id=s["id"],
                tenant_external_id=s["tenant"],
                product_name=s["name"],
                sku=s.get("sku"),
                quantity=s["quantity"],
                unit_cost=s.get("price"),
                currency=s.get("currency"),
                billing_term=s.get("billing"),
                start_date=s.get("start"),
                end_date=s.get("end"),
                auto_renew=s.get("auto_renew"),
                status="active",
            )

    async def list_firmware(self) -> AsyncIterator[FirmwareRecord]:
        async for d in self._pages("/v1/devices"):
            yield FirmwareRecord(
                external_id=d["serial"], current_version=d["version"], latest_version=d["latest"]
            )

    async def lookup_warranties(self, service_tags: Sequence[str]) -> list[WarrantyRecord]:
        data = await self.http.get_json("/v1/warranties", params={"tags": ",".join(service_tags)})
        out = []
        for tag in service_tags:
            found = data.get(tag)
            if found is None:
                out.append(WarrantyRecord(external_id=tag, found=False))
            else:
                out.append(
                    WarrantyRecord(
                        external_id=tag,
                        found=True,
                        entitlements=tuple(
                            EntitlementRecord(
                                service_level=e["level"], start_date=e["start"], end_date=e["end"]
                            )
                            for e in found
                        ),
                    )
                )
        return out


spec = AdapterSpec(
    manifest=Manifest(
        slug=SLUG,
        vendor="TestCorp",
        category="antivirus",
        version="1.0",
        capabilities=frozenset(
            {
                Capability.tenants,
                Capability.license_usage,
                Capability.subscriptions,
                Capability.firmware,
                Capability.warranty,
            }
        ),
        config_model=AcmeConfig,
        account_ref_field="partner_id",
        simulator="tests.sync.testvendor:AcmeSimulator",
        endpoint_fields=("base_url",),
        # The tests run its simulator on loopback, allowed by HUB_ADAPTER_ALLOW_HOSTS.
        official_hosts=("api.testcorp.example",),
    ),
    factory=AcmeAdapter,
)


@dataclass
class Partner:
    name: str
    client_id: str
    client_secret: str
    tenants: list[dict[str, Any]] = field(default_factory=list)
    licenses: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    warranties: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class AcmeSimulator(Simulator):
    """Partners keyed by partner id, each with its own client credentials and data."""

    slug = SLUG
    data_paths = r"^/v1/"

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.partners: dict[str, Partner] = {}
        self.issuer = TokenIssuer(self.clock, ttl_seconds=3600)
        self.page_size = self.page_size or 2

    def partner(self, partner_id: str, **kw: Any) -> Partner:
        p = Partner(
            name=kw.pop("name", f"Partner {partner_id}"),
            client_id=f"cid-{partner_id}",
            client_secret=f"s3cret-{partner_id}-value",
            **kw,
        )
        self.partners[partner_id] = p
        return p

    def config_for(self, base_url: str, partner_id: str, *, secret: str | None = None) -> dict[str, Any]:
        p = self.partners[partner_id]
        return {
            "base_url": base_url,
            "partner_id": partner_id,
            "client_id": p.client_id,
            "client_secret": secret or p.client_secret,
        }

    def config(self, base_url: str, *, valid_credentials: bool = True) -> dict[str, Any]:
        partner_id = next(iter(self.partners))
        return self.config_for(base_url, partner_id, secret=None if valid_credentials else "wrong-secret!")

    def invalid_configs(self, base_url: str) -> list[dict[str, Any]]:
        return [{"base_url": base_url}]

    def revoke_tokens(self) -> None:
        self.issuer.revoke_all()

    @property
    def token_requests(self) -> int:
        return sum(1 for r in self.requests if r.path == "/oauth/token")

    def build_app(self) -> ASGIApp:
        async def token(request: Request) -> Response:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            for partner_id, p in self.partners.items():
                if form.get("client_id") == p.client_id and form.get("client_secret") == p.client_secret:
                    value, ttl = self.issuer.issue(partner_id)
                    return JSONResponse({"access_token": value, "token_type": "Bearer", "expires_in": ttl})
            return JSONResponse({"error": "invalid_client"}, status_code=401)

        def who(request: Request) -> Partner | None:
            issued = self.issuer.check(request.headers.get("authorization"))
            return self.partners.get(issued.subject) if issued else None

        def unauthorized() -> Response:
            return JSONResponse({"message": "invalid token"}, status_code=401)

        async def whoami(request: Request) -> Response:
            p = who(request)
            if p is None:
                return unauthorized()
            partner_id = next(k for k, v in self.partners.items() if v is p)
            return JSONResponse({"partner_id": partner_id, "name": p.name})

        def listing(attr: str) -> Any:
            async def handler(request: Request) -> Response:
                p = who(request)
                if p is None:
                    return unauthorized()
                items = getattr(p, attr)
                page = int(request.query_params.get("page", "0"))
                size = self.page_size or 2
                chunk = items[page * size : (page + 1) * size]
                return JSONResponse({"items": chunk, "has_more": (page + 1) * size < len(items)})

            return handler

        async def warranties(request: Request) -> Response:
            p = who(request)
            if p is None:
                return unauthorized()
            tags = [t for t in request.query_params.get("tags", "").split(",") if t]
            return Response(
                json.dumps({t: p.warranties[t] for t in tags if t in p.warranties}),
                media_type="application/json",
            )

        return Starlette(
            routes=[
                Route("/oauth/token", token, methods=["POST"]),
                Route("/v1/whoami", whoami),
                Route("/v1/tenants", listing("tenants")),
                Route("/v1/licenses", listing("licenses")),
                Route("/v1/subscriptions", listing("subscriptions")),
                Route("/v1/devices", listing("devices")),
                Route("/v1/warranties", warranties),
            ]
        )
