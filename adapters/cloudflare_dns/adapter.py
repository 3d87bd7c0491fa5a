"""The Cloudflare DNS adapter: zones and records of one account, and record writes.

Writes: PATCH and DELETE are idempotent (the same request sets the same state) and are
retried under the common policy. POST is not: a POST whose answer is lost may or may not
have created the record, so `create_record` reconciles by listing the zone's records for
an identical one before it ever sends the POST again (and Cloudflare refuses an identical
record, code 81058, which this adapter treats as "already there").
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from hub.sdk import AdapterContext, AuthenticationFailed, ConfigurationError, OutcomeUnknown, Rejected
from hub.sdk.records import AccountIdentity, DnsRecordInput, DnsRecordRecord, DnsZoneRecord

from . import mapping
from .api import CloudflareApi, DnsRecord, IdenticalRecordExists
from .config import CloudflareConfig


class CloudflareAdapter:
    def __init__(self, config: CloudflareConfig, ctx: AdapterContext) -> None:
        self.config = config
        self.api = CloudflareApi(config, ctx)
        self._zone_names: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"CloudflareAdapter(account_id={self.config.account_id!r})"

    async def verify(self) -> AccountIdentity:
        token = await self.api.verify_token()
        if token.status != "active":
            raise AuthenticationFailed(f"Cloudflare: the API token is {token.status}")
        account = await self.api.account()
        if account is None:
            raise ConfigurationError("the API token works but cannot see this account id", field="account_id")
        return AccountIdentity(account_ref=account.id, name=account.name, details={"token_id": token.id})

    async def list_zones(self) -> AsyncIterator[DnsZoneRecord]:
        async for item in self.api.zones():
            self._zone_names[item.id] = item.name
            yield mapping.zone(item)

    async def list_records(self, zone_external_id: str) -> AsyncIterator[DnsRecordRecord]:
        async for item in self.api.records(zone_external_id):
            yield mapping.record(item, zone_external_id)

    # -- writes -----------------------------------------------------------------------
    async def _zone_name(self, zone_id: str) -> str:
        if zone_id not in self._zone_names:
            self._zone_names[zone_id] = (await self.api.zone(zone_id)).name
        return self._zone_names[zone_id]

    async def _find_identical(self, zone_id: str, wanted: DnsRecordInput) -> DnsRecord | None:
        zone_name = await self._zone_name(zone_id)
        name = mapping.fqdn(wanted.name, zone_name)
        async for found in self.api.records(zone_id, type=wanted.type.upper(), name=name):
            if mapping.same_record(wanted, found, zone_name):
                return found
        return None

    async def _post(self, zone_id: str, wanted: DnsRecordInput) -> DnsRecord:
        try:
            return await self.api.create_record(zone_id, mapping.body(wanted))
        except IdenticalRecordExists:
            existing = await self._find_identical(zone_id, wanted)
            if existing is None:
                raise Rejected(
                    "Cloudflare says an identical record exists but it is not among the zone's records"
                ) from None
            return existing

    async def create_record(self, zone_external_id: str, record: DnsRecordInput) -> DnsRecordRecord:
        try:
            created = await self._post(zone_external_id, record)
        except OutcomeUnknown:
            # The answer was lost: look before sending again. If it is absent, the POST did not
            # take effect; sending it once more is safe, because should the first one still
            # land, Cloudflare refuses the second as identical (and that is handled above).
            existing = await self._find_identical(zone_external_id, record)
            created = existing if existing is not None else await self._post(zone_external_id, record)
        return mapping.record(created, zone_external_id)

    async def update_record(
        self, zone_external_id: str, record_external_id: str, record: DnsRecordInput
    ) -> DnsRecordRecord:
        updated = await self.api.update_record(zone_external_id, record_external_id, mapping.body(record))
        return mapping.record(updated, zone_external_id)

    async def delete_record(self, zone_external_id: str, record_external_id: str) -> None:
        await self.api.delete_record(zone_external_id, record_external_id)

    async def aclose(self) -> None:
        return None
