"""A stateful Pax8 Partner API simulator (ASGI), following Pax8's published OpenAPI.

What it enforces, as Pax8 does: a JSON-bodied client-credentials token with
`audience=https://api.pax8.com` (a form body gets 415, a missing audience 403), bearer
tokens with a lifetime (86400 s by default) and revocation; 0-based `page`/`size` with
`size` <= 200 and the `page{size,totalElements,totalPages,number}` block; the error
envelope `{type,message,instance,status,details[]}`; 429 *without* `Retry-After`; unknown
request fields refused with 400 (so an adapter cannot invent a reference field).

State: companies, products (commitment terms with autoRenew, prices), subscriptions with
the state machine PendingAutomated -> Active and PendingCancel -> Cancelled (advanced
lazily against the simulator clock), and orders. `POST /orders?isMock=true` runs the same
validation and stores nothing.

Renewal semantics (ours: Pax8 has no renew endpoint): an order line carrying the
`subscriptionId` of an existing subscription of the same company and product renews it:
the commitment end date moves on by one term and the quantity becomes the ordered one,
so a caller can read the new end date back. Every such order is counted per
(subscription, end date of the term it renewed) in `orders_per_term`; an order renewing a
term that ends more than a whole term from now is also listed in `early_renewals` (a
blindly resent order shows up there: it renews the term after the one that was due).
`refuse_product()` makes orders of a product fail with 422 and `set_price()` changes its
price.

`scale=(companies, subscriptions)` replaces the fixtures by a deterministic generated
partner (the benchmark uses 2,000 / 30,000); with `ends_within_days=n` every generated
subscription is an active commitment ending within n days (the renewal storm of issue 6).

Forgetful-vendor modes (issue 11), each a constructor option and a public attribute that
a test may change at any time; they combine with each other and with the fault plan
(commit-then-drop and the rest):

- `keep_order_email=False`: "no reference kept". The order's `orderedByUserEmail` (where
  the adapter puts our reference) is neither stored nor returned (`null`), by POST or GET.
  (`drop_order_email=True` is the milder variant: Pax8 records the API user's email.)
- `provisioning_delay=N`: an accepted order is applied N seconds later (simulator clock).
  Until then the subscription it renews shows `PendingAutomated` and keeps its old end
  date and quantity; a new subscription stays `PendingAutomated` (Pax8's state while an
  automated provisioning task is not completed) and has no vendor deliverable yet.
- `order_list_lag=N`: `GET /orders` does not list an order until N seconds after it was
  created, and its `page` block counts only what it lists (so the list looks complete).

Catalogue: `fixtures/products.json` (Microsoft, Sophos for Server, Acronis, Keeper) plus
`fixtures/security_products.json` (Sophos Central endpoint and Fortinet FortiGate bundles:
antivirus and firewall renewals bought at the distributor). Generated partners draw only
from the first file, so storm worlds do not change. A product with `"delivers":
"registration_code"` (the Fortinet bundles) gives each subscription it provisions a
contract registration code in `vendorSubscriptionId` (our reading, see README), issued by
`code_issuer(vendor_sku, months)` when given (a FortiCare simulator's `issue_code`, so that
the code can then be registered there), else generated here.

`on_renewed(subscription)` is told when a renewal or quantity change is applied to a
subscription (after any `provisioning_delay`): a world whose vendor mirrors what the
distributor sold (a Sophos Central simulator extending the licence) follows from there.
"""

from __future__ import annotations

import bisect
import calendar
import json
import math
import random
import re
import string
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from hub.sdk.capabilities import Capability
from hub.sdk.testing.simulator import Clock, Simulator, TokenIssuer

FIXTURES = Path(__file__).with_name("fixtures")
CLIENT_ID = "pax8-sim-client-7d3f"
CLIENT_SECRET = "pax8-sim-secret-4b1e9c0a77f2"
AUDIENCE = "https://api.pax8.com"
MAX_PAGE = 200
DEFAULT_PAGE = 10
NAMESPACE = uuid.UUID("8d0b2f0e-5a8c-4d61-9b57-3c2e1f0a9d11")
ORDER_EMAIL = "renewals@msp.example.com"
LINE_FIELDS = {
    "productId",
    "lineItemNumber",
    "quantity",
    "billingTerm",
    "commitmentTermId",
    "provisionStartDate",
    "parentSubscriptionId",
    "parentLineItemNumber",
    "provisioningDetails",
    "subscriptionId",
}
ORDER_FIELDS = {"companyId", "lineItems", "orderedBy", "orderedByUserEmail"}
SUBSCRIPTION_UPDATE_FIELDS = {"quantity", "billingTerm", "price", "startDate"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
API_USER_EMAIL = "api-integration@partner.example.com"
PENDING = "PendingAutomated"
CodeIssuer = Callable[[str, int], str]
OnRenewed = Callable[["SimSubscription"], None]
"""(vendor SKU, months) -> a contract registration code for what was just provisioned."""


def add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _stamp(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return f"{value.isoformat()}T00:00:00.000Z"


def _money(value: Decimal) -> float:
    return float(value)


@dataclass
class SimCommitment:
    id: str
    term: str
    months: int
    auto_renew: bool
    window_before: int
    window_after: int
    allow_increase: bool
    allow_decrease: bool

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "term": self.term,
            "autoRenew": self.auto_renew,
            "renewalWindowDaysBeforeTermEnd": self.window_before,
            "renewalWindowDaysAfterTermEnd": self.window_after,
            "allowForQuantityIncrease": self.allow_increase,
            "allowForQuantityDecrease": self.allow_decrease,
            "allowForEarlyCancellation": False,
            "cancellationFeeApplied": True,
            "isTransferable": False,
        }


@dataclass
class SimOffer:
    billing_term: str
    commitment_term: str | None
    months: int
    partner_buy_rate: Decimal
    retail: Decimal


@dataclass
class SimProduct:
    id: str
    name: str
    vendor_name: str
    sku: str
    vendor_sku: str
    description: str
    requires_commitment: bool
    commitments: list[SimCommitment]
    offers: list[SimOffer]
    refused: str | None = None
    delivers: str | None = None
    """"registration_code": each provisioned subscription carries a contract registration code."""

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "vendorName": self.vendor_name,
            "shortDescription": self.description,
            "sku": self.sku,
            "vendorSku": self.vendor_sku,
            "altVendorSku": None,
            "requiresCommitment": self.requires_commitment,
        }

    def commitment(self, commitment_id: str | None) -> SimCommitment | None:
        return next((c for c in self.commitments if c.id == commitment_id), None)


@dataclass
class SimCompany:
    id: str
    name: str
    address: dict[str, Any]
    phone: str
    website: str
    external_id: str | None
    bill_on_behalf: bool
    self_service: bool
    approval_required: bool
    status: str
    updated: datetime

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "address": self.address,
            "phone": self.phone,
            "website": self.website,
            "externalId": self.external_id,
            "billOnBehalfOfEnabled": self.bill_on_behalf,
            "selfServiceAllowed": self.self_service,
            "orderApprovalRequired": self.approval_required,
            "status": self.status,
            "updatedDate": _stamp(self.updated),
        }


@dataclass
class SimSubscription:
    id: str
    company_id: str
    product_id: str
    product_name: str
    quantity: int
    status: str
    billing_term: str
    start_date: date
    created: datetime
    price: Decimal
    partner_cost: Decimal
    currency: str
    commitment_id: str | None
    commitment_term: str | None
    commitment_end: date | None
    end_date: date | None = None
    activates_at: datetime | None = None
    cancels_on: date | None = None
    updated: datetime | None = None
    issues_code: bool = False
    vendor_subscription_id: str | None = None

    def json(self) -> dict[str, Any]:
        vendor_id = self.vendor_subscription_id
        if vendor_id is None and not self.issues_code:
            vendor_id = str(uuid.uuid5(NAMESPACE, f"vendor-{self.id}"))
        commitment = None
        if self.commitment_id:
            commitment = {
                "id": self.commitment_id,
                "term": self.commitment_term,
                "endDate": _stamp(self.commitment_end),
            }
        return {
            "id": self.id,
            "companyId": self.company_id,
            "productId": self.product_id,
            "productName": self.product_name,
            "vendorSubscriptionId": vendor_id,
            "quantity": self.quantity,
            "startDate": _stamp(self.start_date),
            "endDate": _stamp(self.end_date),
            "createdDate": _stamp(self.created),
            "updatedDate": _stamp(self.updated or self.created),
            "billingStart": _stamp(self.start_date),
            "status": self.status,
            "price": _money(self.price),
            "partnerCost": _money(self.partner_cost),
            "currencyCode": self.currency,
            "billingTerm": self.billing_term,
            "commitmentTerm": commitment,
            "provisioningDetails": [],
        }


@dataclass
class SimOrder:
    id: str
    company_id: str
    created: datetime
    ordered_by: str
    email: str | None
    line_items: list[dict[str, Any]]

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "companyId": self.company_id,
            "createdDate": self.created.date().isoformat(),  # a date, as in Pax8's examples
            "orderedBy": self.ordered_by,
            "orderedByUserId": str(uuid.uuid5(NAMESPACE, "api-user")),
            "orderedByUserEmail": self.email,
            "isScheduled": False,
            "lineItems": self.line_items,
        }


@dataclass
class PendingChange:
    """An accepted order line not applied yet (`provisioning_delay`)."""

    due: datetime
    months: int
    quantity: int
    commitment_id: str | None
    commitment_term: str | None
    restore_status: str


@dataclass
class _Refusal(Exception):
    status: int
    type: str
    message: str
    details: list[dict[str, Any]] = field(default_factory=list)


class Pax8Simulator(Simulator):
    slug = "pax8"
    data_paths = r"^/v1/(companies|products|subscriptions|orders)"

    def __init__(
        self,
        *,
        scale: tuple[int, int] | None = None,
        token_ttl: int = 86400,
        activation_seconds: float = 30.0,
        requests_per_minute: int | None = None,
        drop_order_email: bool = False,
        seed: int = 7,
        ends_within_days: int | None = None,
        keep_order_email: bool = True,
        provisioning_delay: float = 0.0,
        order_list_lag: float = 0.0,
        code_issuer: CodeIssuer | None = None,
        on_renewed: OnRenewed | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.tokens = TokenIssuer(self.clock, token_ttl)
        self.activation_seconds = activation_seconds
        self.requests_per_minute = requests_per_minute
        self.drop_order_email = drop_order_email
        self.keep_order_email = keep_order_email
        self.provisioning_delay = provisioning_delay
        self.order_list_lag = order_list_lag
        self.code_issuer = code_issuer
        self.on_renewed = on_renewed
        self.issued_codes: list[tuple[str, str]] = []  # (subscription id, code)
        self._code_rng = random.Random(seed)
        self._pending: dict[str, list[PendingChange]] = defaultdict(list)
        self._base_products: list[str] = []
        self.products: dict[str, SimProduct] = {}
        self.companies: dict[str, SimCompany] = {}
        self.subscriptions: dict[str, SimSubscription] = {}
        self.orders: list[SimOrder] = []
        self._orders_by_company: dict[str, list[int]] = defaultdict(list)
        self._orders_by_id: dict[str, SimOrder] = {}
        self.mock_orders = 0
        self.orders_per_term: Counter[tuple[str, date]] = Counter()
        self.early_renewals: list[tuple[str, date]] = []
        self.quantity_changes = 0
        self._company_order: list[str] = []
        self._sub_order: list[str] = []
        self._subs_by_company: dict[str, list[str]] = defaultdict(list)
        self._recent: dict[str, list[datetime]] = defaultdict(list)
        self._load_products()
        if scale is None:
            self._load_fixtures()
        else:
            self._generate(*scale, seed=seed, ends_within_days=ends_within_days)

    # -- data -------------------------------------------------------------------------
    def today(self) -> date:
        return self.clock().date()

    def _load_products(self) -> None:
        self._base_products = self._load_catalogue("products.json")
        self._load_catalogue("security_products.json")

    def _load_catalogue(self, name: str) -> list[str]:
        ids = []
        for raw in json.loads((FIXTURES / name).read_text()):
            commitments = [
                SimCommitment(
                    c["id"],
                    c["term"],
                    12 * int(c["term"].split("-")[0]) if c["term"].endswith("Year") else 1,
                    c["autoRenew"],
                    c["renewalWindowDaysBeforeTermEnd"],
                    c["renewalWindowDaysAfterTermEnd"],
                    c["allowForQuantityIncrease"],
                    c["allowForQuantityDecrease"],
                )
                for c in raw["commitments"]
            ]
            offers = [
                SimOffer(
                    o["billingTerm"],
                    o["commitmentTerm"],
                    o["months"],
                    Decimal(o["partnerBuyRate"]),
                    Decimal(o["suggestedRetailPrice"]),
                )
                for o in raw["offers"]
            ]
            self.products[raw["id"]] = SimProduct(
                raw["id"],
                raw["name"],
                raw["vendorName"],
                raw["sku"],
                raw["vendorSku"],
                raw["shortDescription"],
                raw["requiresCommitment"],
                commitments,
                offers,
                delivers=raw.get("delivers"),
            )
            ids.append(raw["id"])
        return ids

    def add_company(self, company: SimCompany) -> None:
        self.companies[company.id] = company
        bisect.insort(self._company_order, company.id)

    def add_subscription(self, sub: SimSubscription) -> None:
        self.subscriptions[sub.id] = sub
        bisect.insort(self._sub_order, sub.id)
        bisect.insort(self._subs_by_company[sub.company_id], sub.id)

    def _load_fixtures(self) -> None:
        now = self.clock()
        today = now.date()
        for raw in json.loads((FIXTURES / "companies.json").read_text()):
            self.add_company(
                SimCompany(
                    raw["id"],
                    raw["name"],
                    raw["address"],
                    raw["phone"],
                    raw["website"],
                    raw["externalId"],
                    raw["billOnBehalfOfEnabled"],
                    raw["selfServiceAllowed"],
                    raw["orderApprovalRequired"],
                    raw["status"],
                    now - timedelta(days=30),
                )
            )
        for raw in json.loads((FIXTURES / "subscriptions.json").read_text()):
            product = self.products[raw["productId"]]
            commitment = product.commitment(raw["commitmentId"])
            start = today - timedelta(days=raw["startedDaysAgo"])
            ends_in = raw["commitmentEndsInDays"]
            sub = SimSubscription(
                id=raw["id"],
                company_id=raw["companyId"],
                product_id=product.id,
                product_name=product.name,
                quantity=raw["quantity"],
                status=raw["status"],
                billing_term=raw["billingTerm"],
                start_date=start,
                created=datetime.combine(start, datetime.min.time(), UTC),
                price=Decimal(raw["price"]),
                partner_cost=Decimal(raw["partnerCost"]),
                currency=raw["currencyCode"],
                commitment_id=commitment.id if commitment else None,
                commitment_term=commitment.term if commitment else None,
                commitment_end=today + timedelta(days=ends_in) if ends_in is not None else None,
            )
            if "endedDaysAgo" in raw:
                sub.end_date = today - timedelta(days=raw["endedDaysAgo"])
            if "cancelsInDays" in raw:
                sub.cancels_on = today + timedelta(days=raw["cancelsInDays"])
            if "activatesInSeconds" in raw:
                sub.activates_at = now + timedelta(seconds=raw["activatesInSeconds"])
            self.add_subscription(sub)

    def _generate(
        self, companies: int, subscriptions: int, *, seed: int, ends_within_days: int | None = None
    ) -> None:
        """Deterministic partner; with `ends_within_days` every subscription is an active
        commitment ending within that many days (a renewal storm)."""
        rng = random.Random(seed)
        now = self.clock()
        today = now.date()
        words = [
            "Alpine",
            "Harbour",
            "Cedar",
            "Granite",
            "Meadow",
            "Summit",
            "River",
            "Oak",
            "Beacon",
            "Falcon",
        ]
        kinds = ["Dental", "Logistics", "Architects", "Bakery", "Legal", "Clinic", "Motors", "Studio"]
        countries = ["US", "GB", "DE", "CH", "FR", "NL", "CA", "AU"]
        ids = []
        for i in range(companies):
            cid = str(uuid.uuid5(NAMESPACE, f"company-{seed}-{i}"))
            ids.append(cid)
            name = f"{rng.choice(words)} {rng.choice(kinds)} {i:05d}"
            self.add_company(
                SimCompany(
                    cid,
                    name,
                    {
                        "street": f"{i % 200 + 1} Main Street",
                        "city": "Springfield",
                        "stateOrProvince": "",
                        "postalCode": f"{10000 + i}",
                        "country": rng.choice(countries),
                    },
                    "+1 555 0100",
                    f"https://c{i:05d}.example",
                    f"PSA-{i:06d}" if rng.random() < 0.6 else None,
                    rng.random() < 0.2,
                    False,
                    False,
                    "Active" if rng.random() < 0.97 else "Inactive",
                    now - timedelta(days=rng.randint(1, 900)),
                )
            )
        products = [self.products[i] for i in self._base_products]
        if ends_within_days is not None:
            products = [p for p in products if p.commitments]
        for j in range(subscriptions):
            product = rng.choice(products)
            offers = product.offers
            if ends_within_days is not None:
                offers = [o for o in offers if o.commitment_term]
            offer = rng.choice(offers)
            commitment = next((c for c in product.commitments if c.term == offer.commitment_term), None)
            started = today - timedelta(days=rng.randint(0, 700))
            status = rng.choices(["Active", "PendingCancel", "Cancelled", "Trial"], [0.9, 0.03, 0.05, 0.02])[
                0
            ]
            ends = today + timedelta(days=rng.randint(-30, 1000))
            if ends_within_days is not None:
                status, ends = "Active", today + timedelta(days=rng.randint(1, max(1, ends_within_days)))
            sub = SimSubscription(
                id=str(uuid.uuid5(NAMESPACE, f"subscription-{seed}-{j}")),
                company_id=ids[j % len(ids)] if ids else str(uuid.uuid5(NAMESPACE, "nobody")),
                product_id=product.id,
                product_name=product.name,
                quantity=rng.randint(1, 250),
                status=status,
                billing_term=offer.billing_term,
                start_date=started,
                created=datetime.combine(started, datetime.min.time(), UTC),
                price=offer.retail,
                partner_cost=offer.partner_buy_rate,
                currency="USD",
                commitment_id=commitment.id if commitment else None,
                commitment_term=commitment.term if commitment else None,
                commitment_end=ends if commitment else None,
            )
            if status == "Cancelled":
                sub.end_date = today - timedelta(days=rng.randint(1, 300))
            elif status == "PendingCancel":
                sub.cancels_on = today + timedelta(days=rng.randint(1, 60))
            self.add_subscription(sub)

    # -- test controls ----------------------------------------------------------------
    def refuse_product(
        self, product_id: str, message: str = "Product is no longer available for sale"
    ) -> None:
        """Orders (real and isMock) of this product are refused with 422."""
        self.products[product_id].refused = message

    def set_price(self, product_id: str, partner_buy_rate: Decimal) -> None:
        for offer in self.products[product_id].offers:
            offer.partner_buy_rate = partner_buy_rate

    def revoke_tokens(self) -> None:
        self.tokens.revoke_all()

    def product_for(self, sku: str) -> SimProduct | None:
        """The catalogue product with this Pax8 SKU or vendor SKU (`FC-10-0060F-950-02-12`,
        `CIXA1CSAA`): how a seeding helper finds the antivirus and firewall products."""
        return next((p for p in self.products.values() if sku in (p.sku, p.vendor_sku)), None)

    def orders_for(self, company_id: str, product_id: str) -> int:
        """Orders accepted for this company with a line of this product (new subscriptions
        included: a Fortinet bundle renewal is a new subscription each time)."""
        return sum(
            1
            for i in self._orders_by_company.get(company_id, [])
            if any(line["productId"] == product_id for line in self.orders[i].line_items)
        )

    def pending_changes(self, subscription_id: str) -> int:
        """Accepted order lines for this subscription not applied yet (`provisioning_delay`)."""
        return len(self._pending.get(subscription_id, []))

    def renewals_of(self, subscription_id: str) -> int:
        return sum(n for (sid, _), n in self.orders_per_term.items() if sid == subscription_id)

    def duplicate_terms(self) -> list[tuple[str, date]]:
        """(subscription, term end) renewed more than once: must stay empty."""
        return [key for key, n in self.orders_per_term.items() if n > 1]

    # -- harness contract -------------------------------------------------------------
    def config(self, base_url: str, *, valid_credentials: bool = True) -> dict[str, Any]:
        return {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET if valid_credentials else "pax8-wrong-secret-0000",
            "order_email": ORDER_EMAIL,
            "token_url": f"{base_url}/v1/token",
            "api_url": f"{base_url}/v1",
            # What an operator who knows this partner's order list would set: its real lag
            # (the adapter's default, 600 s, is for a Pax8 nobody has measured).
            "order_visibility_lag_seconds": math.ceil(self.order_list_lag),
        }

    def invalid_configs(self, base_url: str) -> list[dict[str, Any]]:
        good = self.config(base_url)
        return [
            {k: v for k, v in good.items() if k != "client_secret"},
            {**good, "page_size": 500},
            {**good, "token_url": "ftp://token.example"},
            {**good, "order_email": "not-an-email"},
            {**good, "partner": "unknown field"},
        ]

    def sample_arguments(self) -> dict[Capability, dict[str, Any]]:
        sub = next(
            s
            for s in (self.subscriptions[i] for i in self._sub_order)
            if s.status == "Active" and s.commitment_id
        )
        return {
            Capability.renewal: {
                "subscription_external_id": sub.id,
                "tenant_external_id": sub.company_id,
                "product_external_id": sub.product_id,
                "order_path": "/v1/orders",
            },
            Capability.term_readback: {
                "ref": sub.id,
                "unknown_ref": str(uuid.uuid5(NAMESPACE, "no-such-subscription")),
                "ends_on": self._advance(sub).commitment_end,
            },
        }

    def error_body(self, status: int) -> dict[str, Any]:
        kinds = {
            400: "BAD_REQUEST",
            401: "UNAUTHORIZED",
            403: "FORBIDDEN",
            404: "NOT_FOUND",
            422: "UNPROCESSABLE_ENTITY",
            429: "TOO_MANY_REQUESTS",
        }
        return {
            "type": kinds.get(status, "INTERNAL_SERVER_ERROR" if status >= 500 else "ERROR"),
            "message": "Too many requests" if status == 429 else f"Simulated error {status}",
            "instance": "/v1",
            "status": status,
            "details": [],
        }

    # -- the app ----------------------------------------------------------------------
    def build_app(self) -> ASGIApp:
        routes = [
            Route("/v1/token", self._token, methods=["POST"]),
            Route("/oauth/token", self._token, methods=["POST"]),
            Route("/v1/companies", self._guard(self._companies), methods=["GET"]),
            Route("/v1/companies/{id}", self._guard(self._company), methods=["GET"]),
            Route("/v1/products", self._guard(self._products), methods=["GET"]),
            Route("/v1/products/{id}", self._guard(self._product), methods=["GET"]),
            Route("/v1/products/{id}/pricing", self._guard(self._pricing), methods=["GET"]),
            Route("/v1/products/{id}/dependencies", self._guard(self._dependencies), methods=["GET"]),
            Route("/v1/subscriptions", self._guard(self._subscriptions), methods=["GET"]),
            Route(
                "/v1/subscriptions/{id}", self._guard(self._subscription), methods=["GET", "PUT", "DELETE"]
            ),
            Route("/v1/orders", self._guard(self._orders), methods=["GET", "POST"]),
            Route("/v1/orders/{id}", self._guard(self._order), methods=["GET"]),
        ]
        return Starlette(routes=routes)

    @staticmethod
    def _envelope(
        status: int, kind: str, message: str, instance: str, details: list[dict[str, Any]] | None = None
    ) -> JSONResponse:
        return JSONResponse(
            {
                "type": kind,
                "message": message,
                "instance": instance,
                "status": status,
                "details": details or [],
            },
            status_code=status,
        )

    async def _token(self, request: Request) -> Response:
        def deny(status: int, error: str, description: str) -> JSONResponse:
            return JSONResponse({"error": error, "error_description": description}, status_code=status)

        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return deny(415, "invalid_request", "Content-Type must be application/json")
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return deny(400, "invalid_request", "Malformed JSON body")
        if not isinstance(body, dict):
            return deny(400, "invalid_request", "Malformed JSON body")
        if body.get("grant_type") != "client_credentials":
            return deny(400, "unsupported_grant_type", "Unsupported grant type")
        if body.get("client_id") != CLIENT_ID or body.get("client_secret") != CLIENT_SECRET:
            return deny(401, "access_denied", "Unauthorized")
        if body.get("audience") != AUDIENCE:
            return deny(403, "access_denied", f"Service not enabled within domain: {body.get('audience')}")
        value, ttl = self.tokens.issue(CLIENT_ID, audience=AUDIENCE)
        return JSONResponse({"access_token": value, "expires_in": ttl, "token_type": "Bearer", "scope": ""})

    def _guard(self, handler: Any) -> Any:
        async def guarded(request: Request) -> Response:
            token = self.tokens.check(request.headers.get("authorization"))
            path = request.url.path
            if token is None:
                return self._envelope(401, "UNAUTHORIZED", "Full authentication is required", path)
            if self._over_limit(token.subject):
                # Pax8 documents 429 but no Retry-After and no X-RateLimit-* headers.
                return self._envelope(429, "TOO_MANY_REQUESTS", "Rate limit exceeded", path)
            try:
                response: Response = await handler(request)
            except _Refusal as refusal:
                return self._envelope(refusal.status, refusal.type, refusal.message, path, refusal.details)
            return response

        return guarded

    def _over_limit(self, subject: str) -> bool:
        if not self.requests_per_minute:
            return False
        now = self.clock()
        recent = [t for t in self._recent[subject] if now - t < timedelta(minutes=1)]
        self._recent[subject] = recent
        if len(recent) >= self.requests_per_minute:
            return True
        recent.append(now)
        return False

    # paging ---------------------------------------------------------------------------
    def _page(self, request: Request, ids: list[Any], render: Any) -> JSONResponse:
        try:
            number = int(request.query_params.get("page", "0"))
            size = int(request.query_params.get("size", str(DEFAULT_PAGE)))
        except ValueError:
            raise _Refusal(400, "BAD_REQUEST", "page and size must be integers") from None
        if number < 0 or size < 1 or size > MAX_PAGE:
            raise _Refusal(
                422,
                "UNPROCESSABLE_ENTITY",
                "Invalid paging parameters",
                [
                    {
                        "type": "INVALID_FIELD",
                        "message": f"size must be between 1 and {MAX_PAGE}",
                        "instance": "size",
                        "status": 422,
                    }
                ],
            )
        if self.page_size:
            size = min(size, self.page_size)
        total = len(ids)
        chunk = ids[number * size : (number + 1) * size]
        return JSONResponse(
            {
                "content": [render(i) for i in chunk],
                "page": {
                    "size": size,
                    "totalElements": total,
                    "totalPages": math.ceil(total / size) if total else 0,
                    "number": number,
                },
            }
        )

    # companies & products ---------------------------------------------------------------
    async def _companies(self, request: Request) -> Response:
        status = request.query_params.get("status")
        ids = self._company_order
        if status:
            ids = [i for i in ids if self.companies[i].status == status]
        return self._page(request, ids, lambda i: self.companies[i].json())

    async def _company(self, request: Request) -> Response:
        company = self.companies.get(request.path_params["id"])
        if company is None:
            raise _Refusal(404, "NOT_FOUND", "Company not found")
        return JSONResponse(company.json())

    def _product_or_404(self, request: Request) -> SimProduct:
        product = self.products.get(request.path_params["id"])
        if product is None:
            raise _Refusal(404, "NOT_FOUND", "Product not found")
        return product

    async def _products(self, request: Request) -> Response:
        vendor = request.query_params.get("vendorName")
        ids = sorted(p.id for p in self.products.values() if not vendor or p.vendor_name == vendor)
        return self._page(request, ids, lambda i: self.products[i].json())

    async def _product(self, request: Request) -> Response:
        return JSONResponse(self._product_or_404(request).json())

    async def _pricing(self, request: Request) -> Response:
        product = self._product_or_404(request)
        company = request.query_params.get("companyId")
        if company and company not in self.companies:
            raise _Refusal(404, "NOT_FOUND", "Company not found")
        content = [
            {
                "productId": product.id,
                "productName": product.name,
                "billingTerm": offer.billing_term,
                "commitmentTerm": offer.commitment_term,
                "commitmentTermInMonths": offer.months if offer.commitment_term else None,
                "type": "Flat",
                "unitOfMeasurement": "User",
                "rates": [
                    {
                        "partnerBuyRate": _money(offer.partner_buy_rate),
                        "suggestedRetailPrice": _money(offer.retail),
                        "startQuantityRange": 1,
                        "endQuantityRange": None,
                        "chargeType": "Per Unit",
                    }
                ],
            }
            for offer in product.offers
        ]
        return JSONResponse({"content": content})

    async def _dependencies(self, request: Request) -> Response:
        product = self._product_or_404(request)
        return JSONResponse(
            {"commitmentDependencies": [c.json() for c in product.commitments], "productDependencies": []}
        )

    # subscriptions ----------------------------------------------------------------------
    def _advance(self, sub: SimSubscription) -> SimSubscription:
        """The state machine, moved on lazily to the simulator's now."""
        now = self.clock()
        pending = self._pending.get(sub.id)
        while pending and pending[0].due <= now:
            change = pending.pop(0)
            sub.commitment_end = add_months(sub.commitment_end or change.due.date(), change.months)
            sub.quantity = change.quantity
            if change.commitment_id:
                sub.commitment_id, sub.commitment_term = change.commitment_id, change.commitment_term
            if sub.issues_code:
                sub.vendor_subscription_id = self._issue_code(sub)
            if not pending:
                sub.status = change.restore_status
            sub.updated = change.due
            if self.on_renewed is not None:
                self.on_renewed(sub)
        if sub.status == PENDING and sub.activates_at and sub.activates_at <= now:
            sub.status, sub.activates_at, sub.updated = "Active", None, now
            if sub.issues_code and sub.vendor_subscription_id is None:
                sub.vendor_subscription_id = self._issue_code(sub)
        if sub.status == "PendingCancel" and sub.cancels_on and sub.cancels_on <= now.date():
            sub.status, sub.end_date, sub.updated = "Cancelled", sub.cancels_on, now
        return sub

    def _issue_code(self, sub: SimSubscription) -> str:
        product = self.products[sub.product_id]
        commitment = product.commitment(sub.commitment_id)
        months = commitment.months if commitment else 12
        if self.code_issuer is not None:
            code = self.code_issuer(product.vendor_sku, months)
        else:
            alphabet = string.ascii_uppercase + string.digits
            parts = ["".join(self._code_rng.choice(alphabet) for _ in range(n)) for n in (5, 5, 5, 5, 6)]
            code = "-".join(parts)
        self.issued_codes.append((sub.id, code))
        return code

    def _render_sub(self, sub_id: str) -> dict[str, Any]:
        return self._advance(self.subscriptions[sub_id]).json()

    async def _subscriptions(self, request: Request) -> Response:
        q = request.query_params
        company = q.get("companyId")
        ids = self._subs_by_company.get(company, []) if company else self._sub_order
        if q.get("productId"):
            ids = [i for i in ids if self.subscriptions[i].product_id == q["productId"]]
        if q.get("status"):
            ids = [i for i in ids if self._advance(self.subscriptions[i]).status == q["status"]]
        if q.get("billingTerm"):
            ids = [i for i in ids if self.subscriptions[i].billing_term == q["billingTerm"]]
        return self._page(request, ids, self._render_sub)

    async def _json_body(self, request: Request) -> Any:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise _Refusal(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json")
        try:
            return json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _Refusal(400, "BAD_REQUEST", "Malformed JSON request body") from None

    async def _subscription(self, request: Request) -> Response:
        sub = self.subscriptions.get(request.path_params["id"])
        if sub is None:
            raise _Refusal(404, "NOT_FOUND", "Subscription not found")
        self._advance(sub)
        if request.method == "GET":
            return JSONResponse(sub.json())
        if request.method == "DELETE":
            return self._cancel(request, sub)
        body = await self._json_body(request)
        if not isinstance(body, dict) or not body:
            raise _Refusal(
                400, "BAD_REQUEST", "At least one of quantity, billingTerm, price, startDate is required"
            )
        unknown = sorted(set(body) - SUBSCRIPTION_UPDATE_FIELDS)
        if unknown:
            raise _Refusal(
                400, "BAD_REQUEST", f"Invalid input, please check the documentation. field: {unknown[0]}"
            )
        if sub.status in ("Cancelled", "PendingCancel"):
            raise _Refusal(422, "UNPROCESSABLE_ENTITY", f"Subscription is {sub.status}")
        if "quantity" in body:
            quantity = body["quantity"]
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                raise _Refusal(
                    422,
                    "UNPROCESSABLE_ENTITY",
                    "Invalid quantity",
                    [
                        {
                            "type": "INVALID_FIELD",
                            "message": "quantity must be at least 1",
                            "instance": "quantity",
                            "status": 422,
                        }
                    ],
                )
            commitment = self.products[sub.product_id].commitment(sub.commitment_id)
            if commitment and quantity < sub.quantity and not commitment.allow_decrease:
                raise _Refusal(
                    422, "UNPROCESSABLE_ENTITY", "Quantity cannot be decreased during the commitment term"
                )
            sub.quantity = quantity
            self.quantity_changes += 1
        if "billingTerm" in body:
            sub.billing_term = str(body["billingTerm"])
        if "price" in body:
            sub.price = Decimal(str(body["price"]))
        sub.updated = self.clock()
        return JSONResponse(sub.json())

    def _cancel(self, request: Request, sub: SimSubscription) -> Response:
        raw = request.query_params.get("cancelDate")
        try:
            when = date.fromisoformat(raw[:10]) if raw else self.today()
        except ValueError:
            raise _Refusal(400, "BAD_REQUEST", "cancelDate must be a date") from None
        if sub.status == "Cancelled":
            raise _Refusal(422, "UNPROCESSABLE_ENTITY", "Subscription is already cancelled")
        if when > self.today():
            sub.status, sub.cancels_on = "PendingCancel", when
        else:
            sub.status, sub.end_date = "Cancelled", when
        sub.updated = self.clock()
        return Response(status_code=204)

    # orders -----------------------------------------------------------------------------
    async def _orders(self, request: Request) -> Response:
        if request.method == "GET":
            company = request.query_params.get("companyId")
            indexes = self._orders_by_company.get(company, []) if company else range(len(self.orders))
            if self.order_list_lag:
                # Not listed yet: the list (and its totals) simply do not show it.
                shown_from = self.clock() - timedelta(seconds=self.order_list_lag)
                indexes = [i for i in indexes if self.orders[i].created <= shown_from]
            return self._page(request, list(indexes), lambda i: self.orders[i].json())
        mock = request.query_params.get("isMock", "false").lower() == "true"
        body = await self._json_body(request)
        if mock:
            self.mock_orders += 1  # validated, refused or not: never stored
        lines = self._validate_order(body)
        if mock:
            return JSONResponse(self._order_preview(body, lines))
        return JSONResponse(self._apply_order(body, lines).json())

    async def _order(self, request: Request) -> Response:
        found = self._orders_by_id.get(request.path_params["id"])
        if found is None:
            raise _Refusal(404, "NOT_FOUND", "Order not found")
        return JSONResponse(found.json())

    # One branch per refusal the real API documents, in its order: splitting would hide the list.
    def _validate_order(  # noqa: C901
        self, body: Any
    ) -> list[tuple[dict[str, Any], SimProduct, SimSubscription | None]]:
        if not isinstance(body, dict):
            raise _Refusal(400, "BAD_REQUEST", "Malformed order")
        unknown = sorted(set(body) - ORDER_FIELDS)
        if unknown:
            raise _Refusal(
                400, "BAD_REQUEST", f"Invalid input, please check the documentation. field: {unknown[0]}"
            )
        problems: list[dict[str, Any]] = []

        def problem(instance: str, message: str) -> None:
            problems.append(
                {"type": "INVALID_FIELD", "message": message, "instance": instance, "status": 422}
            )

        company = self.companies.get(str(body.get("companyId")))
        if company is None:
            problem("companyId", "Company not found")
        email = body.get("orderedByUserEmail")
        if email is not None and (not isinstance(email, str) or not EMAIL.match(email)):
            problem("orderedByUserEmail", "must be a well-formed email address")
        lines = body.get("lineItems")
        if not isinstance(lines, list) or not lines:
            problem("lineItems", "at least one line item is required")
            lines = []
        checked = []
        for n, line in enumerate(lines):
            where = f"lineItems[{n}]"
            if not isinstance(line, dict):
                problem(where, "must be an object")
                continue
            extra = sorted(set(line) - LINE_FIELDS)
            if extra:
                raise _Refusal(
                    400, "BAD_REQUEST", f"Invalid input, please check the documentation. field: {extra[0]}"
                )
            product = self.products.get(str(line.get("productId")))
            if product is None:
                problem(f"{where}.productId", "Product not found")
                continue
            if product.refused:
                problem(f"{where}.productId", product.refused)
            if not isinstance(line.get("lineItemNumber"), int):
                problem(f"{where}.lineItemNumber", "lineItemNumber is required")
            quantity = line.get("quantity")
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                problem(f"{where}.quantity", "quantity must be at least 1")
            if line.get("billingTerm") not in {o.billing_term for o in product.offers}:
                problem(f"{where}.billingTerm", f"billingTerm not offered for {product.name}")
            commitment_id = line.get("commitmentTermId")
            if product.requires_commitment and commitment_id is None:
                problem(f"{where}.commitmentTermId", "commitmentTermId is required for this product")
            elif commitment_id is not None and product.commitment(commitment_id) is None:
                problem(f"{where}.commitmentTermId", "commitmentTermId is not a commitment of this product")
            sub = None
            if line.get("subscriptionId") is not None:
                sub = self.subscriptions.get(str(line["subscriptionId"]))
                if sub is None or company is None or sub.company_id != company.id:
                    problem(f"{where}.subscriptionId", "Subscription not found for this company")
                    sub = None
                elif sub.product_id != product.id:
                    problem(f"{where}.subscriptionId", "Subscription is for another product")
                elif self._advance(sub).status in ("Cancelled", "PendingCancel"):
                    problem(f"{where}.subscriptionId", f"Subscription is {sub.status}")
            checked.append((line, product, sub))
        if problems:
            raise _Refusal(422, "UNPROCESSABLE_ENTITY", problems[0]["message"], problems)
        return checked

    def _line_json(self, line: dict[str, Any], line_id: str | None, sub_id: str | None) -> dict[str, Any]:
        return {
            "id": line_id,
            "productId": line["productId"],
            "subscriptionId": sub_id,
            "commitmentTermId": line.get("commitmentTermId"),
            "provisionStartDate": line.get("provisionStartDate") or _stamp(self.clock()),
            "billingTerm": line["billingTerm"],
            "quantity": line["quantity"],
        }

    def _order_preview(self, body: dict[str, Any], lines: list[Any]) -> dict[str, Any]:
        return {
            "id": None,
            "companyId": body["companyId"],
            "createdDate": self.today().isoformat(),
            "orderedBy": body.get("orderedBy", "Pax8 Partner"),
            "orderedByUserEmail": body.get("orderedByUserEmail"),
            "isScheduled": False,
            "lineItems": [self._line_json(line, None, sub.id if sub else None) for line, _, sub in lines],
        }

    def _apply_order(self, body: dict[str, Any], lines: list[Any]) -> SimOrder:
        now = self.clock()
        out = []
        for line, product, sub in lines:
            commitment = product.commitment(line.get("commitmentTermId"))
            months = commitment.months if commitment else (12 if line["billingTerm"] == "Annual" else 1)
            if sub is not None:
                self._advance(sub)
                renewed = sub.commitment_end or now.date()
                if renewed > add_months(now.date(), months):
                    # A term more than a whole term away: a resent order renewing the next one.
                    self.early_renewals.append((sub.id, renewed))
                self.orders_per_term[(sub.id, renewed)] += 1
                change = PendingChange(
                    due=now + timedelta(seconds=self.provisioning_delay),
                    months=months,
                    quantity=line["quantity"],
                    commitment_id=commitment.id if commitment else None,
                    commitment_term=commitment.term if commitment else None,
                    restore_status=sub.status,
                )
                queue = self._pending[sub.id]
                if queue:
                    change.restore_status = queue[0].restore_status  # what it was before any
                queue.append(change)
                if self.provisioning_delay > 0:
                    sub.status, sub.updated = PENDING, now
                else:
                    self._advance(sub)
            else:
                offer = next(o for o in product.offers if o.billing_term == line["billingTerm"])
                delay = max(self.activation_seconds, self.provisioning_delay)
                sub = SimSubscription(
                    id=str(uuid.uuid4()),
                    company_id=body["companyId"],
                    product_id=product.id,
                    product_name=product.name,
                    quantity=line["quantity"],
                    status=PENDING,
                    billing_term=line["billingTerm"],
                    start_date=now.date(),
                    created=now,
                    price=offer.retail,
                    partner_cost=offer.partner_buy_rate,
                    currency="USD",
                    commitment_id=commitment.id if commitment else None,
                    commitment_term=commitment.term if commitment else None,
                    commitment_end=add_months(now.date(), months) if commitment else None,
                    activates_at=now + timedelta(seconds=delay),
                    issues_code=product.delivers == "registration_code",
                )
                self.add_subscription(sub)
                self._advance(sub)
            out.append(self._line_json(line, str(uuid.uuid4()), sub.id))
        email = body.get("orderedByUserEmail")
        if not self.keep_order_email:
            email = None  # "no reference kept": not stored, so never returned
        elif self.drop_order_email:
            email = API_USER_EMAIL  # what Pax8 may record instead
        order = SimOrder(
            str(uuid.uuid4()), body["companyId"], now, body.get("orderedBy", "Pax8 Partner"), email, out
        )
        self._orders_by_company[order.company_id].append(len(self.orders))
        self._orders_by_id[order.id] = order
        self.orders.append(order)
        return order


__all__ = ["CLIENT_ID", "CLIENT_SECRET", "Clock", "CodeIssuer", "OnRenewed", "Pax8Simulator", "add_months"]
