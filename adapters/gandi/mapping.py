"""Gandi wire shapes -> hub records (pure functions, no I/O)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from hub.sdk.parsing import parse_date
from hub.sdk.records import DomainRecord, OrderRecord, SubscriptionRecord, TermRecord, TermState

from .api import Check, Domain

# EPP statuses (RFC 5731) that stop a renewal, and the one a registry shows while it
# processes one (as Gandi lists them: camelCase EPP names).
RENEW_BLOCKERS = frozenset(
    {"clientRenewProhibited", "serverRenewProhibited", "pendingDelete", "redemptionPeriod"}
)
PENDING_RENEW = "pendingRenew"


def expiry(domain: Domain) -> date | None:
    return parse_date(domain.dates.registry_ends_at, what="registry_ends_at")


def domain_record(domain: Domain) -> DomainRecord:
    return DomainRecord(
        external_id=domain.fqdn.lower(),
        name=domain.fqdn.lower(),
        expires_on=expiry(domain),
        statuses=tuple(domain.status),
        auto_renew=domain.auto_renew,
        tenant_external_id=domain.sharing_space.id if domain.sharing_space else None,
    )


def state(domain: Domain, today: date) -> TermState:
    ends = expiry(domain)
    if PENDING_RENEW in domain.status:
        return TermState.pending
    if ends is not None and ends < today:
        return TermState.expired
    return TermState.active


def subscription(domain: Domain, today: date) -> SubscriptionRecord:
    """A domain registration as a subscription: one unit, renewed by the year."""
    term_state = state(domain, today)
    return SubscriptionRecord(
        external_id=domain.fqdn.lower(),
        tenant_external_id=domain.sharing_space.id if domain.sharing_space else None,
        product_external_id=f"domain:{(domain.tld or domain.fqdn.rsplit('.', 1)[-1]).lower()}",
        product_name=f"Domain {domain.fqdn.lower()}",
        quantity=1,
        billing_term="Annual",
        commitment_months=12,
        start_date=parse_date(domain.dates.registry_created_at, what="registry_created_at"),
        end_date=expiry(domain),
        auto_renew=domain.auto_renew,
        status={TermState.pending: "PendingRenew", TermState.expired: "Expired"}.get(term_state, "Active"),
    )


def term(ref: str, domain: Domain, read_at: datetime) -> TermRecord:
    ends = expiry(domain)
    statuses = ", ".join(domain.status) or "none"
    evidence = (
        f"Gandi domain {domain.fqdn.lower()}: dates.registry_ends_at "
        f"{domain.dates.registry_ends_at or 'not set'}, EPP status {statuses}"
    )
    return TermRecord(
        external_id=ref,
        ends_on=ends,
        starts_on=parse_date(domain.dates.registry_created_at, what="registry_created_at"),
        state=state(domain, read_at.date()),
        evidence=evidence,
        read_at=read_at,
    )


def renewal_id(fqdn: str, renewed_term_end: date | None) -> str:
    """Gandi gives a renewal no id: ours names the domain and the term it extends, so the
    same renewal gets the same id whether it was answered or found again."""
    return f"renew:{fqdn.lower()}:{renewed_term_end.isoformat() if renewed_term_end else 'unknown'}"


def renewal(
    fqdn: str, renewed_term_end: date | None, *, reference: str, tenant: str | None, pending: bool | None
) -> OrderRecord:
    return OrderRecord(
        external_id=renewal_id(fqdn, renewed_term_end),
        reference=reference,
        tenant_external_id=tenant,
        status="pending" if pending else "placed",
        subscription_external_ids=(fqdn.lower(),),
        pending=pending,
    )


def renew_price(check: Check, years: int) -> tuple[Decimal, str] | None:
    """The price of renewing for `years` (before taxes, as partners pay it), per year."""
    for product in check.products:
        if product.process not in (None, "renew"):
            continue
        for price in product.prices:
            low, high = price.min_duration or 1, price.max_duration or years
            if price.price_before_taxes is not None and low <= years <= high:
                return price.price_before_taxes, (check.currency or "").upper()
    return None


__all__ = [
    "PENDING_RENEW",
    "RENEW_BLOCKERS",
    "domain_record",
    "expiry",
    "renew_price",
    "renewal",
    "renewal_id",
    "state",
    "subscription",
    "term",
]
