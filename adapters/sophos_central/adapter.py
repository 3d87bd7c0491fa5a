"""Sophos Central partner adapter: tenants and their licences (seats paid and used)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from adapters.sophos_central.api import License, SophosApi, Tenant, WhoAmI
from adapters.sophos_central.config import SophosCentralConfig
from adapters.sophos_central.mapping import license_record, tenant_record, term_record
from hub.sdk import AdapterContext, AuthenticationFailed, ConfigurationError, NotFound
from hub.sdk.records import AccountIdentity, LicenseRecord, TenantRecord, TermRecord

# Tenants whose licences are read at once: each is one call to its regional host, so a
# 2,000-tenant partner is not 2,000 sequential round trips.
LICENSE_CONCURRENCY = 8


def _results(done: set[asyncio.Task[list[LicenseRecord]]]) -> list[LicenseRecord]:
    """The records of finished tasks, or the first failure (every failure is retrieved,
    so none is reported again as "never retrieved")."""
    failures = [exc for exc in (task.exception() for task in done) if exc is not None]
    if failures:
        raise failures[0]
    return [record for task in done for record in task.result()]


class SophosCentralAdapter:
    def __init__(self, config: SophosCentralConfig, ctx: AdapterContext) -> None:
        self.config = config
        self.ctx = ctx
        self.api = SophosApi(config, ctx)
        self._partner: WhoAmI | None = None

    def __repr__(self) -> str:
        return f"SophosCentralAdapter(partner_id={self.config.partner_id!r})"

    async def _whoami(self) -> WhoAmI:
        """The partner these credentials belong to; anything else is a configuration error."""
        if self._partner is None:
            who = await self.api.whoami()
            if who.idType != "partner":
                raise ConfigurationError(
                    f"these credentials are {who.idType}-level; the adapter needs partner credentials",
                    field="client_id",
                )
            if who.id != self.config.partner_id:
                raise ConfigurationError(
                    "the credentials belong to a different Sophos partner than partner_id says",
                    field="partner_id",
                )
            self._partner = who
        return self._partner

    async def verify(self) -> AccountIdentity:
        who = await self._whoami()
        details = {"id_type": who.idType}
        if who.apiHosts.global_:
            details["global_api_host"] = who.apiHosts.global_
        return AccountIdentity(account_ref=who.id, name=f"Sophos Central partner {who.id}", details=details)

    async def aclose(self) -> None:
        return None

    async def list_tenants(self) -> AsyncIterator[TenantRecord]:
        who = await self._whoami()
        async for tenant in self.api.tenants(who.id):
            yield tenant_record(tenant)

    async def list_licenses(self, tenant_external_id: str | None = None) -> AsyncIterator[LicenseRecord]:
        who = await self._whoami()
        if tenant_external_id is not None:
            tenant = await self.api.tenant(who.id, tenant_external_id)
            for record in await self._tenant_licenses(tenant, skip_refused=False):
                yield record
            return
        # A sliding window of tenants in flight (not batches: one slow or retried tenant
        # must not hold up the seven others).
        pending: set[asyncio.Task[list[LicenseRecord]]] = set()
        try:
            async for tenant in self.api.tenants(who.id):
                pending.add(asyncio.create_task(self._tenant_licenses(tenant, skip_refused=True)))
                if len(pending) >= LICENSE_CONCURRENCY:
                    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    for record in _results(done):
                        yield record
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for record in _results(done):
                    yield record
        finally:
            # A failure (or a caller that stops reading) leaves no request running behind it.
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def _tenant_licenses(self, tenant: Tenant, *, skip_refused: bool) -> list[LicenseRecord]:
        today = self.ctx.clock().date()
        try:
            items: list[License] = [item async for item in self.api.licenses(tenant)]
        except AuthenticationFailed as exc:
            # Sophos answers 403 for a "term" customer that has not enabled Partner
            # Assistance: the partner cannot see it, which says nothing about our
            # credentials. Skip it (logged) rather than failing the whole partner.
            if skip_refused and exc.vendor_status == 403 and tenant.billingType == "term":
                self.ctx.logger.warning(
                    "Sophos Central: tenant %s refused licence access (partner assistance off?)", tenant.id
                )
                return []
            raise
        return [license_record(tenant.id, item, today) for item in items]

    async def read_term(self, ref: str) -> TermRecord:
        """A licence's term, read back to confirm a renewal ordered elsewhere (at Pax8).

        `ref` is `<tenant id>/<licence id>` (one call to the tenant's region), or a bare
        licence id, found by reading the partner's tenants one by one (slow for a large
        partner: prefer the tenant-qualified ref). Its end is the licence's `endDate`, or
        the end of successor licences of the same product that continue it without a gap
        (see `mapping.term_record`)."""
        who = await self._whoami()
        tenant_id, _, licence_id = ref.rpartition("/")
        if tenant_id:
            tenant = await self.api.tenant(who.id, tenant_id)
            items = [item async for item in self.api.licenses(tenant)]
        else:
            found = await self._tenant_holding(who.id, licence_id)
            if found is None:
                raise NotFound(f"Sophos Central: no tenant of this partner holds licence {licence_id}")
            tenant, items = found
        licence = next((item for item in items if item.id == licence_id), None)
        if licence is None:
            raise NotFound(f"Sophos Central: tenant {tenant.id} has no licence {licence_id}")
        return term_record(ref, tenant.id, licence, items, self.ctx.clock())

    async def _tenant_holding(self, partner_id: str, licence_id: str) -> tuple[Tenant, list[License]] | None:
        async for tenant in self.api.tenants(partner_id):
            try:
                items = [item async for item in self.api.licenses(tenant)]
            except AuthenticationFailed as exc:
                if exc.vendor_status == 403 and tenant.billingType == "term":
                    continue  # partner assistance off: this tenant cannot be read
                raise
            if any(item.id == licence_id for item in items):
                return tenant, items
        return None
