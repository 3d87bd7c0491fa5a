"""Sophos Central shapes -> hub records (pure functions)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from adapters.sophos_central.api import License, Tenant
from hub.sdk.parsing import parse_date
from hub.sdk.records import LicenseRecord, TenantRecord, TermRecord, TermState


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


def term_record(
    ref: str, tenant_id: str, item: License, siblings: list[License], read_at: datetime
) -> TermRecord:
    """A licence's term as Sophos shows it. A renewal may move this licence's `endDate` or
    add a successor licence of the same product that starts by the day after it ends: the
    term runs to the end of that unbroken chain (each link named in the evidence)."""
    start = parse_date(item.startDate, what="licence startDate")
    end = None if item.perpetual else parse_date(item.endDate, what="licence endDate")
    name = item.product.name or item.product.code
    evidence = [f"Sophos Central tenant {tenant_id}, licence {item.id} ({item.product.code} {name}): "]
    evidence.append("perpetual" if item.perpetual else f"endDate {end.isoformat() if end else 'not set'}")
    chain_end = end
    while chain_end is not None:
        successor = _successor(item.product.code, chain_end, siblings)
        if successor is None:
            break
        next_end = parse_date(successor.endDate, what="licence endDate")
        assert next_end is not None  # _successor only returns licences that end later
        evidence.append(f"; continued by licence {successor.id} to {next_end.isoformat()}")
        chain_end = next_end
    today = read_at.date()
    status = license_status(start, chain_end, item.perpetual, today)
    state = {"pending": TermState.pending, "expired": TermState.expired}.get(status, TermState.active)
    return TermRecord(
        external_id=ref,
        ends_on=chain_end,
        starts_on=start,
        state=state,
        evidence="".join(evidence)[:1000],
        read_at=read_at,
    )


def _successor(code: str, end: date, siblings: list[License]) -> License | None:
    """The licence of the same product that picks up where `end` leaves off, if any (the
    one reaching furthest when several do)."""
    found: tuple[date, License] | None = None
    for other in siblings:
        if other.product.code != code or other.perpetual:
            continue
        other_start = parse_date(other.startDate, what="licence startDate")
        other_end = parse_date(other.endDate, what="licence endDate")
        if other_start is None or other_end is None or other_end <= end:
            continue
        if other_start <= end + timedelta(days=1) and (found is None or other_end > found[0]):
            found = (other_end, other)
    return found[1] if found else None
