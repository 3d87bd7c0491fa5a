"""Microsoft Graph shapes -> hub records (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from adapters.microsoft_graph.api import (
    CompanySubscription,
    Domain,
    DomainDnsRecord,
    Organization,
    SubscribedSku,
)
from hub.sdk.parsing import parse_date
from hub.sdk.records import DnsRequirement, LicenseRecord, MailDomainRecord, SubscriptionRecord, TenantRecord

# Graph only knows part numbers; these are the names customers see on their invoices.
PRODUCT_NAMES = {
    "O365_BUSINESS_ESSENTIALS": "Microsoft 365 Business Basic",
    "O365_BUSINESS_PREMIUM": "Microsoft 365 Business Standard",
    "SPB": "Microsoft 365 Business Premium",
    "EXCHANGESTANDARD": "Exchange Online (Plan 1)",
    "EXCHANGEENTERPRISE": "Exchange Online (Plan 2)",
    "ENTERPRISEPACK": "Office 365 E3",
    "SPE_E3": "Microsoft 365 E3",
    "SPE_E5": "Microsoft 365 E5",
    "ATP_ENTERPRISE": "Microsoft Defender for Office 365 (Plan 1)",
    "POWER_BI_PRO": "Power BI Pro",
    "FLOW_FREE": "Microsoft Power Automate Free",
}

RECORD_TYPES = {
    "#microsoft.graph.domainDnsMxRecord": "MX",
    "#microsoft.graph.domainDnsTxtRecord": "TXT",
    "#microsoft.graph.domainDnsCnameRecord": "CNAME",
    "#microsoft.graph.domainDnsSrvRecord": "SRV",
}


def product_name(part_number: str | None) -> str:
    if not part_number:
        return "unknown product"
    return PRODUCT_NAMES.get(part_number, part_number)


def tenant_record(org: Organization) -> TenantRecord:
    default = next((d.name for d in org.verifiedDomains if d.isDefault), None)
    return TenantRecord(
        external_id=org.id,
        name=(org.displayName or "").strip() or org.id,
        region=org.countryLetterCode,
        domain=default,
    )


def subscription_record(tenant_id: str, sub: CompanySubscription) -> SubscriptionRecord:
    return SubscriptionRecord(
        external_id=sub.id,
        tenant_external_id=tenant_id,
        product_external_id=sub.skuId,
        product_name=product_name(sub.skuPartNumber),
        sku=sub.skuPartNumber,
        quantity=sub.totalLicenses or 0,
        billing_term="trial" if sub.isTrial else None,
        start_date=parse_date(sub.createdDateTime, what="subscription createdDateTime"),
        # When the subscription moves on (expires, is disabled, is deleted) unless renewed.
        end_date=parse_date(sub.nextLifecycleDateTime, what="subscription nextLifecycleDateTime"),
        status=sub.status,
    )


def license_record(
    tenant_id: str, sku: SubscribedSku, subscriptions: Mapping[str, CompanySubscription]
) -> LicenseRecord:
    """A SKU's seats (paid = prepaidUnits.enabled, used = consumedUnits); its dates come
    from the directory subscriptions behind it (the SKU itself has none)."""
    linked = [subscriptions[s] for s in sku.subscriptionIds if s in subscriptions]
    live = [s for s in linked if s.status != "Deleted"] or linked
    starts = [d for d in (parse_date(s.createdDateTime, what="createdDateTime") for s in live) if d]
    ends = [d for d in (parse_date(s.nextLifecycleDateTime, what="nextLifecycleDateTime") for s in live) if d]
    trial = bool(live) and all(s.isTrial for s in live)
    return LicenseRecord(
        external_id=sku.id,
        tenant_external_id=tenant_id,
        product_code=sku.skuPartNumber,
        product_name=product_name(sku.skuPartNumber),
        license_type="trial" if trial else "subscription",
        seats_paid=sku.prepaidUnits.enabled,
        seats_used=sku.consumedUnits,
        start_date=min(starts) if starts else None,
        end_date=min(ends) if ends else None,
        status=sku.capabilityStatus,
    )


def _purpose(record: DomainDnsRecord, kind: str, verification: bool) -> str:
    if verification:
        return "verification"
    if kind == "MX":
        return "mx"
    if kind == "TXT" and (record.text or "").lower().startswith("v=spf1"):
        return "spf"
    if kind == "CNAME" and record.label.lower().startswith("autodiscover."):
        return "autodiscover"
    return (record.supportedService or "other").lower()


def dns_requirement(record: DomainDnsRecord, *, verification: bool) -> DnsRequirement | None:
    """One Graph DNS record as a requirement; None for `domainDnsUnavailableRecord` and
    subtypes this adapter does not know."""
    kind = RECORD_TYPES.get(
        record.odata_type if record.odata_type.startswith("#") else f"#{record.odata_type}"
    )
    if kind is None:
        return None
    name, value = record.label, None
    if kind == "MX":
        value = record.mailExchange
    elif kind == "TXT":
        value = record.text
    elif kind == "CNAME":
        value = record.canonicalName
    elif kind == "SRV" and record.nameTarget and record.service and record.protocol:
        name = f"{record.service}.{record.protocol}.{record.label}"
        value = f"{record.priority or 0} {record.weight or 0} {record.port or 0} {record.nameTarget}"
    if not value:
        return None
    return DnsRequirement(
        purpose=_purpose(record, kind, verification),
        type=kind,
        name=name.rstrip(".").lower(),
        value=value,
        ttl=record.ttl if record.ttl and record.ttl > 0 else None,
        optional=record.isOptional,
    )


def mail_domain_record(
    tenant_id: str,
    domain: Domain,
    service: Iterable[DomainDnsRecord],
    verification: Iterable[DomainDnsRecord],
) -> MailDomainRecord:
    wanted = [dns_requirement(r, verification=True) for r in verification]
    wanted += [dns_requirement(r, verification=False) for r in service]
    return MailDomainRecord(
        external_id=domain.id.lower(),
        tenant_external_id=tenant_id,
        name=domain.id.lower(),
        verified=domain.isVerified,
        is_default=domain.isDefault,
        services=tuple(domain.supportedServices),
        required_records=tuple(r for r in wanted if r is not None),
    )
