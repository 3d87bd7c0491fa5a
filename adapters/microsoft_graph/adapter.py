"""Microsoft Graph adapter for one customer tenant: the organisation, SKUs with seats
paid and used, directory subscriptions with their lifecycle dates, and mail domains with
the DNS records Microsoft 365 asks them to publish."""

from __future__ import annotations

from collections.abc import AsyncIterator

from adapters.microsoft_graph.api import DomainDnsRecord, GraphApi, Organization
from adapters.microsoft_graph.config import MicrosoftGraphConfig
from adapters.microsoft_graph.mapping import (
    license_record,
    mail_domain_record,
    subscription_record,
    tenant_record,
)
from hub.sdk import AdapterContext, AuthenticationFailed
from hub.sdk.records import (
    AccountIdentity,
    LicenseRecord,
    MailDomainRecord,
    SubscriptionRecord,
    TenantRecord,
)


class MicrosoftGraphAdapter:
    def __init__(self, config: MicrosoftGraphConfig, ctx: AdapterContext) -> None:
        self.config = config
        self.ctx = ctx
        self.api = GraphApi(config, ctx)
        self._org: Organization | None = None

    def __repr__(self) -> str:
        return f"MicrosoftGraphAdapter(tenant_id={self.config.tenant_id!r})"

    async def _organization(self) -> Organization:
        """The tenant the token really answers for. Graph has no tenant in its URLs: a
        token for another tenant (a cache mix-up, a wrong authority) would silently read
        that tenant's data under this connection, so it is refused before any record."""
        if self._org is None:
            org = await self.api.organization()
            if org.id.lower() != self.config.tenant_id:
                raise AuthenticationFailed("Microsoft Graph answered for a different tenant than tenant_id")
            self._org = org
        return self._org

    async def verify(self) -> AccountIdentity:
        org = await self._organization()
        record = tenant_record(org)
        details = {k: v for k, v in {"default_domain": record.domain, "country": record.region}.items() if v}
        return AccountIdentity(account_ref=org.id.lower(), name=record.name, details=details)

    async def aclose(self) -> None:
        return None

    def _other_tenant(self, tenant_external_id: str | None) -> bool:
        return tenant_external_id is not None and tenant_external_id.lower() != self.config.tenant_id

    async def list_tenants(self) -> AsyncIterator[TenantRecord]:
        yield tenant_record(await self._organization())

    async def list_subscriptions(
        self, tenant_external_id: str | None = None
    ) -> AsyncIterator[SubscriptionRecord]:
        if self._other_tenant(tenant_external_id):
            return
        await self._organization()
        async for sub in self.api.subscriptions():
            yield subscription_record(self.config.tenant_id, sub)

    async def list_licenses(self, tenant_external_id: str | None = None) -> AsyncIterator[LicenseRecord]:
        if self._other_tenant(tenant_external_id):
            return
        await self._organization()
        subscriptions = {}
        async for sub in self.api.subscriptions():
            subscriptions[sub.id] = sub
            if sub.commerceSubscriptionId:
                subscriptions[sub.commerceSubscriptionId] = sub
        async for sku in self.api.subscribed_skus():
            yield license_record(self.config.tenant_id, sku, subscriptions)

    async def list_mail_domains(self) -> AsyncIterator[MailDomainRecord]:
        await self._organization()
        async for domain in self.api.domains():
            service = [r async for r in self.api.service_records(domain.id)]
            verification: list[DomainDnsRecord] = []
            if not domain.isVerified:
                # A verified domain no longer needs its MS=... record: asking for it would
                # be a false alarm.
                verification = [r async for r in self.api.verification_records(domain.id)]
            yield mail_domain_record(self.config.tenant_id, domain, service, verification)
