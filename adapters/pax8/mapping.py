"""Pax8 wire shapes -> hub records (pure functions, no I/O)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, time
from decimal import Decimal
from urllib.parse import urlsplit

from hub.sdk.parsing import parse_date
from hub.sdk.records import (
    Deliverable,
    DeliverableKind,
    OrderRecord,
    SubscriptionRecord,
    TenantRecord,
    TermRecord,
    TermState,
)

from .api import Company, Order, Pricing, Subscription

_TERM_MONTHS = {"monthly": 1, "annual": 12, "yearly": 12}
_YEARS = re.compile(r"^(\d+)[- ]?years?$", re.IGNORECASE)
_MONTHS = re.compile(r"^(\d+)[- ]?months?$", re.IGNORECASE)
SAFE_TAG = re.compile(r"^[a-z0-9_-]+$")
EMAIL_LOCAL_MAX = 64
# Pax8 states of a subscription whose provisioning is not complete: an order that left
# one of its lines in them is accepted (placed) but not delivered yet.
PENDING_STATES = frozenset({"PendingAutomated", "PendingManual", "WaitingForDetails", "PendingActivation"})
# A Fortinet contract registration code as printed on its certificate (5-5-5-5-6).
FORTINET_CODE = re.compile(r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){3}-[A-Z0-9]{6}$")


def term_months(term: str | None) -> int | None:
    """Months of a Pax8 billing or commitment term ("Monthly", "Annual", "1-Year", "3-Year")."""
    if not term:
        return None
    text = term.strip()
    if text.lower() in _TERM_MONTHS:
        return _TERM_MONTHS[text.lower()]
    if match := _YEARS.match(text):
        return int(match.group(1)) * 12
    if match := _MONTHS.match(text):
        return int(match.group(1))
    return None  # One-Time, Trial, Activation: no term


def billing_term_for(months: int | None) -> str | None:
    """The Pax8 `billingTerm` for a commitment length (None when there is no such term)."""
    return {1: "Monthly", 12: "Annual", 24: "2-Year", 36: "3-Year"}.get(months or 0)


def _domain(website: str | None) -> str | None:
    if not website or not website.strip():
        return None
    text = website.strip()
    host = urlsplit(text if "//" in text else f"//{text}").hostname
    return host.removeprefix("www.") if host else None


def tenant(company: Company) -> TenantRecord:
    billing = None
    if company.bill_on_behalf_of_enabled is not None:
        billing = "bill_on_behalf_of" if company.bill_on_behalf_of_enabled else "partner"
    return TenantRecord(
        external_id=company.id,
        name=company.name,
        status=company.status,
        region=company.address.country if company.address else None,
        domain=_domain(company.website),
        billing_type=billing,
    )


def subscription(
    sub: Subscription, *, product_name: str | None, auto_renew: bool | None
) -> SubscriptionRecord:
    commitment = sub.commitment_term
    months = term_months(commitment.term if commitment else None) or term_months(sub.billing_term)
    end = parse_date(commitment.end_date, what="commitment end date") if commitment else None
    return SubscriptionRecord(
        external_id=sub.id,
        tenant_external_id=sub.company_id,
        product_external_id=sub.product_id,
        product_name=sub.product_name or product_name or sub.product_id or "Pax8 product",
        sku=sub.vendor_sku_id,
        quantity=sub.quantity,
        unit_cost=sub.partner_cost if sub.partner_cost is not None else sub.price,
        currency=sub.currency_code.upper() if sub.currency_code else None,
        billing_term=sub.billing_term,
        commitment_months=months,
        start_date=parse_date(sub.start_date, what="subscription start date"),
        end_date=end or parse_date(sub.end_date, what="subscription end date"),
        auto_renew=auto_renew if commitment else None,
        status=sub.status,
    )


def reference_tag(reference: str, budget: int) -> str:
    """Our order reference as it fits an email local part: itself when short and plain,
    otherwise a stable digest of it (the same reference always gives the same tag)."""
    plain = reference.lower()
    if plain == reference and SAFE_TAG.match(plain) and len(plain) <= budget:
        return plain
    return "h" + hashlib.sha256(reference.encode()).hexdigest()[: max(8, min(32, budget - 1))]


def tagged_email(mailbox: str, reference: str) -> str:
    """`renewals@msp.example` + reference -> `renewals+<tag>@msp.example` (RFC 5233
    subaddressing): Pax8's `orderedByUserEmail` is the one order field we may choose."""
    local, _, domain = mailbox.partition("@")
    local = local.split("+", 1)[0]
    return f"{local}+{reference_tag(reference, EMAIL_LOCAL_MAX - len(local) - 1)}@{domain}"


def order_created(order: Order) -> datetime | None:
    """`createdDate` is a date in Pax8's examples and a date-time elsewhere: accept both."""
    if not order.created_date:
        return None
    text = order.created_date
    if len(text) == 10:
        day = parse_date(text, what="order createdDate")
        return datetime.combine(day, time(), UTC) if day else None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        day = parse_date(text, what="order createdDate")
        return datetime.combine(day, time(), UTC) if day else None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def order(
    order: Order,
    *,
    reference: str | None,
    pending: bool | None = None,
    deliverables: tuple[Deliverable, ...] = (),
) -> OrderRecord:
    return OrderRecord(
        external_id=order.id or "unknown",
        reference=reference,
        tenant_external_id=order.company_id,
        status="scheduled" if order.is_scheduled else "placed",
        created_at=order_created(order),
        subscription_external_ids=tuple(li.subscription_id for li in order.line_items if li.subscription_id),
        pending=pending,
        deliverables=deliverables,
    )


def created_since(order: Order, since: datetime) -> bool:
    """Whether the order was created at or after `since`. Pax8's `createdDate` is a date in
    its examples: then the day is compared (an order of that day counts)."""
    created = order_created(order)
    if created is None:
        return False
    if order.created_date and len(order.created_date) == 10:
        return created.date() >= since.astimezone(UTC).date()
    return created >= since


def deliverable(sub: Subscription, *, vendor_name: str | None) -> Deliverable | None:
    """What a provisioned subscription delivers to the buyer. Our reading (not documented
    by Pax8): the vendor's id of the subscription (`vendorSubscriptionId`, what a vendor
    provisioner reports as `externalProvisionerSubscriptionId`) carries a Fortinet bundle's
    contract registration code; anything else is the vendor's subscription id."""
    value = (sub.vendor_subscription_id or "").strip()
    if not value or sub.status in PENDING_STATES:
        return None
    fortinet = "fortinet" in (vendor_name or "").lower()
    kind = (
        DeliverableKind.registration_code
        if fortinet and FORTINET_CODE.match(value.upper())
        else DeliverableKind.vendor_subscription_id
    )
    return Deliverable(
        kind=kind,
        value=value.upper() if kind is DeliverableKind.registration_code else value,
        subscription_external_id=sub.id,
        product_external_id=sub.product_id,
    )


def term_state(status: str) -> TermState:
    if status in PENDING_STATES:
        return TermState.pending
    if status == "Cancelled":
        return TermState.cancelled
    if status in ("Active", "PendingCancel", "Trial", "Activated", "Converted"):
        return TermState.active
    return TermState.unknown


def term(sub: Subscription, read_at: datetime) -> TermRecord:
    """A subscription's term as Pax8 shows it: the commitment end date when there is one."""
    commitment = sub.commitment_term
    committed = parse_date(commitment.end_date, what="commitment end date") if commitment else None
    ends = committed or parse_date(sub.end_date, what="subscription end date")
    field = "commitmentTerm.endDate" if committed else "endDate"
    product = sub.product_name or sub.product_id or "product"
    evidence = (
        f"Pax8 subscription {sub.id} ({product}): status {sub.status}, "
        f"{field} {ends.isoformat() if ends else 'not set'}, quantity {sub.quantity}"
    )
    return TermRecord(
        external_id=sub.id,
        ends_on=ends,
        starts_on=parse_date(sub.start_date, what="subscription start date"),
        state=term_state(sub.status),
        evidence=evidence,
        read_at=read_at,
    )


def unit_price(
    pricing: list[Pricing], *, billing_term: str | None, months: int | None, quantity: int
) -> tuple[Decimal, int | None] | None:
    """The partner's unit price for `quantity` under the matching billing/commitment term.

    A "Flat Rate" tier is spread over the quantity so that unit_price * quantity is the
    tier's price."""
    candidates = [p for p in pricing if billing_term is None or p.billing_term == billing_term]
    if months is not None:
        by_term = [
            p
            for p in candidates
            if (p.commitment_term_in_months or term_months(p.commitment_term) or term_months(p.billing_term))
            == months
        ]
        candidates = by_term or candidates
    for entry in candidates:
        for rate in entry.rates:
            low = rate.start_quantity_range or 0
            high = rate.end_quantity_range
            if quantity >= low and (high is None or quantity <= high):
                price = rate.partner_buy_rate
                if (rate.charge_type or "").lower().startswith("flat"):
                    price = price / quantity
                months_out = entry.commitment_term_in_months or term_months(entry.commitment_term) or months
                return price, months_out
    return None


__all__ = [
    "billing_term_for",
    "created_since",
    "deliverable",
    "order",
    "order_created",
    "reference_tag",
    "subscription",
    "tagged_email",
    "tenant",
    "term",
    "term_months",
    "term_state",
    "unit_price",
]
