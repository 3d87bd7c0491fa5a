"""The demo's automatic renewals: three licences bought through Pax8 that the hub renews
itself, due within the renewal lead time, each showing one outcome:

- Marino Architetti's Keeper Business: quoted at last term's price, ordered through the
  Pax8 simulator once, confirmed, and its new term written;
- Colombo Trasporti's Microsoft 365 Business Basic: Pax8 raised the price by 20 %, above
  the 10 % cap, so it waits for a person to approve it;
- Studio Bianchi's Exchange Online: Pax8 refuses the order (the product is no longer sold
  to it), so it is escalated to a person.

The subscriptions are created once (found again by client, vendor account and product:
a second demo creates nothing, and anything edited since is left alone). The renewal
jobs then run in this process, as the worker would run them, and the reminder ledger
runs once, so the API shows every state as soon as it comes up. A renewal is unique per
(subscription, term), so a second demo orders nothing: the confirmed one now ends a year
later, the other two are settled for their term.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.pax8.simulator import Pax8Simulator
from hub.audit.service import record
from hub.auth.principal import SYSTEM
from hub.demo.dataset import term_start
from hub.demo.vendors import PAX8_PRODUCT_BY_SKU, ClientFacts, demo_ref
from hub.jobs import JobContext
from hub.jobs import queue as job_queue
from hub.jobs.worker import run_task
from hub.models import Client, Renewal, Subscription, SubscriptionTerm
from hub.models.enums import (
    AuditAction,
    BillingPeriod,
    Payer,
    RenewalType,
    SubscriptionKind,
    TermRenewedBy,
    VendorCategory,
)
from hub.notify.ledger import run_reminders
from hub.renewal import planner
from hub.renewal.planner import ADVANCE, queue_due
from hub.runtime import HubRuntime

CONFIRMED, PRICE_RISE, REFUSED = "confirmed", "price_rise", "refused"
PRICE_RISE_FACTOR = Decimal("1.20")
REFUSAL = "Product is no longer available for sale to this customer"
OWNER = "hub-demo"


@dataclass(frozen=True)
class RenewalSpec:
    outcome: str
    client: str
    product: str
    sku: str
    category: VendorCategory
    quantity: int
    unit_cost: Decimal
    ends_in_days: int


RENEWALS: tuple[RenewalSpec, ...] = (
    RenewalSpec(CONFIRMED, "marino-architetti", "Keeper Business - password manager (Pax8, annuale)",
                "KEEPER-BUS", VendorCategory.software, 22, Decimal("36.00"), 10),
    RenewalSpec(PRICE_RISE, "colombo-trasporti", "Microsoft 365 Business Basic (NCE annuale) - magazzino",
                "CFQ7TTC0LH18", VendorCategory.mail_hosting, 12, Decimal("54.00"), 11),
    RenewalSpec(REFUSED, "studio-bianchi", "Exchange Online (Piano 1) - archivio (NCE annuale)",
                "CFQ7TTC0LH16", VendorCategory.mail_hosting, 2, Decimal("43.20"), 9),
)  # fmt: skip


async def ensure_renewal_subscriptions(
    session: AsyncSession, clients: dict[str, ClientFacts], today: date
) -> dict[str, uuid.UUID]:
    """Outcome -> the demo subscription showing it (created when missing)."""
    found: dict[str, uuid.UUID] = {}
    for spec in RENEWALS:
        client = clients.get(spec.client)
        account = client.accounts.get("pax8") if client else None
        if client is None or account is None:
            continue  # the user deleted the client or its Pax8 account: nothing to show
        existing = (
            await session.execute(
                select(Subscription.id).where(
                    Subscription.client_id == client.id,
                    Subscription.vendor_account_id == account.id,
                    Subscription.product == spec.product,
                )
            )
        ).scalar_one_or_none()
        if existing is not None:
            found[spec.outcome] = existing
            continue
        ends_on = today + timedelta(days=spec.ends_in_days)
        sub = Subscription(
            id=uuid.uuid4(),
            client_id=client.id,
            vendor_account_id=account.id,
            category=spec.category,
            kind=SubscriptionKind.licence,
            product=spec.product,
            sku=spec.sku,
            quantity=spec.quantity,
            unit_cost=spec.unit_cost,
            client_unit_price=(spec.unit_cost * Decimal("1.15")).quantize(Decimal("0.01")),
            currency="EUR",
            billing_period=BillingPeriod.yearly,
            payer=Payer.msp_resold,
            starts_on=term_start(ends_on, 12),
            ends_on=ends_on,
            renewal_type=RenewalType.auto_hub,
            notice_days=30,
        )
        sub.external_id = demo_ref("pax8-subscription", str(sub.id))
        session.add(sub)
        await session.flush()
        session.add(
            SubscriptionTerm(
                subscription_id=sub.id,
                starts_on=sub.starts_on,
                ends_on=ends_on,
                quantity=spec.quantity,
                unit_cost=spec.unit_cost,
                currency="EUR",
                renewed_by=TermRenewedBy.initial,
                note="Termine iniziale (demo).",
            )
        )
        record(
            session,
            SYSTEM,
            AuditAction.create,
            subject_type="subscription",
            subject_id=sub.id,
            client_id=client.id,
            after={"product": spec.product, "ends_on": str(ends_on), "renewal_type": "auto_hub"},
            meta={"event": "demo.renewals"},
        )
        found[spec.outcome] = sub.id
    await session.flush()
    return found


def stage_vendor(sim: Pax8Simulator) -> None:
    """What Pax8 does to the demo's renewals: a price rise and a refusal."""
    by_outcome = {spec.outcome: spec for spec in RENEWALS}
    rising = sim.products[PAX8_PRODUCT_BY_SKU[by_outcome[PRICE_RISE].sku]]
    annual = next(o.partner_buy_rate for o in rising.offers if o.billing_term == "Annual")
    sim.set_price(rising.id, (annual * PRICE_RISE_FACTOR).quantize(Decimal("0.01")))
    sim.refuse_product(PAX8_PRODUCT_BY_SKU[by_outcome[REFUSED].sku], REFUSAL)


async def attach_connection(
    session: AsyncSession, subscription_ids: list[uuid.UUID], connection_id: uuid.UUID
) -> None:
    """The demo renewals go through the demo's Pax8 connection (unless set otherwise)."""
    for sub in (
        await session.execute(select(Subscription).where(Subscription.id.in_(subscription_ids)))
    ).scalars():
        if sub.connection_id is None:
            sub.connection_id = connection_id
    await session.flush()


async def run_renewals(runtime: HubRuntime, *, rounds: int = 60) -> int:
    """Plans the due renewals and advances them as the worker would (`renewal.plan`, then
    each `renewal.advance` job), until none is due now. Returns how many jobs ran."""
    now = runtime.now()
    async with runtime.unit_of_work() as session:
        await planner.plan(session, now.date(), now=now)
    ran = 0
    for _ in range(rounds):
        async with runtime.unit_of_work() as session:
            await queue_due(session, now=runtime.now())
            jobs = await job_queue.claim(session, OWNER, [ADVANCE], 1, timedelta(minutes=2))
        if not jobs:
            break
        job = jobs[0]
        ctx = JobContext.of(runtime, job, OWNER)
        ran += 1
        try:
            await run_task(ctx)
        except Exception as exc:  # as the worker does: the attempt fails, the job is retried later
            async with runtime.unit_of_work() as session:
                await job_queue.fail(
                    session, job, OWNER, type(exc).__name__, backoff_base=60.0, backoff_max=600.0
                )
    return ran


async def queue_reminders(runtime: HubRuntime) -> tuple[int, int]:
    """Runs the reminder ledger once (as the nightly job does): (reminders issued now,
    thresholds already past that were recorded without being sent)."""
    async with runtime.unit_of_work() as session:
        result = await run_reminders(session, runtime.now(), runtime.settings.notify)
    return result.issued, result.skipped


@dataclass(frozen=True)
class RenewalRow:
    client: str
    product: str
    term_ends_on: date
    state: str
    reason: str | None
    new_term_ends_on: date | None


async def renewal_rows(session: AsyncSession) -> list[RenewalRow]:
    """Every renewal of the demo clients, soonest term first."""
    from hub.demo.catalogue import CLIENTS

    rows = await session.execute(
        select(Client.slug, Subscription.product, Renewal)
        .join(Subscription, Subscription.id == Renewal.subscription_id)
        .join(Client, Client.id == Renewal.client_id)
        .where(Client.slug.in_([c.slug for c in CLIENTS]))
        .order_by(Renewal.term_ends_on, Client.slug)
    )
    return [
        RenewalRow(slug, product, r.term_ends_on, r.state.value, r.reason or r.last_error, r.new_term_ends_on)
        for slug, product, r in rows
    ]


__all__ = [
    "RENEWALS",
    "RenewalRow",
    "attach_connection",
    "ensure_renewal_subscriptions",
    "queue_reminders",
    "renewal_rows",
    "run_renewals",
    "stage_vendor",
]
