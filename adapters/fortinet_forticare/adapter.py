"""The FortiCare adapter: registered units and their entitlements, the read-back of a
unit's term, and the registration of a contract bought elsewhere against a unit."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from hub.sdk.context import AdapterContext
from hub.sdk.errors import InvalidResponse, NotFound, Rejected
from hub.sdk.parsing import parse_model
from hub.sdk.records import AccountIdentity, AssetRecord, RegistrationRecord, TermRecord, WarrantyRecord

from . import mapping
from .api import VENDOR, AssetDetails, Envelope, FortiCareApi
from .config import FortiCareConfig

CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{5,62}$")


class FortiCareAdapter:
    max_batch = 1000  # one listing of the account serves any number of serials

    def __init__(self, config: FortiCareConfig, ctx: AdapterContext) -> None:
        self.config = config
        self.ctx = ctx
        self.api = FortiCareApi(config, ctx)

    def __repr__(self) -> str:
        return f"FortiCareAdapter(username={self.config.username!r}, api_url={self.config.api_url!r})"

    async def verify(self) -> AccountIdentity:
        units = 0
        async for _ in self.api.products():
            units += 1
        return AccountIdentity(
            account_ref=self.config.username,
            name=f"FortiCloud API user {self.config.username}",
            details={"units_with_entitlements": str(units)},
        )

    async def aclose(self) -> None:
        return None

    # -- reads ----------------------------------------------------------------------
    async def list_assets(self) -> AsyncIterator[AssetRecord]:
        async for asset in self.api.products():
            yield mapping.asset_record(asset)

    async def lookup_warranties(self, service_tags: Sequence[str]) -> list[WarrantyRecord]:
        """FortiCare entitlements per serial, from one listing of the account (products/list
        with `%`); a serial it does not list (unknown, or without entitlements) is not found."""
        wanted = list(dict.fromkeys(tag.strip().upper() for tag in service_tags if tag.strip()))
        found: dict[str, WarrantyRecord] = {}
        if wanted:
            targets = set(wanted)
            async for asset in self.api.products():
                if asset.serialNumber.upper() in targets:
                    found[asset.serialNumber.upper()] = mapping.warranty(asset)
        return [found.get(tag) or WarrantyRecord(external_id=tag, found=False) for tag in wanted]

    async def read_term(self, ref: str) -> TermRecord:
        """A unit's FortiCare term, to confirm a contract registered against it: `ref` is the
        serial (the latest end of all its entitlements) or `<serial>/<type>` (of one
        entitlement type, by number or description, e.g. `FG60F.../11`). FortiCare updates
        entitlements some time after a registration: until then the old end is read."""
        serial, _, kind = ref.partition("/")
        asset = await self.api.product(serial.strip())
        if asset is None:
            raise NotFound(f"{VENDOR} lists no unit {serial} with entitlements in this account")
        term = mapping.term(ref, asset, kind, self.ctx.clock())
        if term is None:
            raise NotFound(f"{VENDOR} unit {serial} has no entitlement of type {kind!r}")
        return term

    # -- registration ---------------------------------------------------------------
    async def register_contract(self, serial: str, contract_code: str) -> RegistrationRecord:
        """`licenses/register` of the code under the unit's serial. Idempotent from the
        caller's view: when FortiCare answers that the code is already registered, the unit's
        details are read, and a unit that shows the code is the earlier registration
        (`already_registered=True`); otherwise `Rejected`. An unknown code or serial, or any
        other refusal, is `Rejected` with FortiCare's reason."""
        serial, code = serial.strip().upper(), contract_code.strip().upper()
        if not CODE.match(code):
            raise Rejected(f"{VENDOR}: {contract_code!r} is not a registration code")
        status, body = await self.api.register_licence(serial, code, self.config.registration_description)
        answer = parse_model(AssetDetails, body, what=f"{VENDOR} licenses/register")
        if status < 400 and answer.status in (0, None):
            asset = body.get("assetDetails")
            if not isinstance(asset, dict):
                raise InvalidResponse(f"{VENDOR} registered the code but returned no unit")
            shown = str(asset.get("serialNumber") or "").upper()
            if shown and shown != serial:
                raise InvalidResponse(f"{VENDOR} registered the code under {shown}, not {serial}")
            return mapping.registration(code, serial, asset, already=False, registered_at=self.ctx.clock())
        if mapping.ALREADY_REGISTERED.search(answer.reason):
            return await self._earlier_registration(serial, code, answer)
        raise Rejected(
            f"{VENDOR} refused registering {code} to {serial}: {answer.reason}", vendor_status=status
        )

    async def _earlier_registration(self, serial: str, code: str, refusal: Envelope) -> RegistrationRecord:
        status, body = await self.api.details(serial)
        details: Any = body.get("assetDetails")
        envelope = parse_model(Envelope, body, what=f"{VENDOR} products/details")
        if status >= 400 or envelope.status not in (0, None) or not isinstance(details, dict):
            raise Rejected(
                f"{VENDOR}: {code} is already registered, and unit {serial} is not in this account "
                f"({refusal.reason})"
            )
        if mapping.mentions(details, code):
            return mapping.registration(code, serial, details, already=True, registered_at=self.ctx.clock())
        raise Rejected(f"{VENDOR}: {code} is already registered, not to {serial} ({refusal.reason})")


__all__ = ["FortiCareAdapter"]
