"""FortiCare wire shapes -> hub records (pure functions, no I/O)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from hub.sdk.parsing import parse_date
from hub.sdk.records import (
    AssetRecord,
    EntitlementRecord,
    RegistrationRecord,
    TermRecord,
    TermState,
    WarrantyRecord,
)

from .api import Asset, Entitlement

# FortiCare's words for a code that is already registered (to this unit or another). Not
# documented: taken broadly, since a miss only means the adapter reports the refusal.
ALREADY_REGISTERED = re.compile(r"already\s+(been\s+)?(registered|used)|has\s+been\s+used|in\s+use", re.I)


def _end(entitlement: Entitlement) -> date | None:
    return parse_date(entitlement.endDate, what="FortiCare entitlement endDate")


def latest_end(asset: Asset) -> date | None:
    ends = [end for end in (_end(e) for e in asset.entitlements or []) if end is not None]
    return max(ends) if ends else None


def asset_record(asset: Asset) -> AssetRecord:
    return AssetRecord(
        external_id=asset.serialNumber,
        model=(asset.productModel or "").strip() or None,
        serial_number=asset.serialNumber,
    )


def entitlement(e: Entitlement) -> EntitlementRecord:
    return EntitlementRecord(
        service_level=(e.levelDesc or "").strip() or (str(e.level) if e.level is not None else "unknown"),
        description=(e.typeDesc or "").strip() or None,
        kind=str(e.type) if e.type is not None else None,
        start_date=parse_date(e.startDate, what="FortiCare entitlement startDate"),
        end_date=_end(e),
    )


# FortiCare's entitlement type for the hardware cover (return and replace).
HARDWARE_TYPE = 1


def _is_hardware(e: Entitlement) -> bool:
    return e.type == HARDWARE_TYPE or (e.typeDesc or "").strip().lower() == "hardware"


def warranty(asset: Asset) -> WarrantyRecord:
    """The unit's hardware warranty: its hardware entitlement. FortiGuard services and
    support levels are licences bought with a bundle (read with `read_term`); counted as
    warranty, every bundle renewal would look like a warranty the hub got wrong. A unit
    listing no hardware entitlement shows all of them (better than nothing)."""
    entitlements = asset.entitlements or []
    chosen = [e for e in entitlements if _is_hardware(e)] or entitlements
    return WarrantyRecord(
        external_id=asset.serialNumber,
        found=True,
        model=(asset.productModel or "").strip() or None,
        ship_date=None,  # FortiCare gives the registration date, not a ship date
        entitlements=tuple(entitlement(e) for e in chosen),
    )


def _matches(e: Entitlement, kind: str) -> bool:
    wanted = kind.strip().lower()
    return str(e.type) == wanted or (e.typeDesc or "").strip().lower() == wanted


def term(ref: str, asset: Asset, kind: str, read_at: datetime) -> TermRecord | None:
    """A unit's FortiCare term: the latest end of all its entitlements, or of those of one
    type (`kind`: the type number or its description); None when it has none of that type."""
    chosen = [e for e in asset.entitlements or [] if not kind or _matches(e, kind)]
    dated = [(e, end) for e, end in ((e, _end(e)) for e in chosen) if end is not None]
    if not dated:
        return None
    latest, ends = max(dated, key=lambda pair: pair[1])
    today = read_at.date()
    listed = "; ".join(
        f"{(e.typeDesc or str(e.type)).strip()} ({(e.levelDesc or '').strip() or 'level ' + str(e.level)}) "
        f"to {end.isoformat()}"
        for e, end in sorted(dated, key=lambda pair: pair[1], reverse=True)
    )
    what = f"entitlements of type {kind}" if kind else "entitlements"
    evidence = (
        f"FortiCare unit {asset.serialNumber} ({asset.productModel or 'model not given'}), {what}: {listed}"
    )
    starts = parse_date(latest.startDate, what="FortiCare entitlement startDate")
    state = TermState.expired if ends < today else TermState.active
    return TermRecord(
        external_id=ref,
        ends_on=ends,
        starts_on=starts,
        state=state,
        evidence=evidence[:1000],
        read_at=read_at,
    )


def mentions(details: dict[str, Any], code: str) -> bool:
    """Whether a unit's details name the registration code anywhere (with or without its
    dashes): FortiCare documents no field that echoes the code, so every field is searched."""
    text = json.dumps(details).upper()
    return code.upper() in text or code.replace("-", "").upper() in text


def registration(
    code: str, serial: str, raw_asset: dict[str, Any] | None, *, already: bool, registered_at: datetime
) -> RegistrationRecord:
    """The registration as the unit shows it: the contract that names the code (or the only
    one), and the latest entitlement end FortiCare showed (which may lag the registration)."""
    asset = Asset.model_validate(raw_asset) if raw_asset else None
    contract: dict[str, Any] | None = None
    raw_contracts = [c for c in (raw_asset or {}).get("contracts") or [] if isinstance(c, dict)]
    for candidate in raw_contracts:
        if mentions(candidate, code):
            contract = candidate
    if contract is None and len(raw_contracts) == 1:
        contract = raw_contracts[0]
    number, sku = (contract or {}).get("contractNumber"), (contract or {}).get("sku")
    return RegistrationRecord(
        external_id=code,
        serial_number=serial,
        contract_code=code,
        contract_number=number if isinstance(number, str) and number else None,
        sku=sku if isinstance(sku, str) and sku else None,
        already_registered=already,
        ends_on=latest_end(asset) if asset is not None else None,
        registered_at=None if already else registered_at,
    )


__all__ = [
    "ALREADY_REGISTERED",
    "asset_record",
    "entitlement",
    "latest_end",
    "mentions",
    "registration",
    "term",
    "warranty",
]
