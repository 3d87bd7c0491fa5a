"""Dell TechDirect Warranty API v5: wire shapes and the one call (through VendorHttp).

`GET /PROD/sbil/eapi/v5/asset-entitlements?servicetags=A,B,...` (at most 100 tags)
answers a JSON array with one asset per tag; a tag Dell does not know comes back with
`invalid: true` and no entitlements.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from hub.sdk.context import AdapterContext
from hub.sdk.errors import InvalidResponse
from hub.sdk.http import VendorHttp
from hub.sdk.oauth import ClientCredentials

from .config import DellTechDirectConfig

VENDOR = "Dell TechDirect"
PATH = "/PROD/sbil/eapi/v5/asset-entitlements"
MAX_TAGS = 100


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class Entitlement(Wire):
    item_number: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    entitlement_type: str | None = None
    service_level_code: str | None = None
    service_level_description: str | None = None
    service_level_group: int | None = None


class Asset(Wire):
    id: int | None = None
    service_tag: str = Field(min_length=1)
    ship_date: str | None = None
    product_code: str | None = None
    product_line_description: str | None = None
    system_description: str | None = None
    product_family: str | None = None
    country_code: str | None = None
    duplicated: bool | None = None
    invalid: bool = False
    entitlements: list[Entitlement] | None = None


ASSETS = TypeAdapter(list[Asset])


class DellApi:
    def __init__(self, config: DellTechDirectConfig, ctx: AdapterContext) -> None:
        auth = ClientCredentials(
            ctx,
            token_url=config.token_url,
            client_id=config.client_id,
            client_secret=config.client_secret,
            client_auth=config.client_auth,
        )
        self.http = VendorHttp(
            ctx,
            vendor=VENDOR,
            base_url=config.api_url,
            auth=auth,
            default_headers={"Accept": "application/json"},
        )

    async def entitlements(self, tags: Sequence[str]) -> list[Asset]:
        if not 0 < len(tags) <= MAX_TAGS:
            raise ValueError(f"between 1 and {MAX_TAGS} service tags per call")
        data = await self.http.get_json(PATH, params={"servicetags": ",".join(tags)})
        try:
            return ASSETS.validate_python(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise InvalidResponse(f"unexpected {VENDOR} answer: {where}: {first['msg']}") from None


__all__ = ["MAX_TAGS", "PATH", "Asset", "DellApi", "Entitlement"]
