"""What the portal shows a client user, read through the client-safe functions only:
the spend report projected by `hub.terms.client_view.project_spend` (what the client
pays: the vendor's price, the MSP's price, or included), the renewal forecast computed for
a client principal (the same projection), the renewals waiting for the client's approval
as `hub.renewal.service.client_offer` shows them, the checks in plain words, the vendor
cases' client-safe fields, and the client's calendar links (`FeedClientRead`).

Nothing here reads a cost, a margin, a note or another client's row: every query is
scoped by the principal's client, never by anything in the request."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import Principal
from hub.case import service as case_service
from hub.case.schemas import CaseDetailClientRead, CaseFilters
from hub.case.timeline import targets
from hub.check.enums import CheckStatus, CheckTarget
from hub.models import Asset, CaseEvent, Check, Domain, Endpoint, Vendor, VendorAccount
from hub.models.enums import RenewalState
from hub.notify import service as notify
from hub.notify.schemas import FeedClientRead
from hub.renewal.schemas import RenewalFilters
from hub.renewal.service import client_offer, renewals
from hub.report.cache import ReportCache
from hub.report.statement import statement, with_dates
from hub.web.labels import N_

CASES_SHOWN = 50

# Who pays, in the client's words (the keys are hub.terms.client_view.Pays).
PAYS_WORDS = {
    "vendor": N_("You pay the vendor directly"),
    "msp": N_("Through us"),
    "included": N_("Included in your managed-service fee"),
}
# The same, short enough for a chart's label.
PAYS_SHORT = {"vendor": N_("Vendors, directly"), "msp": N_("Through us"), "included": N_("included")}
# A renewal's price per billing period: "€745.20 a year".
PERIOD_WORDS = {
    "monthly": N_("a month"),
    "quarterly": N_("a quarter"),
    "semiannual": N_("every six months"),
    "yearly": N_("a year"),
    "biennial": N_("every two years"),
    "triennial": N_("every three years"),
}
RENEWS_WORDS = {
    "none": N_("ends, not renewed"),
    "manual": N_("renewed on request"),
    "auto_vendor": N_("renews automatically"),
    "auto_hub": N_("we renew it for you"),
}
# What a check looks after, in plain words; %(target)s is the domain, device or address.
CHECK_WORDS = {
    "spf": N_("Who may send e-mail as %(target)s"),
    "dkim": N_("The signature of e-mail sent from %(target)s"),
    "dmarc": N_("Protection of %(target)s against forged e-mail"),
    "mx": N_("E-mail delivery to %(target)s"),
    "dnsbl": N_("The reputation of your mail server %(target)s"),
    "domain_expiry": N_("The registration of the domain %(target)s"),
    "tls_cert": N_("The security certificate of %(target)s"),
    "firmware": N_("The software of %(target)s"),
    "dns_zone": N_("The DNS records of %(target)s"),
    "tlsrpt": N_("Reports on secure e-mail delivery to %(target)s"),
}
OTHER_CHECK = N_("Check %(kind)s of %(target)s")
STATUS_WORDS = {
    CheckStatus.fail: N_("needs attention: we are on it"),
    CheckStatus.warn: N_("works, and could be safer"),
    CheckStatus.unknown: N_("could not be verified the last time"),
}
CASE_WORDS = {
    "draft": N_("being prepared"),
    "open": N_("open"),
    "waiting_vendor": N_("waiting for the vendor"),
    "waiting_client": N_("waiting for you"),
    "resolved": N_("resolved"),
    "closed": N_("closed"),
}
# A timeline's events in the client's words (the keys are CaseEventKind).
EVENT_WORDS = {
    "note": N_("Note"),
    "email_out": N_("We wrote to the vendor"),
    "email_in": N_("The vendor wrote"),
    "api_out": N_("We wrote to the vendor through its support portal"),
    "api_in": N_("The vendor answered through its support portal"),
    "status_change": N_("Status"),
    "escalation": N_("Escalated"),
    "time_spent": N_("Time spent"),
    "call_logged": N_("Call with the vendor"),
    "chaser": N_("Reminder to the vendor"),
    "verification": N_("Verification"),
}


@dataclass
class Offer:
    """A renewal waiting for the client's approval, as `client_offer` shows it."""

    renewal: Any  # RenewalClientRead
    product: str
    vendor: str
    quantity: int
    billing_period: str
    currency: str
    pays: str
    unit_price: Decimal | None
    period_price: Decimal | None


@dataclass
class HealthLine:
    kind: str
    target: str
    status: CheckStatus


@dataclass
class Overview:
    client: Any  # the client row (visible to the principal)
    currency: str  # the client's own currency: the charts are in it
    lines: list[dict[str, Any]]
    totals: list[dict[str, Any]]
    by_category: dict[str, Decimal]
    by_pays: dict[str, Decimal]
    included: int
    other_currencies: list[str]
    months: list[tuple[date, Decimal]]
    forecast_total: Decimal
    offers: list[Offer]
    checks: dict[CheckStatus, int]
    attention: list[HealthLine]
    cases: list[CaseLine]
    cases_total: int
    feeds: list[FeedClientRead] = field(default_factory=list)


async def _offers(session: AsyncSession, principal: Principal) -> list[Offer]:
    waiting, _ = await renewals.list(
        session, principal, RenewalFilters(state=RenewalState.awaiting_approval, limit=100)
    )
    return [Offer(**(await client_offer(session, r))) for r in waiting]


async def _names(session: AsyncSession, checks: list[Check]) -> dict[str, str]:
    refs: dict[CheckTarget, set[uuid.UUID]] = defaultdict(set)
    for c in checks:
        if c.target_type is not CheckTarget.ip:
            try:
                refs[c.target_type].add(uuid.UUID(c.target_ref))
            except ValueError:
                continue
    names: dict[str, str] = {}
    for target, model, column in (
        (CheckTarget.domain, Domain, Domain.name),
        (CheckTarget.asset, Asset, Asset.name),
        (CheckTarget.endpoint, Endpoint, Endpoint.host),
    ):
        if refs[target]:
            rows = await session.execute(select(model.id, column).where(model.id.in_(refs[target])))
            names.update({str(i): n for i, n in rows.all()})
    return names


async def health(
    session: AsyncSession, client_id: uuid.UUID
) -> tuple[dict[CheckStatus, int], list[HealthLine]]:
    """Checks per status, and every enabled check that is not passing, named by what it
    looks after (in the template's words) and its target's name."""
    counts = dict.fromkeys(CheckStatus, 0)
    rows = await session.execute(
        select(Check.status, func.count())
        .where(Check.client_id == client_id, Check.enabled.is_(True))
        .group_by(Check.status)
    )
    for status, n in rows.all():
        counts[status] = n
    shown = (CheckStatus.fail, CheckStatus.warn, CheckStatus.unknown)
    bad = list(
        (
            await session.execute(
                select(Check)
                .where(Check.client_id == client_id, Check.enabled.is_(True), Check.status.in_(shown))
                .limit(200)
            )
        ).scalars()
    )
    names = await _names(session, bad)
    rank = {CheckStatus.fail: 0, CheckStatus.warn: 1, CheckStatus.unknown: 2}
    lines = [HealthLine(c.kind, names.get(c.target_ref, c.target_ref), c.status) for c in bad]
    lines.sort(key=lambda h: (rank[h.status], h.target, h.kind))
    return counts, lines


@dataclass
class FirstResponse:
    """The vendor's first response as the case's clock sees it (`hub.case.timeline.targets`).
    `state`: "met" (answered within the target), "late" (answered past it), "awaited" (not
    yet, still in time), "overdue" (not yet, past it), "paused" (waiting on the client),
    "answered" / "none" (no agreed target: answered, or not yet)."""

    state: str
    minutes: int | None = None  # time to answer (clock time with a target, else wall time)
    entitlement: str | None = None
    due_at: datetime | None = None


@dataclass
class CaseLine:
    id: uuid.UUID
    title: str
    vendor: str
    status: str
    opened_at: datetime | None
    resolved_at: datetime | None
    first: FirstResponse
    minutes_charged: int


def first_response(case: Any, clock: list[dict[str, Any]]) -> FirstResponse:
    """From the case (`first_response_at`, `opened_at`) and its clock's targets."""
    target = next((t for t in clock if t["target"] == "first_response"), None)
    if target is None:
        if case.first_response_at is not None and case.opened_at is not None:
            wall = int((case.first_response_at - case.opened_at).total_seconds() // 60)
            return FirstResponse("answered", minutes=max(wall, 0))
        return FirstResponse("none")
    entitlement, due = target["entitlement"], target["due_at"]
    if target["met_at"] is not None:
        state = "late" if target["breached"] else "met"
        return FirstResponse(state, target["elapsed_minutes"], entitlement, due)
    state = "overdue" if target["breached"] else "paused" if target["paused"] else "awaited"
    return FirstResponse(state, None, entitlement, due)


async def _vendor_names(session: AsyncSession, account_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not account_ids:
        return {}
    rows = await session.execute(
        select(VendorAccount.id, Vendor.name)
        .join(Vendor, Vendor.id == VendorAccount.vendor_id)
        .where(VendorAccount.id.in_(account_ids))
    )
    return {i: n for i, n in rows.all()}


async def _minutes_charged(session: AsyncSession, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Minutes charged per case: the client-visible time, as `hub.case.service.detail` sums it."""
    if not case_ids:
        return {}
    rows = await session.execute(
        select(CaseEvent.case_id, func.coalesce(func.sum(CaseEvent.minutes_spent), 0))
        .where(CaseEvent.case_id.in_(case_ids), CaseEvent.client_visible.is_(True))
        .group_by(CaseEvent.case_id)
    )
    return {i: int(n or 0) for i, n in rows.all()}


async def cases(session: AsyncSession, principal: Principal, now: datetime) -> tuple[list[CaseLine], int]:
    """The vendor cases handled for the client, read as the API reads them for a client
    principal (`hub.case.service.cases.list`, scoped to its client) with each case's clock
    (`clock_of`, as `GET /cases/{id}` computes it): client-safe fields only."""
    found, total = await case_service.cases.list(session, principal, CaseFilters(limit=CASES_SHOWN))
    if not found:
        return [], total
    vendors = await _vendor_names(session, {c.vendor_account_id for c in found})
    charged = await _minutes_charged(session, [c.id for c in found])
    shown = []
    for case in found:
        clock = targets(await case_service.clock_of(session, case, now))
        shown.append(
            CaseLine(
                id=case.id,
                title=case.title,
                vendor=vendors.get(case.vendor_account_id, ""),
                status=case.status.value,
                opened_at=case.opened_at,
                resolved_at=case.resolved_at,
                first=first_response(case, clock),
                minutes_charged=charged.get(case.id, 0),
            )
        )
    return shown, total


# A status change reads "Status: open -> waiting_vendor. why" (hub.case.service.move).
_STATUS_CHANGE = re.compile(r"^Status: (\w+) -> (\w+)(?:\. (.*))?$", re.DOTALL)
# The hub's own actors: told as "us", never as an API token's prefix.
_STAFF_PREFIX = "user:"


@dataclass
class TimelineLine:
    kind: str
    at: datetime
    who: str | None  # None: the MSP's service desk
    body: str
    status: str | None  # the status it moved to, for a status change
    minutes: int | None


@dataclass
class CasePage:
    case: CaseDetailClientRead
    vendor: str
    first: FirstResponse
    timeline: list[TimelineLine]


def _scrub(text: str, token: str | None) -> str:
    """Bodies of mail events carry the subject, tagged with the case's thread token: the
    client reads them without it."""
    if not token:
        return text
    return re.sub(r"\s*\[[^\]\s]*" + re.escape(token) + r"\]", "", text).replace(token, "")


def _timeline_line(event: Any, token: str | None) -> TimelineLine:
    kind = event.kind.value
    body, status = _scrub(event.body, token), None
    if kind == "status_change" and (m := _STATUS_CHANGE.match(body)):
        status, body = m.group(2), (m.group(3) or "").strip()
    if kind == "email_in":
        who: str | None = event.actor
    elif event.actor.startswith(_STAFF_PREFIX):
        who = event.actor[len(_STAFF_PREFIX) :]
    else:
        who = None
    return TimelineLine(kind, event.occurred_at, who, body, status, event.minutes_spent)


async def case_page(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> CasePage:
    """One case as `GET /cases/{id}` answers a client principal (`hub.case.service.detail`
    projected on `CaseDetailClientRead`: the client-visible timeline only); another client's
    case is not found."""
    found = await case_service.detail(session, principal, case_id)
    case = CaseDetailClientRead.model_validate(found)
    token = found.get("token")
    vendors = await _vendor_names(session, {case.vendor_account_id})
    clock = [t.model_dump() for t in case.clock]
    return CasePage(
        case=case,
        vendor=vendors.get(case.vendor_account_id, ""),
        first=first_response(case, clock),
        timeline=[_timeline_line(e, token) for e in case.timeline],
    )


async def overview(
    session: AsyncSession,
    principal: Principal,
    day: date,
    now: datetime,
    cache: ReportCache | None = None,
) -> Overview:
    assert principal.client_id is not None  # the portal refuses anyone else before this
    client_id = principal.client_id
    # The spend and the next 12 months: the statement's builder, so that the page, the
    # statement PDF and its CSV carry the same figures.
    spent = await statement(session, principal, client_id, day, cache)
    counts, attention = await health(session, client_id)
    shown_cases, cases_total = await cases(session, principal, now)
    feeds = await notify.list_feeds(session, principal, client_id=client_id, include_revoked=False)
    return Overview(
        client=spent.client,
        currency=spent.currency,
        lines=spent.lines,
        totals=spent.totals,
        by_category=spent.by_category,
        by_pays=spent.by_pays,
        included=spent.included,
        other_currencies=spent.other_currencies,
        months=spent.months,
        forecast_total=spent.forecast_total,
        offers=await _offers(session, principal),
        checks=counts,
        attention=attention,
        cases=shown_cases,
        cases_total=cases_total,
        feeds=[FeedClientRead.model_validate(f) for f in feeds],
    )


__all__ = ["CasePage", "Overview", "case_page", "overview", "with_dates"]
