"""Pure rules of sync (no I/O): record fingerprints, when a connection is due, and the
discrepancies between what a vendor says and what the hub holds. (Connection health after
an outcome is `hub.connection.health`.)"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hub.models.sync import DiscrepancyKind

# --- records -----------------------------------------------------------------------------


def content_hash(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- discrepancies -----------------------------------------------------------------------


@dataclass(frozen=True)
class HubSubscription:
    id: Any
    external_id: str
    quantity: int
    ends_on: date | None


@dataclass(frozen=True)
class HubWarranty:
    id: Any
    asset_serial: str
    ends_on: date


@dataclass(frozen=True)
class Finding:
    kind: DiscrepancyKind
    record_kind: str
    external_id: str
    tenant_external_id: str | None
    subject_type: str | None
    subject_id: Any
    hub_value: str | None
    vendor_value: str | None
    message: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind.value, self.record_kind, self.external_id)


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def find_discrepancies(
    records: Iterable[tuple[str, dict[str, Any]]],
    subscriptions: dict[str, HubSubscription],
    warranties: dict[str, list[HubWarranty]],
) -> list[Finding]:
    """`records` are (kind, payload) as stored; `subscriptions` the hub's, by external id;
    `warranties` the hub's manually entered ones, by asset serial.

    - a licence using more seats than are paid for;
    - a vendor subscription or licence whose quantity (seats paid) or end date differs
      from the hub subscription with the same external id;
    - a warranty whose vendor end date differs from the latest one the hub has for the
      asset with that serial.
    """
    found: list[Finding] = []
    for kind, p in records:
        ext, tenant = str(p["external_id"]), p.get("tenant_external_id")
        if kind == "license_usage":
            paid, used = p.get("seats_paid"), p.get("seats_used")
            if paid is not None and used is not None and used > paid:
                found.append(
                    Finding(
                        DiscrepancyKind.seats_over_paid,
                        kind,
                        ext,
                        tenant,
                        None,
                        None,
                        str(paid),
                        str(used),
                        f"{p.get('product_name', ext)}: {used} seats used, {paid} paid",
                    )
                )
        if kind in ("license_usage", "subscriptions"):
            hub = subscriptions.get(ext)
            if hub is None:
                continue
            quantity = p.get("quantity") if kind == "subscriptions" else p.get("seats_paid")
            name = p.get("product_name", ext)
            if quantity is not None and quantity != hub.quantity:
                found.append(
                    Finding(
                        DiscrepancyKind.quantity_mismatch,
                        kind,
                        ext,
                        tenant,
                        "subscription",
                        hub.id,
                        str(hub.quantity),
                        str(quantity),
                        f"{name}: the vendor has quantity {quantity}, the hub {hub.quantity}",
                    )
                )
            vendor_end = _date(p.get("end_date"))
            if vendor_end is not None and vendor_end != hub.ends_on:
                found.append(
                    Finding(
                        DiscrepancyKind.end_date_mismatch,
                        kind,
                        ext,
                        tenant,
                        "subscription",
                        hub.id,
                        hub.ends_on.isoformat() if hub.ends_on else None,
                        vendor_end.isoformat(),
                        f"{name}: the vendor says it ends on {vendor_end}, the hub {hub.ends_on or 'never'}",
                    )
                )
        if kind == "warranty" and p.get("found"):
            ends = [_date(e.get("end_date")) for e in p.get("entitlements", [])]
            vendor_end = max((e for e in ends if e), default=None)
            hub_list = warranties.get(ext, [])
            if vendor_end is None or not hub_list:
                continue
            latest = max(hub_list, key=lambda w: w.ends_on)
            if latest.ends_on != vendor_end:
                found.append(
                    Finding(
                        DiscrepancyKind.end_date_mismatch,
                        kind,
                        ext,
                        None,
                        "warranty",
                        latest.id,
                        latest.ends_on.isoformat(),
                        vendor_end.isoformat(),
                        f"warranty of {ext}: the vendor says it ends on {vendor_end}, "
                        f"the hub {latest.ends_on}",
                    )
                )
    return found


def is_due(next_sync_at: datetime | None, now: datetime) -> bool:
    return next_sync_at is None or next_sync_at <= now
