"""The quarterly business review of one client (staff only: it shows the MSP's costs and
its internal work): coverage at the end of the quarter against the end of the one before
(from the coverage snapshots), the vendor cases of both quarters and how fast vendors
answered (from the cases' own clocks), what expires in the next quarter and what it
costs (the upcoming-renewals report), and recommendations read from the data as it is
today."""

from __future__ import annotations

import re
import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import Principal
from hub.case import service as case_service
from hub.case.timeline import targets
from hub.errors import InvalidInput
from hub.kit.msgid import N_
from hub.models import (
    Asset,
    Check,
    CoverageSnapshot,
    Domain,
    Subscription,
    Vendor,
    VendorAccount,
    VendorCase,
    Warranty,
)
from hub.models.enums import AssetKind, RenewalType, SubscriptionKind, SubscriptionStatus
from hub.report.coverage import FIGURES
from hub.report.service import upcoming, visible_client
from hub.report.snapshots import snapshots_between

_QUARTER = re.compile(r"^\s*(\d{4})-?[Qq]([1-4])\s*$")


# What a recommendation says (msgids of the web catalogue, translated when shown).
ADVICE = {
    "no_warranty": N_("%(what)s %(name)s has no warranty recorded: look it up or buy one."),
    "out_of_warranty": N_(
        "%(what)s %(name)s has been out of warranty since %(day)s: extend it or plan its replacement."
    ),
    "leaves_warranty": N_("%(what)s %(name)s leaves warranty on %(day)s: extend it or plan its replacement."),
    "domain_manual": N_("The domain %(name)s expires on %(day)s and does not renew automatically."),
    "checks_failing": N_("Checks failing: %(n)s (%(kinds)s). Fix them or open a case with the vendor."),
    "old_firmware": N_("Firewall %(name)s runs firmware %(version)s; %(latest)s is available."),
    "seats_short": N_("%(used)s antivirus seats are in use and %(paid)s are paid: buy the missing seats."),
    "seats_unused": N_(
        "%(unused)s of %(paid)s paid antivirus seats are unused: reduce them at the next renewal."
    ),
}


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        return self.following.start - timedelta(days=1)

    @property
    def following(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)

    @property
    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


def quarter_of(day: date) -> Quarter:
    return Quarter(day.year, (day.month - 1) // 3 + 1)


def parse_quarter(text: str | None, today: date) -> Quarter:
    """`2026Q4` (or `2026-q4`); none given: the current quarter. A quarter that has not
    started yet has nothing to review."""
    if text is None or text == "":
        return quarter_of(today)
    found = _QUARTER.match(text)
    if found is None or not 2000 <= int(found.group(1)) <= 2100:
        raise InvalidInput("quarter", "must be a quarter such as 2026Q4", location="query")
    quarter = Quarter(int(found.group(1)), int(found.group(2)))
    if quarter.start > today:
        raise InvalidInput("quarter", f"{quarter} has not started yet", location="query")
    return quarter


@dataclass
class CoverageRow:
    key: str
    label: str
    before: int | None
    now: int | None
    higher_is_better: bool

    @property
    def change(self) -> int | None:
        return None if self.before is None or self.now is None else self.now - self.before

    @property
    def trend(self) -> str:
        """ "better", "worse", "same" or "unknown" (the review's arrow)."""
        change = self.change
        if change is None:
            return "unknown"
        if change == 0:
            return "same"
        return "better" if (change > 0) == self.higher_is_better else "worse"


@dataclass
class CaseFigures:
    opened: int = 0
    resolved: int = 0
    answered: int = 0
    within_target: int = 0
    late: int = 0
    median_first_response_minutes: int | None = None


@dataclass
class VendorCases:
    vendor: str
    now: CaseFigures
    before: CaseFigures


@dataclass
class Recommendation:
    severity: str  # "high" | "medium" | "low"
    message: str  # a msgid with %(name)s placeholders
    params: dict[str, Any]


@dataclass
class Review:
    client: Any
    quarter: Quarter
    as_of: date
    snapshot_day: date | None
    previous_day: date | None
    coverage: list[CoverageRow]
    cases_now: CaseFigures
    cases_before: CaseFigures
    cases_by_vendor: list[VendorCases]
    expiries: list[dict[str, Any]]
    expiry_totals: dict[str, Decimal]
    recommendations: list[Recommendation] = field(default_factory=list)
    backfilled: bool = False


def _closing(snapshots: list[CoverageSnapshot]) -> CoverageSnapshot | None:
    """The quarter's last snapshot: its closing figures (or the latest, in a quarter that
    is still running)."""
    return snapshots[-1] if snapshots else None


def coverage_rows(before: dict[str, Any] | None, now: dict[str, Any] | None) -> list[CoverageRow]:
    rows = []
    for key, (label, higher) in FIGURES.items():
        rows.append(CoverageRow(key, label, (before or {}).get(key), (now or {}).get(key), higher))
    return rows


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _in(at: datetime | None, quarter: Quarter) -> bool:
    return at is not None and _start(quarter.start) <= at < _start(quarter.following.start)


def case_figures(cases: list[dict[str, Any]], quarter: Quarter) -> CaseFigures:
    """The cases opened in the quarter: how many, how many resolved (in the quarter),
    answered, answered within the vendor's target or late, and the median time to the
    vendor's first response (wall-clock minutes)."""
    out = CaseFigures()
    waits = []
    for case in cases:
        if _in(case["resolved_at"], quarter):
            out.resolved += 1
        if not _in(case["opened_at"], quarter):
            continue
        out.opened += 1
        if case["first_response_at"] is not None:
            out.answered += 1
            waits.append(int((case["first_response_at"] - case["opened_at"]).total_seconds() // 60))
        if case["target"] == "met":
            out.within_target += 1
        elif case["target"] == "late":
            out.late += 1
    out.median_first_response_minutes = int(statistics.median(waits)) if waits else None
    return out


async def _cases(
    session: AsyncSession, client_id: uuid.UUID, first: Quarter, now: datetime
) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(VendorCase, Vendor.name)
            .join(VendorAccount, VendorAccount.id == VendorCase.vendor_account_id)
            .join(Vendor, Vendor.id == VendorAccount.vendor_id)
            .where(
                VendorCase.client_id == client_id,
                VendorCase.opened_at.is_not(None),
                (VendorCase.opened_at >= _start(first.start))
                | (VendorCase.resolved_at >= _start(first.start)),
            )
        )
    ).all()
    out = []
    for case, vendor in rows:
        target = next(
            (
                t
                for t in targets(await case_service.clock_of(session, case, now))
                if t["target"] == "first_response"
            ),
            None,
        )
        state = None
        if target is not None and target["met_at"] is not None:
            state = "late" if target["breached"] else "met"
        elif target is not None and target["breached"]:
            state = "late"
        out.append(
            {
                "vendor": vendor,
                "opened_at": case.opened_at,
                "resolved_at": case.resolved_at,
                "first_response_at": case.first_response_at,
                "target": state,
            }
        )
    return out


async def _expiries(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, quarter: Quarter
) -> tuple[list[dict[str, Any]], dict[str, Decimal]]:
    """What ends in `quarter` (subscriptions, warranties, domains, certificates), with the
    staff's figures (the MSP's cost), and the costs per currency."""
    items, _ = await upcoming(
        session,
        principal,
        today=quarter.start,
        within_days=(quarter.end - quarter.start).days,
        client_id=client_id,
        limit=None,
    )
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for item in items:
        item["ends"] = date.fromisoformat(item["ends_on"])
        if item["cost"] is not None and item["currency"]:
            totals[item["currency"]] += Decimal(item["cost"])
    return items, dict(totals)


async def _warranty_recommendations(
    session: AsyncSession, client_id: uuid.UUID, today: date, horizon: date
) -> list[Recommendation]:
    rows = await session.execute(
        select(Asset.id, Asset.name, Asset.kind, Warranty.starts_on, Warranty.ends_on)
        .outerjoin(Warranty, Warranty.asset_id == Asset.id)
        .where(
            Asset.client_id == client_id,
            Asset.kind.in_([AssetKind.server, AssetKind.firewall, AssetKind.nas]),
        )
    )
    last: dict[uuid.UUID, tuple[str, AssetKind, date | None]] = {}
    for asset_id, name, kind, _starts, warranty_ends in rows:
        seen = last.get(asset_id)
        if seen is None or (warranty_ends is not None and (seen[2] is None or warranty_ends > seen[2])):
            last[asset_id] = (name, kind, warranty_ends)
    out = []
    for name, kind, ends in sorted(last.values(), key=lambda v: (v[2] or date.min, v[0])):
        what = kind.value
        if ends is None:
            out.append(
                Recommendation(
                    "medium",
                    ADVICE["no_warranty"],
                    {"what": what, "name": name},
                )
            )
        elif ends < today:
            out.append(
                Recommendation(
                    "high",
                    ADVICE["out_of_warranty"],
                    {"what": what, "name": name, "day": ends},
                )
            )
        elif ends <= horizon:
            out.append(
                Recommendation(
                    "high",
                    ADVICE["leaves_warranty"],
                    {"what": what, "name": name, "day": ends},
                )
            )
    return out


async def _domain_recommendations(
    session: AsyncSession, client_id: uuid.UUID, horizon: date
) -> list[Recommendation]:
    """Domains expiring by the end of the next quarter that no automatically renewing
    domain registration covers (matched by the domain's name in the product)."""
    domains = (
        await session.execute(
            select(Domain.name, Domain.expires_on).where(
                Domain.client_id == client_id, Domain.expires_on.is_not(None), Domain.expires_on <= horizon
            )
        )
    ).all()
    if not domains:
        return []
    auto = [
        p.lower()
        for p in (
            await session.execute(
                select(Subscription.product).where(
                    Subscription.client_id == client_id,
                    Subscription.kind == SubscriptionKind.domain_registration,
                    Subscription.status == SubscriptionStatus.active,
                    Subscription.renewal_type.in_([RenewalType.auto_vendor, RenewalType.auto_hub]),
                )
            )
        ).scalars()
    ]
    return [
        Recommendation(
            "high",
            ADVICE["domain_manual"],
            {"name": name, "day": expires},
        )
        for name, expires in sorted(domains, key=lambda d: (d[1], d[0]))
        if not any(name.lower() in product for product in auto)
    ]


async def _other_recommendations(
    session: AsyncSession, client_id: uuid.UUID, latest: dict[str, Any] | None
) -> list[Recommendation]:
    out = []
    failing = (
        (
            await session.execute(
                select(Check.kind).where(
                    Check.client_id == client_id, Check.enabled.is_(True), Check.status == "fail"
                )
            )
        )
        .scalars()
        .all()
    )
    if failing:
        kinds = ", ".join(sorted(set(failing)))
        out.append(
            Recommendation(
                "high",
                ADVICE["checks_failing"],
                {"n": len(failing), "kinds": kinds},
            )
        )
    firewalls = (
        await session.execute(
            select(Asset.name, Asset.firmware_version, Asset.firmware_latest).where(
                Asset.client_id == client_id,
                Asset.kind == AssetKind.firewall,
                Asset.firmware_version.is_not(None),
                Asset.firmware_latest.is_not(None),
                Asset.firmware_version != Asset.firmware_latest,
            )
        )
    ).all()
    for name, version, latest_version in firewalls:
        out.append(
            Recommendation(
                "medium",
                ADVICE["old_firmware"],
                {"name": name, "version": version, "latest": latest_version},
            )
        )
    if latest:
        paid, used = latest.get("av_seats_paid"), latest.get("av_seats_used")
        if paid is not None and used is not None:
            if used > paid:
                out.append(
                    Recommendation(
                        "high",
                        ADVICE["seats_short"],
                        {"used": used, "paid": paid},
                    )
                )
            elif paid - used >= max(2, paid // 10):
                out.append(
                    Recommendation(
                        "low",
                        ADVICE["seats_unused"],
                        {"unused": paid - used, "paid": paid},
                    )
                )
    return out


async def review(
    session: AsyncSession,
    principal: Principal,
    client_id: uuid.UUID,
    quarter: Quarter,
    today: date,
    now: datetime,
) -> Review:
    principal.require_staff()
    client = await visible_client(session, principal, client_id)
    before = quarter.previous
    now_snaps = await snapshots_between(session, client.id, quarter.start, min(quarter.end, today))
    before_snaps = await snapshots_between(session, client.id, before.start, before.end)
    closing, opening = _closing(now_snaps), _closing(before_snaps)
    cases = await _cases(session, client.id, before, now)
    by_vendor: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case in cases:
        by_vendor[case["vendor"]].append(case)
    expiries, expiry_totals = await _expiries(session, principal, client.id, quarter.following)
    horizon = quarter.following.end
    latest = await snapshots_between(session, client.id, today - timedelta(days=1), today)
    recommendations = (
        await _warranty_recommendations(session, client.id, today, horizon)
        + await _domain_recommendations(session, client.id, horizon)
        + await _other_recommendations(session, client.id, latest[-1].figures if latest else None)
    )
    rank = {"high": 0, "medium": 1, "low": 2}
    recommendations.sort(key=lambda r: rank[r.severity])
    return Review(
        client=client,
        quarter=quarter,
        as_of=today,
        snapshot_day=closing.day if closing else None,
        previous_day=opening.day if opening else None,
        coverage=coverage_rows(opening.figures if opening else None, closing.figures if closing else None),
        cases_now=case_figures(cases, quarter),
        cases_before=case_figures(cases, before),
        cases_by_vendor=[
            VendorCases(v, case_figures(cs, quarter), case_figures(cs, before))
            for v, cs in sorted(by_vendor.items())
        ],
        expiries=expiries,
        expiry_totals=expiry_totals,
        recommendations=recommendations,
        backfilled=any(s.source == "backfill" for s in (closing, opening) if s is not None),
    )


__all__ = [
    "CaseFigures",
    "CoverageRow",
    "Quarter",
    "Recommendation",
    "Review",
    "case_figures",
    "coverage_rows",
    "parse_quarter",
    "quarter_of",
    "review",
]
