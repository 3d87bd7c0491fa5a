"""Dell assets -> WarrantyRecord (pure functions)."""

from __future__ import annotations

from datetime import date

from hub.sdk.parsing import parse_date
from hub.sdk.records import EntitlementRecord, WarrantyRecord

from .api import Asset


def not_found(tag: str) -> WarrantyRecord:
    return WarrantyRecord(external_id=tag, found=False)


def warranty(tag: str, assets: list[Asset]) -> WarrantyRecord:
    """One record for a tag from every asset Dell returned for it (a `duplicated` tag may
    come back more than once: their entitlements are merged)."""
    known = [a for a in assets if not a.invalid]
    if not known:
        return not_found(tag)
    entitlements = {
        EntitlementRecord(
            service_level=(e.service_level_code or "").strip() or "unknown",
            description=e.service_level_description,
            kind=e.entitlement_type.upper() if e.entitlement_type else None,
            start_date=parse_date(e.start_date, what="entitlement startDate"),
            end_date=parse_date(e.end_date, what="entitlement endDate"),
        )
        for asset in known
        for e in asset.entitlements or []
    }
    first = known[0]
    ship_dates = [d for d in (parse_date(a.ship_date, what="shipDate") for a in known) if d]
    return WarrantyRecord(
        external_id=tag,
        found=True,
        model=first.product_line_description or first.system_description or first.product_family,
        ship_date=min(ship_dates) if ship_dates else None,
        entitlements=tuple(
            sorted(
                entitlements,
                key=lambda e: (
                    e.start_date or e.end_date or _EPOCH,
                    e.end_date or _EPOCH,
                    e.service_level,
                    e.kind or "",
                ),
            )
        ),
    )


_EPOCH = date.min

__all__ = ["not_found", "warranty"]
