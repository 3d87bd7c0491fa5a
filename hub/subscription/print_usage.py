"""Pay-per-print: pages used in a printer plan's current term against its allowance.

A plan is a subscription whose `print_allowance` names the printer (an asset of the same
client), the pages the current term includes, the price of each page over them and the
counter they are counted on. The pages used are the latest synced counter of that printer
(its `printer_status` vendor record, matched by serial) minus the counter at the start of
the term: the reading someone entered (`start_count`), else the first reading a sync took
in the term (`term_start_reading`, written by `hub.sync.service`). Pages printed between
the term's start and that first sync are not counted: enter `start_count` to count them.
The comparison itself is the printer adapter's `compare_allowance` (exact Decimal).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Asset, Subscription
from hub.models.sync import VendorRecord
from hub.subscription.service import SYNCED_READING

PRINTER_KIND = "printer_status"


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


async def latest_reading(session: AsyncSession, asset: Asset) -> tuple[dict[str, Any], datetime] | None:
    """The newest synced status of the printer: its record (of the asset's client) with
    the latest reading time."""
    if not asset.serial:
        return None
    stmt = select(VendorRecord.payload).where(
        VendorRecord.kind == PRINTER_KIND,
        VendorRecord.external_id == asset.serial,
        VendorRecord.client_id == asset.client_id,
    )
    best: tuple[dict[str, Any], datetime] | None = None
    for payload in (await session.execute(stmt)).scalars():
        read_at = _moment(payload.get("read_at"))
        if read_at is not None and (best is None or read_at > best[1]):
            best = (payload, read_at)
    return best


async def print_usage(session: AsyncSession, sub: Subscription) -> dict[str, Any]:
    from adapters.printer_snmp.allowance import compare_allowance  # pure; no SNMP import needed by callers

    allowance = sub.print_allowance or None
    out: dict[str, Any] = {
        "subscription_id": sub.id,
        "term_starts_on": sub.starts_on,
        "term_ends_on": sub.ends_on,
        "currency": sub.currency,
        "asset_id": None,
        "serial": None,
        "counter": None,
        "allowance_pages": None,
        "price_per_page": None,
        "start": None,
        "latest": None,
        "pages_used": None,
        "overage_pages": None,
        "remaining_pages": None,
        "overage_cost": None,
        "counter_reset": False,
    }
    if not allowance:
        return {**out, "status": "not_a_print_plan"}
    counter = str(allowance.get("counter") or "total")
    out.update(
        asset_id=allowance.get("asset_id"),
        counter=counter,
        allowance_pages=int(allowance["allowance_pages"]),
        price_per_page=Decimal(str(allowance["price_per_page"])),
    )
    try:
        asset = await session.get(Asset, uuid.UUID(str(allowance.get("asset_id"))))
    except ValueError:
        asset = None
    if asset is None or asset.client_id != sub.client_id:
        return {**out, "status": "no_printer"}
    out["serial"] = asset.serial
    found = await latest_reading(session, asset)
    end_count = found[0].get(f"page_count_{counter}") if found else None
    if found is None or end_count is None or found[1].date() < sub.starts_on:
        return {**out, "status": "no_reading"}
    out["latest"] = {"count": int(end_count), "read_at": found[1], "source": "synced"}
    if allowance.get("start_count") is not None:
        out["start"] = {"count": int(allowance["start_count"]), "read_at": None, "source": "manual"}
    else:
        taken = allowance.get(SYNCED_READING) or {}
        if taken.get("term_starts_on") == sub.starts_on.isoformat() and taken.get(counter) is not None:
            out["start"] = {
                "count": int(taken[counter]),
                "read_at": _moment(taken.get("read_at")),
                "source": "synced",
            }
    if out["start"] is None:
        return {**out, "status": "no_reading"}
    usage = compare_allowance(
        out["start"]["count"], out["latest"]["count"], out["allowance_pages"], out["price_per_page"]
    )
    return {
        **out,
        "pages_used": usage.pages_used,
        "overage_pages": usage.overage_pages,
        "remaining_pages": usage.remaining_pages,
        "overage_cost": usage.overage_cost,
        "counter_reset": usage.counter_reset,
        "status": "over" if usage.over else "within",
    }
