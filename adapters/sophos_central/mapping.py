"""Sophos Central shapes -> hub records (pure functions)."""

from __future__ import annotations

from datetime import date

from adapters.sophos_central.api import License, Tenant
from hub.sdk.parsing import parse_date
from hub.sdk.records import LicenseRecord, TenantRecord


def tenant_record(tenant: Tenant) -> TenantRecord:
    return TenantRecord(
        external_id=tenant.id,
        # `showAs` is the name the partner sees in Sophos Central; `name` the legal one.
        name=(tenant.showAs or tenant.name).strip() or tenant.id,
        status=tenant.status,
        region=tenant.dataRegion,
        billing_type=tenant.billingType,
    )


def license_status(start: date | None, end: date | None, perpetual: bool | None, today: date) -> str:
    if start is not None and today < start:
        return "pending"
    if perpetual or end is None or today <= end:
        return "active"
    return "expired"


def license_record(tenant_id: str, item: License, today: date) -> LicenseRecord:
    start = parse_date(item.startDate, what="licence startDate")
    end = None if item.perpetual else parse_date(item.endDate, what="licence endDate")
    used = item.usage.current.count if item.usage and item.usage.current else None
    return LicenseRecord(
        external_id=item.id,
        tenant_external_id=tenant_id,
        product_code=item.product.code,
        product_name=item.product.name or item.product.code,
        license_type=item.type,
        seats_paid=item.quantity,
        seats_used=used,
        start_date=start,
        end_date=end,
        status=license_status(start, end, item.perpetual, today),
    )
