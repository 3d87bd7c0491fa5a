"""Pure rules of linking (no I/O): how well a hub subscription matches a vendor subscription
a connection lists, which pairs sync proposes, and what adopting a vendor subscription
would create.

A match needs product evidence (the same SKU or product code, or a product name that is
the same or mostly the same); quantity and dates add confidence. The tenant is not scored:
only subscriptions of the client the vendor tenant is mapped to are ever compared.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

from hub.kit.money import MONTHS_IN_PERIOD, BillingPeriod
from hub.models.enums import RenewalType

K = TypeVar("K")  # what identifies a vendor subscription
H = TypeVar("H")  # what identifies a hub subscription

# Weights of the signals (the score is their sum, at most 100).
WEIGHTS: dict[str, int] = {
    "external_id": 60,  # the hub subscription already carries the vendor's id (an import)
    "sku": 40,
    "product": 30,
    "product_similar": 15,
    "quantity": 15,
    "end_date": 15,
    "end_date_near": 8,
    "start_date": 5,
}
PRODUCT_EVIDENCE = frozenset({"external_id", "sku", "product", "product_similar"})
MIN_SCORE = 40  # below this nothing is proposed
MAX_PER_VENDOR_SUBSCRIPTION = 3
NEAR_DAYS = 31
SIMILAR = 0.6  # share of the shorter name's words found in the other


@dataclass(frozen=True)
class VendorSide:
    """A vendor subscription as sync stored it (from its record's payload)."""

    external_id: str
    product: str
    codes: tuple[str, ...]  # SKU, product code, product id: any may be what the hub holds
    quantity: int | None
    starts_on: date | None
    ends_on: date | None


@dataclass(frozen=True)
class HubSide:
    external_id: str | None
    product: str
    sku: str | None
    quantity: int
    starts_on: date
    ends_on: date | None


@dataclass(frozen=True)
class Match:
    score: int
    signals: tuple[str, ...]

    @property
    def confidence(self) -> str:
        return confidence(self.score)


def confidence(score: int) -> str:
    return "high" if score >= 80 else "medium" if score >= 60 else "low"


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def vendor_side(kind: str, payload: Mapping[str, Any]) -> VendorSide:
    """A `subscriptions` record (SubscriptionRecord) or a `license_usage` one (LicenseRecord)."""
    codes = tuple(
        str(payload[key]).strip()
        for key in ("sku", "product_code", "product_external_id")
        if payload.get(key) not in (None, "")
    )
    quantity = _int(payload.get("quantity")) if kind == "subscriptions" else _int(payload.get("seats_paid"))
    return VendorSide(
        external_id=str(payload.get("external_id", "")),
        product=str(payload.get("product_name") or ""),
        codes=codes,
        quantity=quantity,
        starts_on=_date(payload.get("start_date")),
        ends_on=_date(payload.get("end_date")),
    )


_WORD = re.compile(r"[a-z0-9]+")


def _words(name: str) -> list[str]:
    return _WORD.findall(name.lower())


def _product_signal(hub: str, vendor: str) -> str | None:
    a, b = _words(hub), _words(vendor)
    if not a or not b:
        return None
    if a == b:
        return "product"
    shared = len(set(a) & set(b))
    return "product_similar" if shared / min(len(set(a)), len(set(b))) >= SIMILAR else None


def match(hub: HubSide, vendor: VendorSide) -> Match | None:
    """The signals that hold and their score; None without product evidence or below
    the minimum score."""
    signals: list[str] = []
    if hub.external_id is not None:
        if hub.external_id != vendor.external_id:
            return None  # it names another vendor subscription already
        signals.append("external_id")
    if hub.sku and hub.sku.strip().lower() in {c.lower() for c in vendor.codes}:
        signals.append("sku")
    product = _product_signal(hub.product, vendor.product)
    if product:
        signals.append(product)
    if not PRODUCT_EVIDENCE & set(signals):
        return None
    if vendor.quantity is not None and vendor.quantity == hub.quantity:
        signals.append("quantity")
    if vendor.ends_on is not None and hub.ends_on is not None:
        if vendor.ends_on == hub.ends_on:
            signals.append("end_date")
        elif abs((vendor.ends_on - hub.ends_on).days) <= NEAR_DAYS:
            signals.append("end_date_near")
    if vendor.starts_on is not None and vendor.starts_on == hub.starts_on:
        signals.append("start_date")
    score = min(100, sum(WEIGHTS[s] for s in signals))
    return Match(score, tuple(signals)) if score >= MIN_SCORE else None


@dataclass(frozen=True)
class Proposal(Generic[K, H]):
    vendor: K
    hub: H
    match: Match


def propose(
    vendor_subscriptions: Iterable[tuple[K, VendorSide]],
    hub_subscriptions: Iterable[tuple[H, HubSide]],
) -> list[Proposal[K, H]]:
    """For each vendor subscription, the best matching hub subscriptions (at most three,
    best first). Several vendor subscriptions may point at the same hub subscription: a
    technician decides, nothing is linked here."""
    hubs = list(hub_subscriptions)
    out: list[Proposal[K, H]] = []
    for key, vendor in vendor_subscriptions:
        found = [(hid, m) for hid, hub in hubs if (m := match(hub, vendor)) is not None]
        found.sort(key=lambda pair: -pair[1].score)
        out.extend(Proposal(key, hid, m) for hid, m in found[:MAX_PER_VENDOR_SUBSCRIPTION])
    return out


# --- adoption ----------------------------------------------------------------------------

_BILLING_TERMS = {
    "monthly": BillingPeriod.monthly,
    "month": BillingPeriod.monthly,
    "quarterly": BillingPeriod.quarterly,
    "annual": BillingPeriod.yearly,
    "annually": BillingPeriod.yearly,
    "yearly": BillingPeriod.yearly,
    "1-year": BillingPeriod.yearly,
    "2-year": BillingPeriod.biennial,
    "3-year": BillingPeriod.triennial,
}


def billing_period(billing_term: Any, commitment_months: Any) -> BillingPeriod | None:
    """The hub's billing period of a vendor's billing term ("Monthly", "Annual",
    "3-Year"), else of its commitment length when that is a whole period."""
    if isinstance(billing_term, str) and billing_term.strip().lower() in _BILLING_TERMS:
        return _BILLING_TERMS[billing_term.strip().lower()]
    months = _int(commitment_months)
    return next((p for p, n in MONTHS_IN_PERIOD.items() if n == months), None)


@dataclass(frozen=True)
class Adoption:
    """What adopting a vendor subscription creates, before a person's overrides. None:
    the record does not say (the person must)."""

    product: str
    sku: str | None
    quantity: int
    unit_cost: Decimal | None
    currency: str | None
    billing_period: BillingPeriod | None
    starts_on: date | None
    ends_on: date | None
    renewal_type: RenewalType


def adoption(kind: str, payload: Mapping[str, Any]) -> Adoption:
    side = vendor_side(kind, payload)
    try:
        cost = Decimal(str(payload["unit_cost"])) if payload.get("unit_cost") is not None else None
    except (InvalidOperation, ValueError):
        cost = None
    if cost is not None and (not cost.is_finite() or cost < 0):
        cost = None
    auto_renew = payload.get("auto_renew")
    currency = payload.get("currency")
    return Adoption(
        product=(side.product or side.external_id)[:300],
        sku=side.codes[0][:120] if side.codes else None,
        quantity=side.quantity if side.quantity is not None else 1,
        unit_cost=cost,
        currency=str(currency).upper() if isinstance(currency, str) and len(currency) == 3 else None,
        billing_period=billing_period(payload.get("billing_term"), payload.get("commitment_months")),
        starts_on=side.starts_on,
        ends_on=side.ends_on,
        # A vendor that renews by itself must not be ordered again by the hub.
        renewal_type=RenewalType.auto_vendor if auto_renew is True else RenewalType.manual,
    )
