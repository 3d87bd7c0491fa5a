"""Pax8 Partner API v1: wire shapes and calls (all through VendorHttp).

Shapes follow Pax8's published OpenAPI (partner endpoints): 0-based `page`/`size` (max
200) with a `page{size,totalElements,totalPages,number}` block, an error envelope
`{type,message,instance,status,details[]}`, JSON-bodied client-credentials tokens with
an `audience`. Unknown fields are ignored: Pax8 adds fields without notice.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any, Generic, TypeVar

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from hub.sdk.context import AdapterContext
from hub.sdk.http import VendorHttp
from hub.sdk.oauth import ClientCredentials
from hub.sdk.parsing import parse_model

from .config import Pax8Config

VENDOR = "Pax8"


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class PageInfo(Wire):
    size: int
    total_elements: int = Field(ge=0)
    total_pages: int = Field(ge=0)
    number: int = Field(ge=0)


T = TypeVar("T", bound=BaseModel)


class Paged(Wire, Generic[T]):
    content: list[T]
    page: PageInfo


class Address(Wire):
    street: str | None = None
    city: str | None = None
    state_or_province: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Company(Wire):
    id: str = Field(min_length=1)
    name: str
    status: str | None = None
    address: Address | None = None
    website: str | None = None
    external_id: str | None = None
    bill_on_behalf_of_enabled: bool | None = None


class Product(Wire):
    id: str = Field(min_length=1)
    name: str
    vendor_name: str | None = None
    sku: str | None = None
    vendor_sku: str | None = None
    requires_commitment: bool | None = None


class Commitment(Wire):
    """A commitment term offered for a product (`/products/{id}/dependencies`)."""

    id: str
    term: str
    auto_renew: bool | None = None
    renewal_window_days_before_term_end: int | None = None
    renewal_window_days_after_term_end: int | None = None
    allow_for_quantity_increase: bool | None = None
    allow_for_quantity_decrease: bool | None = None


class Dependencies(Wire):
    commitment_dependencies: list[Commitment] = Field(default_factory=list)


class SubscriptionCommitment(Wire):
    id: str | None = None
    term: str | None = None
    end_date: str | None = None


class Subscription(Wire):
    id: str = Field(min_length=1)
    company_id: str | None = None
    product_id: str | None = None
    product_name: str | None = None
    vendor_sku_id: str | None = None
    quantity: int = Field(ge=0)
    status: str
    billing_term: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    created_date: str | None = None
    price: Decimal | None = None
    partner_cost: Decimal | None = None
    currency_code: str | None = None
    vendor_subscription_id: str | None = None
    # The spec names it `commitmentTerm`; some live responses call it `commitment`.
    commitment_term: SubscriptionCommitment | None = Field(
        default=None, validation_alias=AliasChoices("commitmentTerm", "commitment")
    )


class Rate(Wire):
    partner_buy_rate: Decimal
    suggested_retail_price: Decimal | None = None
    start_quantity_range: int | None = None
    end_quantity_range: int | None = None
    charge_type: str | None = None


class Pricing(Wire):
    product_id: str | None = None
    billing_term: str | None = None
    commitment_term: str | None = None
    commitment_term_in_months: int | None = None
    type: str | None = None
    rates: list[Rate] = Field(default_factory=list)


class PricingList(Wire):
    content: list[Pricing]


class LineItem(Wire):
    id: str | None = None
    product_id: str | None = None
    subscription_id: str | None = None
    commitment_term_id: str | None = None
    billing_term: str | None = None
    quantity: int | None = None


class Order(Wire):
    id: str | None = None
    company_id: str | None = None
    created_date: str | None = None
    ordered_by: str | None = None
    ordered_by_user_email: str | None = None
    is_scheduled: bool | None = None
    line_items: list[LineItem] = Field(default_factory=list)


class ErrorDetail(Wire):
    type: str | None = None
    message: str | None = None
    instance: str | None = None


class ErrorEnvelope(Wire):
    type: str | None = None
    message: str | None = None
    instance: str | None = None
    status: int | None = None
    details: list[ErrorDetail] = Field(default_factory=list)


def error_messages(body: Any) -> list[str]:
    """The vendor's own words from an error envelope: the message, then each detail."""
    try:
        envelope = ErrorEnvelope.model_validate(body)
    except ValueError:
        return []
    found = [envelope.message] if envelope.message else []
    found += [d.message for d in envelope.details if d.message and d.message not in found]
    return [m.strip()[:300] for m in found if m.strip()]


def describe_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.reason_phrase or f"HTTP {response.status_code}"
    messages = error_messages(body) if isinstance(body, dict) else []
    if not messages and isinstance(body, dict):
        for key in ("error_description", "error"):
            if isinstance(body.get(key), str):
                messages = [body[key][:300]]
                break
    return "; ".join(messages[:3]) or response.reason_phrase or f"HTTP {response.status_code}"


class Pax8Api:
    def __init__(self, config: Pax8Config, ctx: AdapterContext) -> None:
        self.config = config
        auth = ClientCredentials(
            ctx,
            token_url=config.token_url,
            client_id=config.client_id,
            client_secret=config.client_secret,
            audience=config.audience,
            encoding="json",  # Pax8 refuses the form encoding OAuth2 clients default to
        )
        self.http = VendorHttp(
            ctx,
            vendor=VENDOR,
            base_url=config.api_url,
            auth=auth,
            describe_error=describe_error,
            default_headers={"Accept": "application/json"},
        )

    async def _get(self, path: str, model: type[T], params: Mapping[str, Any] | None = None) -> T:
        return parse_model(model, await self.http.get_json(path, params=params), what=f"{VENDOR} {path}")

    async def pages(
        self, path: str, item: type[T], params: Mapping[str, Any] | None = None, *, size: int | None = None
    ) -> AsyncIterator[T]:
        """Every item of a paged list, page by page (0-based `page`, `size` <= 200).

        Offset paging can shift when the list changes between two pages; an id seen twice
        in one walk is yielded once."""
        page_model = Paged[item]  # type: ignore[valid-type]
        size = size or self.config.page_size
        seen: set[str] = set()
        number = 0
        while True:
            data = await self.http.get_json(path, params={**(params or {}), "page": number, "size": size})
            parsed = parse_model(page_model, data, what=f"{VENDOR} {path} page")
            for entry in parsed.content:
                key = getattr(entry, "id", None)
                if isinstance(key, str):
                    if key in seen:
                        continue
                    seen.add(key)
                yield entry
            if not parsed.content or number + 1 >= parsed.page.total_pages:
                return
            number += 1

    def companies(self) -> AsyncIterator[Company]:
        return self.pages("/companies", Company)

    async def first_companies_page(self) -> Paged[Company]:
        return await self._get("/companies", Paged[Company], {"page": 0, "size": 1})

    def products(self) -> AsyncIterator[Product]:
        return self.pages("/products", Product)

    async def product(self, product_id: str) -> Product:
        return await self._get(f"/products/{product_id}", Product)

    async def dependencies(self, product_id: str) -> Dependencies:
        return await self._get(f"/products/{product_id}/dependencies", Dependencies)

    async def pricing(self, product_id: str, company_id: str | None) -> PricingList:
        params = {"companyId": company_id} if company_id else None
        return await self._get(f"/products/{product_id}/pricing", PricingList, params)

    def subscriptions(self, company_id: str | None = None) -> AsyncIterator[Subscription]:
        return self.pages("/subscriptions", Subscription, {"companyId": company_id} if company_id else None)

    async def subscription(self, subscription_id: str) -> Subscription:
        return await self._get(f"/subscriptions/{subscription_id}", Subscription)

    async def update_subscription(self, subscription_id: str, changes: Mapping[str, Any]) -> Subscription:
        # Setting an absolute quantity is idempotent: a lost answer may be retried safely.
        response = await self.http.request(
            "PUT", f"/subscriptions/{subscription_id}", json=dict(changes), idempotent=True
        )
        return parse_model(Subscription, self.http.parse_json(response), what=f"{VENDOR} subscription")

    async def mock_order(self, body: Mapping[str, Any]) -> tuple[Order | None, list[str]]:
        """`POST /orders?isMock=true`: the vendor validates and stores nothing, so it may be
        retried. Returns the would-be order, or None and the vendor's reasons (422)."""
        response = await self.http.request(
            "POST",
            "/orders",
            params={"isMock": "true"},
            json=dict(body),
            idempotent=True,
            accept_statuses=frozenset({422}),
        )
        data = self.http.parse_json(response)
        if response.status_code == 422:
            return None, error_messages(data) or ["Pax8 refused the order"]
        return parse_model(Order, data, what=f"{VENDOR} mock order"), []

    async def create_order(self, body: Mapping[str, Any]) -> Order:
        """`POST /orders`: not idempotent (Pax8 has no idempotency key). A lost answer
        raises OutcomeUnknown; only a 429 or a refused connection is retried."""
        response = await self.http.request("POST", "/orders", json=dict(body), idempotent=False)
        return parse_model(Order, self.http.parse_json(response), what=f"{VENDOR} order")

    def orders(self, company_id: str) -> AsyncIterator[Order]:
        return self.pages("/orders", Order, {"companyId": company_id})

    async def order(self, order_id: str) -> Order:
        return await self._get(f"/orders/{order_id}", Order)

    async def order_listing(self, company_id: str) -> tuple[list[Order], bool]:
        """Every order of a company, and whether the listing was consistent: the same
        `totalElements` on every page, no id seen twice, as many orders as announced. A
        listing that changed while it was walked is walked once more; if it changes again
        the caller gets `False` and must not read absence into it."""
        orders: list[Order] = []
        for _ in range(2):
            orders, consistent = await self._walk_orders(company_id)
            if consistent:
                return orders, True
        return orders, False

    async def _walk_orders(self, company_id: str) -> tuple[list[Order], bool]:
        page_model = Paged[Order]
        size = self.config.page_size
        orders: list[Order] = []
        seen: set[str] = set()
        total: int | None = None
        announced_pages = 0
        consistent = True
        number = 0
        while True:
            data = await self.http.get_json(
                "/orders", params={"companyId": company_id, "page": number, "size": size}
            )
            parsed = parse_model(page_model, data, what=f"{VENDOR} /orders page")
            if total is None:
                total, announced_pages = parsed.page.total_elements, parsed.page.total_pages
            elif parsed.page.total_elements != total:
                consistent = False
            if number > announced_pages:
                # A list that grows as fast as it is read never ends: stop one page past what
                # the first page announced; the walk is already known to be inconsistent.
                break
            for order in parsed.content:
                if order.id is not None:
                    if order.id in seen:
                        consistent = False  # pages shifted under us
                        continue
                    seen.add(order.id)
                orders.append(order)
            if not parsed.content or number + 1 >= parsed.page.total_pages:
                break
            number += 1
        return orders, consistent and len(orders) == (total or 0)


__all__ = [
    "Commitment",
    "Company",
    "Dependencies",
    "Order",
    "Pax8Api",
    "Pricing",
    "Product",
    "Subscription",
    "describe_error",
    "error_messages",
]
