"""The coverage figures of one client on one day, from facts already read (pure: no
database, no clock). The daily snapshot and the backfill both call `figures`, so a
backfilled day and an observed day count the same things the same way; what differs is
what is known.

`live=True` is today, observed: the current status of every check, the seats in use as
the vendor last reported them, a firmware version against the latest one. `live=False`
is a past day, derived from dates the hub keeps: warranty windows, subscription terms,
check-run history, case timestamps. What the hub does not keep history of is null
rather than guessed:

- seats in use (`av_seats_used`): only the latest count is stored;
- a domain's or certificate's safety, or a firewall's firmware, on a day with no
  `domain_expiry` / `tls_cert` / `firmware` check run before it: the expiry date and the
  firmware version stored are today's, not that day's;
- items deleted since (assets, domains, checks): a backfill only knows today's
  inventory, and counts it as present on every past day."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hub.kit.msgid import N_

# Each figure, what it counts, and whether more is better (the review's arrows).
FIGURES: dict[str, tuple[str, bool]] = {
    "assets": (N_("Assets recorded"), True),
    "assets_in_warranty": (N_("Assets under warranty"), True),
    "servers": (N_("Servers"), True),
    "servers_in_warranty": (N_("Servers under warranty"), True),
    "firewalls": (N_("Firewalls"), True),
    "firewalls_licensed": (N_("Firewalls with a support contract in force"), True),
    "firewalls_current_firmware": (N_("Firewalls on the current firmware"), True),
    "av_seats_paid": (N_("Antivirus seats paid"), True),
    "av_seats_used": (N_("Antivirus seats in use"), True),
    "domains": (N_("Domains"), True),
    "domains_safe": (N_("Domains not expiring within 30 days"), True),
    "certificates": (N_("Certificates"), True),
    "certificates_safe": (N_("Certificates not expiring within 14 days"), True),
    "checks": (N_("Checks"), True),
    "checks_passing": (N_("Checks passing"), True),
    "checks_failing": (N_("Checks failing"), False),
    "cases_open": (N_("Vendor cases open"), False),
}
DOMAIN_MARGIN = timedelta(days=30)
CERT_MARGIN = timedelta(days=14)


@dataclass(frozen=True)
class Run:
    at: datetime
    status: str  # a CheckStatus value


@dataclass(frozen=True)
class CheckFact:
    kind: str
    target_ref: str
    status: str  # now
    runs: Sequence[Run] = ()  # oldest first


@dataclass(frozen=True)
class AssetFact:
    id: str
    kind: str
    warranties: Sequence[tuple[date, date]] = ()
    firmware_current: bool | None = None  # now: version == latest, None when either is unknown


@dataclass(frozen=True)
class SeatFact:
    """An antivirus subscription: its current term and quantity, its past terms."""

    active: bool
    starts_on: date
    ends_on: date | None
    quantity: int
    seats_used: int | None
    terms: Sequence[tuple[date, date | None, int]] = ()  # (starts, ends, quantity)


@dataclass(frozen=True)
class ExpiryFact:
    id: str
    expires_on: date | None  # today's knowledge


@dataclass(frozen=True)
class CaseFact:
    opened_at: datetime | None
    resolved_at: datetime | None


@dataclass
class Facts:
    assets: list[AssetFact] = field(default_factory=list)
    seats: list[SeatFact] = field(default_factory=list)
    domains: list[ExpiryFact] = field(default_factory=list)
    endpoints: list[ExpiryFact] = field(default_factory=list)
    checks: list[CheckFact] = field(default_factory=list)
    cases: list[CaseFact] = field(default_factory=list)


def end_of(day: date) -> datetime:
    """The first instant after `day` (UTC): what happened before it happened by that day."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def status_on(check: CheckFact, day: date, live: bool) -> str | None:
    """The check's status on `day`: its current one when live, else its last run's
    status before the day ended (None: it had not run yet)."""
    if live:
        return check.status
    at = [r.at for r in check.runs]
    i = bisect.bisect_left(at, end_of(day))
    return check.runs[i - 1].status if i else None


def _covered(windows: Sequence[tuple[date, date]], day: date) -> bool:
    return any(starts <= day <= ends for starts, ends in windows)


def _seats_paid(seat: SeatFact, day: date, live: bool) -> int:
    for starts, ends, quantity in seat.terms:
        if starts <= day and (ends is None or day <= ends):
            return quantity
    current = seat.starts_on <= day and (seat.ends_on is None or day <= seat.ends_on)
    # A subscription cancelled since was still paid for on a past day of its term.
    return seat.quantity if current and (seat.active or not live) else 0


def _safe(
    item: ExpiryFact, by_target: dict[str, CheckFact], day: date, live: bool, margin: timedelta
) -> bool | None:
    """Safe on `day`: its expiry check passed (its last run by then), or, today, its
    stored expiry date is beyond the margin. None: not known."""
    check = by_target.get(item.id)
    if check is not None:
        status = status_on(check, day, live)
        if status in ("ok", "warn", "fail"):
            return status == "ok"
    if live and item.expires_on is not None:
        return item.expires_on > day + margin
    return None


def _count(values: list[bool | None]) -> int | None:
    """How many are true; None when none is known (and there are some)."""
    if values and all(v is None for v in values):
        return None
    return sum(1 for v in values if v)


def _firmware(asset: AssetFact, by_target: dict[str, CheckFact], day: date, live: bool) -> bool | None:
    check = by_target.get(asset.id)
    if check is not None:
        status = status_on(check, day, live)
        if status in ("ok", "warn", "fail"):
            return status == "ok"
    return asset.firmware_current if live else None


def figures(facts: Facts, day: date, *, live: bool) -> dict[str, Any]:
    """Every figure of FIGURES for `day` (None where it is not known)."""
    by_kind: dict[str, dict[str, CheckFact]] = {}
    for check in facts.checks:
        by_kind.setdefault(check.kind, {})[check.target_ref] = check
    servers = [a for a in facts.assets if a.kind == "server"]
    firewalls = [a for a in facts.assets if a.kind == "firewall"]
    statuses = [status_on(c, day, live) for c in facts.checks]
    seats = [s for s in facts.seats if live or s.starts_on <= day]
    used = [s.seats_used for s in facts.seats if s.active and s.seats_used is not None]
    cut = end_of(day)
    return {
        "assets": len(facts.assets),
        "assets_in_warranty": sum(1 for a in facts.assets if _covered(a.warranties, day)),
        "servers": len(servers),
        "servers_in_warranty": sum(1 for a in servers if _covered(a.warranties, day)),
        "firewalls": len(firewalls),
        "firewalls_licensed": sum(1 for a in firewalls if _covered(a.warranties, day)),
        "firewalls_current_firmware": _count(
            [_firmware(a, by_kind.get("firmware", {}), day, live) for a in firewalls]
        ),
        "av_seats_paid": sum(_seats_paid(s, day, live) for s in seats),
        "av_seats_used": sum(used) if live and used else None,
        "domains": len(facts.domains),
        "domains_safe": _count(
            [_safe(d, by_kind.get("domain_expiry", {}), day, live, DOMAIN_MARGIN) for d in facts.domains]
        ),
        "certificates": len(facts.endpoints),
        "certificates_safe": _count(
            [_safe(e, by_kind.get("tls_cert", {}), day, live, CERT_MARGIN) for e in facts.endpoints]
        ),
        "checks": len(facts.checks),
        "checks_passing": sum(1 for s in statuses if s == "ok"),
        "checks_failing": sum(1 for s in statuses if s == "fail"),
        "cases_open": sum(
            1
            for c in facts.cases
            if c.opened_at is not None
            and c.opened_at < cut
            and (c.resolved_at is None or c.resolved_at >= cut)
        ),
    }


__all__ = [
    "FIGURES",
    "AssetFact",
    "CaseFact",
    "CheckFact",
    "ExpiryFact",
    "Facts",
    "Run",
    "SeatFact",
    "end_of",
    "figures",
    "status_on",
]
