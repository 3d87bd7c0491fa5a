"""The Pax8 adapter: companies, subscriptions (read, change quantity) and the Renewer path.

Ordering is where money is lost twice: Pax8 documents no idempotency key, so
`place_order` never retries after the request may have reached Pax8 (the caller gets
`OutcomeUnknown` and reconciles with `find_order`), and our reference travels in the only
order field we may choose, `orderedByUserEmail`, as a plus-address tag.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hub.sdk.context import AdapterContext
from hub.sdk.errors import InvalidResponse, NotFound, OutcomeUnknown, Rejected
from hub.sdk.records import (
    AccountIdentity,
    OrderRecord,
    OrderRequest,
    ProductRecord,
    QuoteRecord,
    SubscriptionRecord,
    TenantRecord,
)

from . import mapping
from .api import VENDOR, Commitment, Order, Pax8Api, Subscription
from .config import Pax8Config


class Pax8Adapter:
    def __init__(self, config: Pax8Config, ctx: AdapterContext) -> None:
        self.config = config
        self.ctx = ctx
        self.api = Pax8Api(config, ctx)
        # Per run only (an adapter instance lives for one run): Pax8 says commitments and
        # prices change often and must not be cached for long.
        self._commitments: dict[str, list[Commitment]] = {}
        self._product_names: dict[str, str] = {}

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
        """Our order for this company, found by the reference tag in `orderedByUserEmail`.

        When Pax8 did not keep the tag (it may record the API user's email instead), and the
        caller passes `like` (the request as sent) and `placed_after` (when it was first
        sent), an order of the same company, product, quantity (and subscription), created
        on or after that day and carrying no other reference of ours, is taken to be it: a
        false match delays a renewal until a human looks, a missed one would order twice.
        Without `placed_after` there is no fallback: last term's order would match too."""
        wanted = mapping.tagged_email(self.config.order_email, reference).lower()
        candidates: list[Order] = []
        async for order in self.api.orders(tenant_external_id):
            if order.company_id and order.company_id != tenant_external_id:
                continue
            email = (order.ordered_by_user_email or "").lower()
            if self.config.reference_in_email and email == wanted:
                return mapping.order(order, reference=reference)
            if (
                like is not None
                and placed_after is not None
                and not self._carries_other_reference(email)
                and _same_order(order, like, placed_after)
            ):
                candidates.append(order)
        if not candidates:
            return None
        never = datetime.max.replace(tzinfo=UTC)
        earliest = min(candidates, key=lambda o: mapping.order_created(o) or never)
        self.ctx.logger.warning(
            "Pax8 order %s matched by company/product/quantity/date, not by reference", earliest.id
        )
        return mapping.order(earliest, reference=reference)

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
            sub = await self.api.subscription(request.subscription_external_id)
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


def _same_order(order: Order, like: OrderRequest, placed_after: datetime) -> bool:
    created = mapping.order_created(order)
    if created is None or created.date() < placed_after.date():
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
