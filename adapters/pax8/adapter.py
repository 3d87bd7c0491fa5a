"""The Pax8 adapter: companies, subscriptions (read, change quantity) and the Renewer path.

Ordering is where money is lost twice: Pax8 documents no idempotency key, so
`place_order` never retries after the request may have reached Pax8 (the caller gets
`OutcomeUnknown` and reconciles with `find_order`), and our reference travels in the only
order field we may choose, `orderedByUserEmail`, as a plus-address tag.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hub.sdk.context import AdapterContext
from hub.sdk.errors import AbsenceUnproven, AdapterError, InvalidResponse, NotFound, OutcomeUnknown, Rejected
from hub.sdk.records import (
    AccountIdentity,
    Deliverable,
    OrderRecord,
    OrderRequest,
    ProductRecord,
    QuoteRecord,
    SubscriptionRecord,
    TenantRecord,
    TermRecord,
)

from . import mapping
from .api import VENDOR, Commitment, Order, Pax8Api, Product, Subscription
from .config import Pax8Config

# A listing that changed while it was read is read again after this many seconds.
RELIST_AFTER = 5.0


class Pax8Adapter:
    def __init__(self, config: Pax8Config, ctx: AdapterContext) -> None:
        self.config = config
        self.ctx = ctx
        self.api = Pax8Api(config, ctx)
        # Per run only (an adapter instance lives for one run): Pax8 says commitments and
        # prices change often and must not be cached for long.
        self._commitments: dict[str, list[Commitment]] = {}
        self._product_names: dict[str, str] = {}
        self._products: dict[str, Product | None] = {}
        # The subscription a quote of this run read, which the order then builds on (the
        # renewal executor quotes and orders with one instance, seconds apart); read-backs
        # never use it.
        self._quoted: dict[str, Subscription] = {}

    def __repr__(self) -> str:
        return f"Pax8Adapter(client_id={self.config.client_id!r}, api_url={self.config.api_url!r})"

    async def verify(self) -> AccountIdentity:
        first = await self.api.first_companies_page()
        return AccountIdentity(
            account_ref=self.config.client_id,
            name=f"Pax8 partner (API client {self.config.client_id})",
            details={"companies": str(first.page.total_elements)},
        )

    async def aclose(self) -> None:
        self._commitments.clear()
        self._product_names.clear()
        self._products.clear()
        self._quoted.clear()

    @property
    def order_visibility_lag(self) -> timedelta:
        """How long GET /orders may take to list a new order (declared in the config)."""
        return timedelta(seconds=self.config.order_visibility_lag_seconds)

    @property
    def clock_skew(self) -> timedelta:
        return timedelta(seconds=self.config.clock_skew_seconds)

    # -- reads ------------------------------------------------------------------------
    async def list_tenants(self) -> AsyncIterator[TenantRecord]:
        async for company in self.api.companies():
            yield mapping.tenant(company)

    async def list_subscriptions(
        self, tenant_external_id: str | None = None
    ) -> AsyncIterator[SubscriptionRecord]:
        async for sub in self.api.subscriptions(tenant_external_id):
            yield await self._record(sub)

    async def list_products(self) -> AsyncIterator[ProductRecord]:
        async for product in self.api.products():
            yield ProductRecord(
                external_id=product.id, name=product.name, vendor_name=product.vendor_name, sku=product.sku
            )

    async def get_subscription(self, subscription_external_id: str) -> SubscriptionRecord:
        return await self._record(await self.api.subscription(subscription_external_id))

    async def _record(self, sub: Subscription) -> SubscriptionRecord:
        name = sub.product_name
        if not name and sub.product_id:
            name = await self._product_name(sub.product_id)
        auto_renew = None
        if sub.commitment_term and sub.commitment_term.id and sub.product_id:
            commitment = await self._commitment(sub.product_id, commitment_id=sub.commitment_term.id)
            auto_renew = commitment.auto_renew if commitment else None
        return mapping.subscription(sub, product_name=name, auto_renew=auto_renew)

    async def _product_name(self, product_id: str) -> str | None:
        if product_id not in self._product_names:
            try:
                self._product_names[product_id] = (await self.api.product(product_id)).name
            except NotFound:
                return None
        return self._product_names[product_id]

    async def _commitment(
        self, product_id: str, *, commitment_id: str | None = None, months: int | None = None
    ) -> Commitment | None:
        if product_id not in self._commitments:
            try:
                deps = await self.api.dependencies(product_id)
            except NotFound:  # a product withdrawn from the catalogue
                deps = None
            self._commitments[product_id] = deps.commitment_dependencies if deps else []
        for commitment in self._commitments[product_id]:
            if commitment_id is not None and commitment.id == commitment_id:
                return commitment
            if (
                commitment_id is None
                and months is not None
                and mapping.term_months(commitment.term) == months
            ):
                return commitment
        return None

    # -- writes -----------------------------------------------------------------------
    async def change_quantity(self, subscription_external_id: str, quantity: int) -> SubscriptionRecord:
        """`PUT /subscriptions/{id}` with an absolute quantity (idempotent, so retried)."""
        if quantity < 1:
            raise Rejected("Pax8: a subscription quantity must be at least 1 (cancel it instead)")
        updated = await self.api.update_subscription(subscription_external_id, {"quantity": quantity})
        return await self._record(updated)

    async def quote(self, subscription_external_id: str, quantity: int | None = None) -> QuoteRecord:
        sub = await self.api.subscription(subscription_external_id)
        self._quoted[sub.id] = sub
        wanted = quantity if quantity is not None else sub.quantity
        if wanted < 1:
            raise Rejected(f"Pax8: subscription {sub.id} has no seats to renew")
        if not sub.product_id:
            raise InvalidResponse("Pax8 subscription without a productId")
        months = mapping.term_months(sub.commitment_term.term if sub.commitment_term else None)
        months = months or mapping.term_months(sub.billing_term)
        pricing = await self.api.pricing(sub.product_id, sub.company_id)
        found = mapping.unit_price(
            pricing.content, billing_term=sub.billing_term, months=months, quantity=wanted
        )
        if found is None:
            raise Rejected(f"Pax8 has no price for product {sub.product_id} at quantity {wanted}")
        price, term = found
        return QuoteRecord(
            subscription_external_id=sub.id,
            product_external_id=sub.product_id,
            quantity=wanted,
            unit_price=price,
            currency=(sub.currency_code or self.config.default_currency).upper(),
            term_months=term,
        )

    async def validate_order(self, request: OrderRequest) -> QuoteRecord:
        """`POST /orders?isMock=true`: Pax8 runs its validations and stores nothing.

        A refusal raises `Rejected` with Pax8's messages, so that a caller that only awaits
        the dry run never goes on to send the real order; `valid=False` is left for what
        Pax8 did not refuse but we cannot price."""
        body, sub = await self._order_body(request)
        _, refusals = await self.api.mock_order(body)
        if refusals:
            raise Rejected(f"{VENDOR}: " + "; ".join(refusals[:5]), vendor_status=422)
        problems: list[str] = []
        line = body["lineItems"][0]
        months = request.term_months or mapping.term_months(
            sub.commitment_term.term if sub and sub.commitment_term else None
        )
        months = months or mapping.term_months(line["billingTerm"])
        pricing = await self.api.pricing(request.product_external_id, request.tenant_external_id)
        found = mapping.unit_price(
            pricing.content, billing_term=line["billingTerm"], months=months, quantity=request.quantity
        )
        if found is None:
            problems = [*problems, "no price for this product, term and quantity"]
        price, term = found if found else (Decimal(0), months)
        currency = (sub.currency_code if sub and sub.currency_code else self.config.default_currency).upper()
        return QuoteRecord(
            subscription_external_id=request.subscription_external_id or "",
            product_external_id=request.product_external_id,
            quantity=request.quantity,
            unit_price=price,
            currency=currency,
            term_months=term,
            valid=not problems,
            messages=tuple(problems),
        )

    async def place_order(self, request: OrderRequest) -> OrderRecord:
        body, _ = await self._order_body(request)  # reads only: nothing sent yet
        # A later order of this instance (after an answer was lost) reads afresh.
        self._quoted.pop(request.subscription_external_id or "", None)
        try:
            placed = await self.api.create_order(body)
        except InvalidResponse as exc:
            # A 2xx we cannot read: the order most likely exists. Reconcile, never resend.
            raise OutcomeUnknown(
                f"Pax8 accepted the order but its answer was unreadable ({exc.message})"
            ) from None
        if not placed.id:
            raise OutcomeUnknown("Pax8 answered the order without an order id")
        return mapping.order(placed, reference=request.reference)

    async def find_order(
        self,
        reference: str,
        tenant_external_id: str,
        *,
        like: OrderRequest | None = None,
        placed_after: datetime | None = None,
    ) -> OrderRecord | None:
        """Our order for this company: found, proven absent (None), or `AbsenceUnproven`.

        1. By our reference: the plus-address tag in `orderedByUserEmail`.
        2. With `like` (the request as sent) and `placed_after` (when it was first sent):
           an order of the same company with a line of the same product and quantity (and
           subscription, when one was renewed), created at or after `placed_after` less
           `clock_skew_seconds` (by day, as Pax8's createdDate is a date), carrying no
           *other* reference of ours, is ours. This is how an order is found when Pax8
           kept no reference. An order in any state, pending provisioning included, counts.
        3. Nothing found. That proves absence only when the whole listing was read
           consistently and, with `placed_after`, when `order_visibility_lag_seconds` have
           passed since the send (Pax8's list may lag behind creation; before that
           `AbsenceUnproven` says when to look again).

        Without `like` and `placed_after` (the legacy call) no order without our tag can be
        matched, so absence is proven only from the listing itself: the company has no
        order at all, or its orders show Pax8 keeping our tags (another order carries one).
        Otherwise `AbsenceUnproven`: an order may exist that Pax8 stored without our tag.
        The legacy call cannot allow for the list's lag: callers must pass both hints."""
        orders, complete = await self.api.order_listing(tenant_external_id)
        ours = [o for o in orders if not o.company_id or o.company_id == tenant_external_id]
        wanted = mapping.tagged_email(self.config.order_email, reference).lower()
        if self.config.reference_in_email:
            for order in ours:
                if (order.ordered_by_user_email or "").lower() == wanted:
                    return await self._found(order, reference)
        if like is not None and placed_after is not None:
            since = placed_after - self.clock_skew
            candidates = [
                o
                for o in ours
                if not self._carries_other_reference((o.ordered_by_user_email or "").lower())
                and _same_order(o, like, since)
            ]
            if candidates:
                never = datetime.max.replace(tzinfo=UTC)
                earliest = min(candidates, key=lambda o: mapping.order_created(o) or never)
                self.ctx.logger.warning(
                    "Pax8 order %s matched by company/product/quantity/date, not by reference", earliest.id
                )
                return await self._found(earliest, reference)
        evidence = (
            f"Pax8 GET /orders?companyId={tenant_external_id}: {len(ours)} order(s) listed, none carrying "
            f"reference {reference}"
            + (" nor matching the order as sent" if like is not None and placed_after is not None else "")
        )
        if not complete:
            raise AbsenceUnproven(
                "Pax8's order list changed while it was read: it proves nothing",
                retry_after=RELIST_AFTER,
                evidence=evidence + "; the listing was inconsistent (totals changed or pages shifted)",
            )
        if like is None or placed_after is None:
            self._prove_legacy_absence(ours, evidence)
            return None
        settled = placed_after + self.order_visibility_lag
        now = self.ctx.clock()
        if now < settled:
            raise AbsenceUnproven(
                f"Pax8 may not list an order sent at {placed_after.isoformat()} before {settled.isoformat()}",
                retry_after=max(1.0, (settled - now).total_seconds()),
                evidence=f"{evidence}; Pax8's order list may lag up to "
                f"{self.config.order_visibility_lag_seconds} s behind creation",
            )
        return None

    def _prove_legacy_absence(self, ours: list[Order], evidence: str) -> None:
        """Returns when the listing alone proves absence; raises AbsenceUnproven otherwise."""
        if not ours:
            return  # no order at all for the company: nothing can hide among them
        if any(self._carries_other_reference((o.ordered_by_user_email or "").lower()) for o in ours):
            return  # Pax8 kept our tag on another order: it would have kept this one's
        raise AbsenceUnproven(
            "no order carries our reference, but nothing shows Pax8 keeps it: pass like= and placed_after=",
            evidence=f"{evidence}; none of them carries any reference of ours, so an order stored without "
            "our reference cannot be told apart",
        )

    async def _found(self, order: Order, reference: str) -> OrderRecord:
        pending, deliverables = await self._order_state(order)
        return mapping.order(order, reference=reference, pending=pending, deliverables=deliverables)

    async def _order_state(self, order: Order) -> tuple[bool | None, tuple[Deliverable, ...]]:
        """Whether any line's subscription is still being provisioned, and what the lines
        delivered. Best effort: a failed read leaves `pending` unknown (None), it never
        hides that the order exists."""
        pending = False
        delivered: list[Deliverable] = []
        for line in order.line_items:
            if not line.subscription_id:
                continue
            try:
                sub = await self.api.subscription(line.subscription_id)
                product = await self._product(sub.product_id or line.product_id or "")
            except AdapterError as exc:
                self.ctx.logger.info("Pax8 order %s: line state not read (%s)", order.id, type(exc).__name__)
                return None, tuple(delivered)
            pending = pending or sub.status in mapping.PENDING_STATES
            found = mapping.deliverable(sub, vendor_name=product.vendor_name if product else None)
            if found is not None:
                delivered.append(found)
        return pending, tuple(delivered)

    async def _product(self, product_id: str) -> Product | None:
        if not product_id:
            return None
        if product_id not in self._products:
            try:
                self._products[product_id] = await self.api.product(product_id)
            except NotFound:
                self._products[product_id] = None
        return self._products[product_id]

    async def get_order(self, order_external_id: str, tenant_external_id: str) -> OrderRecord:
        """`GET /orders/{id}` with each line's subscription: `pending` while one is still
        provisioning, and the deliverables (a Fortinet bundle's registration code) once
        Pax8 shows them. No reference is returned: Pax8 stores none of ours reliably."""
        order = await self.api.order(order_external_id)
        if order.company_id and order.company_id != tenant_external_id:
            raise NotFound(f"Pax8 order {order_external_id} is not an order of company {tenant_external_id}")
        pending, deliverables = await self._order_state(order)
        return mapping.order(order, reference=None, pending=pending, deliverables=deliverables)

    async def read_term(self, ref: str) -> TermRecord:
        """`ref` is a Pax8 subscription id: its commitment end date (or end date) and state."""
        return mapping.term(await self.api.subscription(ref), self.ctx.clock())

    def _carries_other_reference(self, email: str) -> bool:
        if not self.config.reference_in_email:
            return False
        local, _, domain = self.config.order_email.lower().partition("@")
        return email.startswith(f"{local.split('+', 1)[0]}+") and email.endswith(f"@{domain}")

    async def _order_body(self, request: OrderRequest) -> tuple[dict[str, Any], Subscription | None]:
        line: dict[str, Any] = {
            "lineItemNumber": 1,
            "productId": request.product_external_id,
            "quantity": request.quantity,
        }
        sub = None
        commitment_id = None
        billing_term = mapping.billing_term_for(request.term_months)
        if request.subscription_external_id:
            sub = self._quoted.get(request.subscription_external_id) or await self.api.subscription(
                request.subscription_external_id
            )
            if sub.company_id and sub.company_id != request.tenant_external_id:
                raise Rejected(f"Pax8 subscription {sub.id} belongs to another company")
            if sub.product_id and sub.product_id != request.product_external_id:
                raise Rejected(f"Pax8 subscription {sub.id} is for another product")
            line["subscriptionId"] = sub.id
            billing_term = sub.billing_term or billing_term
            current = sub.commitment_term
            if (
                current
                and current.id
                and (request.term_months is None or mapping.term_months(current.term) == request.term_months)
            ):
                commitment_id = current.id
        if commitment_id is None and request.term_months is not None:
            commitment = await self._commitment(request.product_external_id, months=request.term_months)
            commitment_id = commitment.id if commitment else None
        line["billingTerm"] = billing_term or "Monthly"
        if commitment_id:
            line["commitmentTermId"] = commitment_id
        email = self.config.order_email
        if self.config.reference_in_email:
            email = mapping.tagged_email(email, request.reference)
        body = {
            "companyId": request.tenant_external_id,
            "orderedBy": "Pax8 Partner",
            "orderedByUserEmail": email,
            "lineItems": [line],
        }
        return body, sub


def _same_order(order: Order, like: OrderRequest, since: datetime) -> bool:
    if not mapping.created_since(order, since):
        return False
    return any(
        li.product_id == like.product_external_id
        and li.quantity == like.quantity
        and (
            like.subscription_external_id is None
            or li.subscription_id in (None, like.subscription_external_id)
        )
        for li in order.line_items
    )


__all__ = ["Pax8Adapter"]
