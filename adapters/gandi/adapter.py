"""The Gandi adapter: the organisation's domains, their registry expiry read back, and
renewals through the `Renewer` contract (a domain is a subscription of one unit, renewed
by the year).

Gandi's renew takes no reference of ours and returns no order id, and a renewal may be
processed asynchronously. So a renewal is known by what it does to the domain: the
caller's `expected_current_end` (the term being renewed) is compared with the registry
expiry before sending (never renew a term that has already moved on) and after a lost
answer (moved on: placed; `pendingRenew`: placed, pending; neither, once
`renewal_settle_seconds` have passed: proven absent).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal

from hub.sdk.context import AdapterContext
from hub.sdk.errors import AbsenceUnproven, ConfigurationError, NotFound, Rejected
from hub.sdk.records import (
    AccountIdentity,
    DomainRecord,
    OrderRecord,
    OrderRequest,
    QuoteRecord,
    SubscriptionRecord,
    TermRecord,
)

from . import mapping
from .api import VENDOR, Domain, GandiApi
from .config import GandiConfig


def normalise(fqdn: str) -> str:
    name = fqdn.strip().rstrip(".").lower()
    try:
        return name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError as exc:
        raise Rejected(f"{VENDOR}: {fqdn!r} is not a domain name") from exc


class GandiAdapter:
    def __init__(self, config: GandiConfig, ctx: AdapterContext) -> None:
        self.config = config
        self.ctx = ctx
        self.api = GandiApi(config, ctx)

    def __repr__(self) -> str:
        return f"GandiAdapter(sharing_id={self.config.sharing_id!r}, api_url={self.config.api_url!r})"

    @property
    def order_visibility_lag(self) -> timedelta:
        """How long after a renewal is sent Gandi may show no trace of it (declared in the config)."""
        return timedelta(seconds=self.config.renewal_settle_seconds)

    async def verify(self) -> AccountIdentity:
        organizations = await self.api.organizations()
        mine = next((o for o in organizations if o.id == self.config.sharing_id), None)
        if mine is None:
            raise ConfigurationError(
                "this token does not reach the organisation sharing_id names", field="sharing_id"
            )
        return AccountIdentity(account_ref=mine.id, name=mine.name or f"Gandi organisation {mine.id}")

    async def aclose(self) -> None:
        return None

    # -- reads ------------------------------------------------------------------------
    async def list_domains(self) -> AsyncIterator[DomainRecord]:
        async for domain in self.api.domains():
            yield mapping.domain_record(domain)

    async def _domain(self, fqdn: str) -> Domain:
        domain = await self.api.domain(normalise(fqdn))
        owner = domain.sharing_space.id if domain.sharing_space else None
        if owner and owner != self.config.sharing_id:
            raise NotFound(f"{VENDOR}: {fqdn} belongs to another organisation")
        return domain

    async def get_subscription(self, subscription_external_id: str) -> SubscriptionRecord:
        domain = await self._domain(subscription_external_id)
        return mapping.subscription(domain, self.ctx.clock().date())

    async def read_term(self, ref: str) -> TermRecord:
        """`ref` is the domain name: its registry expiry as Gandi shows it (the renewal of a
        domain is confirmed by reading this, or the registry's own RDAP expiry)."""
        return mapping.term(ref, await self._domain(ref), self.ctx.clock())

    # -- renewals ---------------------------------------------------------------------
    @staticmethod
    def _years(request: OrderRequest) -> int:
        months = request.term_months or 12
        if months % 12 or months < 12:
            raise Rejected(f"{VENDOR}: a domain renews by whole years, not {months} months")
        if request.quantity != 1:
            raise Rejected(f"{VENDOR}: a domain is one unit, not {request.quantity}")
        return months // 12

    @staticmethod
    def _fqdn(request: OrderRequest) -> str:
        if not request.subscription_external_id:
            raise Rejected(f"{VENDOR}: a renewal names the domain as its subscription")
        return normalise(request.subscription_external_id)

    def _guard(self, domain: Domain, request: OrderRequest) -> None:
        """Refuse, before anything is sent, what would renew twice or cannot renew."""
        blockers = sorted(mapping.RENEW_BLOCKERS & set(domain.status))
        if blockers:
            raise Rejected(f"{VENDOR}: {domain.fqdn} cannot be renewed now ({', '.join(blockers)})")
        if mapping.PENDING_RENEW in domain.status:
            raise Rejected(
                f"{VENDOR}: a renewal of {domain.fqdn} is already being processed; not sending another"
            )
        current = mapping.expiry(domain)
        expected = request.expected_current_end
        if expected is not None and current is not None and current > expected:
            raise Rejected(
                f"{VENDOR}: {domain.fqdn} already runs to {current.isoformat()}, past the term ending "
                f"{expected.isoformat()} this order would renew"
            )

    async def quote(self, subscription_external_id: str, quantity: int | None = None) -> QuoteRecord:
        fqdn = normalise(subscription_external_id)
        domain = await self._domain(fqdn)
        found = mapping.renew_price(await self.api.renew_price(fqdn, 1), 1)
        if found is None:
            raise Rejected(f"{VENDOR} gives no renewal price for {fqdn}")
        price, currency = found
        return QuoteRecord(
            subscription_external_id=fqdn,
            product_external_id=mapping.subscription(domain, self.ctx.clock().date()).product_external_id,
            quantity=1,
            unit_price=price,
            currency=currency or self.config.currency,
            term_months=12,
        )

    async def validate_order(self, request: OrderRequest) -> QuoteRecord:
        """Gandi's own dry run (`Dry-Run: 1`) after our checks: prohibited renewals, durations
        Gandi does not offer, a term that has moved on, a renewal already pending."""
        fqdn, years = self._fqdn(request), self._years(request)
        domain = await self._domain(fqdn)
        self._guard(domain, request)
        info = await self.api.renew_info(fqdn)
        if info.prohibited:
            raise Rejected(f"{VENDOR}: renewing {fqdn} is prohibited now")
        if info.durations and years not in info.durations:
            raise Rejected(f"{VENDOR}: {fqdn} renews for {info.durations} year(s), not {years}")
        await self.api.renew(fqdn, years, dry_run=True)
        found = mapping.renew_price(await self.api.renew_price(fqdn, years), years)
        problems = () if found else ("no renewal price for this duration",)
        price, currency = found if found else (Decimal(0), self.config.currency)
        return QuoteRecord(
            subscription_external_id=fqdn,
            product_external_id=request.product_external_id,
            quantity=1,
            unit_price=price * years,
            currency=currency or self.config.currency,
            term_months=12 * years,
            valid=not problems,
            messages=problems,
        )

    async def place_order(self, request: OrderRequest) -> OrderRecord:
        """Read the domain, refuse what would renew twice, then `POST .../renew` once: a
        5xx, reset or timeout after sending is `OutcomeUnknown` (never resent here)."""
        fqdn, years = self._fqdn(request), self._years(request)
        domain = await self._domain(fqdn)  # reads only: nothing sent yet
        self._guard(domain, request)
        renewed = request.expected_current_end or mapping.expiry(domain)
        await self.api.renew(fqdn, years, dry_run=False)
        return mapping.renewal(
            fqdn, renewed, reference=request.reference, tenant=self.config.sharing_id, pending=None
        )

    async def find_order(
        self,
        reference: str,
        tenant_external_id: str,
        *,
        like: OrderRequest | None = None,
        placed_after: datetime | None = None,
    ) -> OrderRecord | None:
        """A renewal is recognised by its effect, as Gandi keeps no reference and no order
        list: the registry expiry past `like.expected_current_end` (placed and applied; a
        renewal by someone else or by autorenew counts too: the term is extended either
        way), or `pendingRenew` (placed, pending). Absence is proven only with both hints
        and `renewal_settle_seconds` after `placed_after`; otherwise `AbsenceUnproven`."""
        if like is None or not like.subscription_external_id:
            raise AbsenceUnproven(
                f"{VENDOR} keeps no reference of ours: the domain and the term it renews are needed",
                evidence="find_order was called without like= naming the domain",
            )
        fqdn = normalise(like.subscription_external_id)
        domain = await self._domain(fqdn)
        current, expected = mapping.expiry(domain), like.expected_current_end
        evidence = (
            f"Gandi domain {fqdn}: registry_ends_at {current.isoformat() if current else 'not set'}, "
            f"EPP status {', '.join(domain.status) or 'none'}"
        )
        if expected is not None and current is not None and current > expected:
            return mapping.renewal(
                fqdn, expected, reference=reference, tenant=self.config.sharing_id, pending=False
            )
        if mapping.PENDING_RENEW in domain.status:
            return mapping.renewal(
                fqdn, expected or current, reference=reference, tenant=self.config.sharing_id, pending=True
            )
        if expected is None:
            raise AbsenceUnproven(
                f"without the term it renews, a renewal of {fqdn} cannot be told from an earlier one",
                evidence=f"{evidence}; find_order got no expected_current_end",
            )
        self._prove_settled(placed_after, evidence)
        return None  # the expiry has not moved, nothing is pending, and the settling time has passed

    def _prove_settled(self, placed_after: datetime | None, evidence: str) -> None:
        """Returns when Gandi has had time to show a renewal sent at `placed_after`."""
        if placed_after is None:
            raise AbsenceUnproven(
                f"{VENDOR} may still be processing a renewal sent at an unknown time",
                evidence=f"{evidence}; find_order got no placed_after",
            )
        settled = placed_after + self.order_visibility_lag
        now = self.ctx.clock()
        if now < settled:
            sent = placed_after.isoformat()
            raise AbsenceUnproven(
                f"{VENDOR} may not show a renewal sent at {sent} before {settled.isoformat()}",
                retry_after=max(1.0, (settled - now).total_seconds()),
                evidence=f"{evidence}; the expiry has not moved and no renewal is pending yet",
            )


__all__ = ["GandiAdapter", "normalise"]
