"""The pure term engine: dates of terms, notice and reminders, no I/O.

Terms are inclusive date ranges: a yearly term starting 2026-01-01 ends 2026-12-31 and
the next starts 2027-01-01. Month arithmetic clamps to the month's last day.

Renewal terms are always computed from one anchor (the start of the first renewal
term), never by adding a period to the previous term: chaining "+1 month" turns 31
January into 28 February and then 28 March, and "+60 months, then +12" lands on a
different day than "+72 months". Term k after the anchor is
`[anchor + k*m months, anchor + (k+1)*m months - 1 day]`, so every term of an item
ends on the same day of the month however many renewals lie in between.

The initial term may differ from the renewal period (36 months, then yearly): the
next term's length is the renewal period, never the length of the current term.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hub.kit.money import MONTHS_IN_PERIOD, BillingPeriod
from hub.models.enums import RenewalType

# Reminder ladders: days before the deadline (positive) and after the end (negative).
DEFAULT_LADDER: tuple[int, ...] = (90, 60, 30, 7, 1, -1, -7)
# Per vendor category of a subscription: licences that protect the client get a denser
# ladder; long-notice contracts (lines, telephony) start earlier.
CATEGORY_LADDERS: dict[str, tuple[int, ...]] = {
    "antivirus": (90, 60, 30, 14, 7, 1, -1, -7),
    "firewall": (90, 60, 30, 14, 7, 1, -1, -7),
    "backup": (90, 60, 30, 14, 7, 1, -1, -7),
    "registrar": (90, 60, 30, 14, 7, 1, -1),
    "isp": (180, 90, 60, 30, 7, -1),
    "telephony": (180, 90, 60, 30, 7, -1),
}
# Per kind of item that is not a subscription. TLS certificates live for 90 days or
# less: a 90-day ladder would fire the day they are issued.
SUBJECT_LADDERS: dict[str, tuple[int, ...]] = {
    "warranty": (90, 30, 7, -1),
    "domain": (90, 60, 30, 14, 7, 1, -1),
    "endpoint": (21, 14, 7, 3, 1, -1),
}
LADDER_MIN_DAY, LADDER_MAX_DAY, LADDER_MAX_STEPS = -365, 3650, 20


class SubjectType(enum.StrEnum):
    subscription = "subscription"
    warranty = "warranty"
    domain = "domain"
    endpoint = "endpoint"


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_between(start: date, day: date) -> int:
    """Whole months from `start` to `day` (clamped arithmetic): the largest n with
    add_months(start, n) <= day (negative when day is before start)."""
    n = (day.year - start.year) * 12 + day.month - start.month
    while add_months(start, n) > day:
        n -= 1
    while add_months(start, n + 1) <= day:
        n += 1
    return n


def cancel_by(ends_on: date | None, notice_days: int) -> date | None:
    """The last day on which notice can still be given to stop the next term."""
    if ends_on is None:
        return None
    return ends_on - timedelta(days=notice_days)


def deadline_instant(day: date, tz: ZoneInfo) -> datetime:
    """The end of `day` in the client's time zone, as the first instant after it: notice
    given on the cancel-by day in the client's office counts, whatever the UTC date."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def local_today(now: datetime, tz: ZoneInfo) -> date:
    """Which day it is at the client at the instant `now` (aware)."""
    return now.astimezone(tz).date()


@dataclass(frozen=True)
class Term:
    starts_on: date
    ends_on: date


def term_months_of(period: BillingPeriod, term_months: int | None = None) -> int:
    return term_months or MONTHS_IN_PERIOD[period]


def anchored_term(anchor: date, months: int, index: int, *, offset: int = 0) -> Term:
    """Term number `index` (0-based) of a series of `months`-long terms that starts
    `offset` months after `anchor`."""
    first = offset + index * months
    return Term(add_months(anchor, first), add_months(anchor, first + months) - timedelta(days=1))


def _series(anchor: date, start: date) -> tuple[date, int]:
    """(anchor, offset) such that `start` is `offset` months after `anchor`; a start that
    is not a whole number of months after the anchor begins a series of its own."""
    if anchor <= start:
        offset = months_between(anchor, start)
        if add_months(anchor, offset) == start:
            return anchor, offset
    return start, 0


def next_term(
    current: Term, period: BillingPeriod, *, term_months: int | None = None, anchor: date | None = None
) -> Term:
    """The term that follows `current`, `term_months` long (default: the billing period).

    It starts the day after `current` ends (a renewal recorded late does not move the
    term) and ends a whole number of months after `anchor`, the start of the item's
    first term (default: the start of `current`). So 60 months then 12 end 72 months
    after the start, and a term anchored on 31 January ends on the 30th of March, not
    on the 27th because February was short.
    """
    months = term_months_of(period, term_months)
    series, offset = _series(anchor or current.starts_on, current.ends_on + timedelta(days=1))
    return anchored_term(series, months, 0, offset=offset)


def term_containing(current: Term, months: int, day: date, *, anchor: date | None = None) -> Term:
    """The term containing `day` among `current` and the renewals that follow it."""
    if day <= current.ends_on:
        return current
    series, offset = _series(anchor or current.starts_on, current.ends_on + timedelta(days=1))
    index = max(0, (months_between(series, day) - offset) // months)
    term = anchored_term(series, months, index, offset=offset)
    while term.ends_on < day:  # clamping can leave `day` just after the estimate
        index += 1
        term = anchored_term(series, months, index, offset=offset)
    return term


def terms_after(current: Term, months: int, count: int, *, anchor: date | None = None) -> list[Term]:
    """The next `count` renewal terms of `current`, all from one anchor."""
    series, offset = _series(anchor or current.starts_on, current.ends_on + timedelta(days=1))
    return [anchored_term(series, months, k, offset=offset) for k in range(count)]


# --- one item's schedule ----------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """What the engine needs of a subscription, warranty, domain or endpoint."""

    subject_type: SubjectType
    ends_on: date | None
    starts_on: date | None = None
    renewal_type: RenewalType = RenewalType.manual
    # Renewal period in months (None: the item is not renewed in terms, e.g. a warranty).
    period_months: int | None = None
    notice_days: int = 0
    # Start of the item's first term (history), so that projections never drift.
    series_start: date | None = None
    active: bool = True


@dataclass(frozen=True)
class Schedule:
    current: Term | None
    next: Term | None
    cancel_by: date | None  # to stop `next` from starting
    renewal_type: RenewalType
    # Past its end and not renewed (a manual renewal that is late, or a lapsed item).
    lapsed: bool
    # The first term end that notice given today can still reach (notice periods longer
    # than a term make it a later one); None when nothing renews.
    earliest_exit: date | None


AUTO = frozenset({RenewalType.auto_vendor, RenewalType.auto_hub})


def renewal_type_of(item: Item) -> RenewalType:
    """none for a cancelled item or one without an end; otherwise the stored type.
    Subscriptions store theirs; warranties, domains and certificates have no such field
    and are renewed by someone acting on a reminder: manual."""
    if not item.active or item.ends_on is None:
        return RenewalType.none
    return item.renewal_type


def schedule(item: Item, today: date) -> Schedule:
    kind = renewal_type_of(item)
    if item.ends_on is None or not item.active:
        return Schedule(None, None, None, kind, False, None)
    start = item.starts_on if item.starts_on is not None and item.starts_on <= item.ends_on else item.ends_on
    current = Term(start, item.ends_on)
    months = item.period_months or 0
    renews = kind is not RenewalType.none and months > 0
    anchor = item.series_start if item.series_start and item.series_start <= start else start
    if renews and kind in AUTO and today > current.ends_on:
        # An auto-renewing item renews by itself: the stored end is just the last one we
        # were told about. Its current term is the one of the series containing today.
        current = term_containing(current, months, today, anchor=anchor)
    nxt = next_term(current, BillingPeriod.monthly, term_months=months, anchor=anchor) if renews else None
    lapsed = today > current.ends_on
    exit_end: date | None = None
    if renews and kind in AUTO:
        # Notice longer than a term: walk forward to the first end notice still reaches.
        # The first end E with E - notice >= today, i.e. E >= today + notice.
        exit_end = term_containing(
            current,
            months,
            today + timedelta(days=item.notice_days),
            anchor=anchor,
        ).ends_on
    elif kind is not RenewalType.none:
        exit_end = current.ends_on
    return Schedule(
        current=current,
        next=nxt,
        cancel_by=cancel_by(current.ends_on, item.notice_days) if kind is not RenewalType.none else None,
        renewal_type=kind,
        lapsed=lapsed and kind not in AUTO,
        earliest_exit=exit_end,
    )


# --- reminder ladders -------------------------------------------------------------------


def validate_ladder(days: Iterable[int]) -> tuple[int, ...]:
    """A ladder as stored: distinct days within bounds, earliest reminder first."""
    values = list(days)
    if not values:
        raise ValueError("a ladder needs at least one step")
    if len(values) > LADDER_MAX_STEPS:
        raise ValueError(f"at most {LADDER_MAX_STEPS} steps")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("steps are whole days")
        if not LADDER_MIN_DAY <= value <= LADDER_MAX_DAY:
            raise ValueError(f"steps are between {LADDER_MIN_DAY} and {LADDER_MAX_DAY} days")
    if len(set(values)) != len(values):
        raise ValueError("steps must be distinct")
    return tuple(sorted(values, reverse=True))


def ladder_for(
    subject_type: SubjectType,
    category: str | None = None,
    *,
    item_ladder: Sequence[int] | None = None,
    category_ladders: Mapping[str, Sequence[int]] | None = None,
) -> tuple[int, ...]:
    """The item's own ladder, else its category's (configured, then built in), else the
    default for its kind of item."""
    if item_ladder:
        return validate_ladder(item_ladder)
    if subject_type is SubjectType.subscription:
        configured = (category_ladders or {}).get(category or "")
        if configured:
            return validate_ladder(configured)
        return CATEGORY_LADDERS.get(category or "", DEFAULT_LADDER)
    configured = (category_ladders or {}).get(subject_type.value)
    return validate_ladder(configured) if configured else SUBJECT_LADDERS[subject_type.value]


@dataclass(frozen=True, order=True)
class Threshold:
    due_on: date
    days: int
    anchor: str  # "cancel_by" or "ends"
    anchor_on: date
    ends_on: date  # the end of the term the reminder is about

    @property
    def key(self) -> str:
        # The term's date is part of the key: a renewed term gets reminders of its own,
        # and its notice dates follow the new end, never the old one.
        return f"{self.anchor}:{self.anchor_on.isoformat()}:{self.days:+d}"


def thresholds(sched: Schedule, ladder: Sequence[int]) -> list[Threshold]:
    """Every reminder of the current term. Days before count down to the cancel-by date
    when there is a notice period (the date that matters), else to the end; days after
    count from the end, and only for items that do not renew by themselves."""
    if sched.current is None:
        return []
    ends = sched.current.ends_on
    deadline = sched.cancel_by if sched.cancel_by is not None else ends
    anchor = "cancel_by" if deadline != ends else "ends"
    out = []
    for days in ladder:
        if days >= 0:
            out.append(Threshold(deadline - timedelta(days=days), days, anchor, deadline, ends))
        elif sched.renewal_type not in AUTO:
            out.append(Threshold(ends - timedelta(days=days), days, "ends", ends, ends))
    return sorted(out)


@dataclass(frozen=True)
class Plan:
    send: Threshold | None = None
    skip: tuple[Threshold, ...] = field(default_factory=tuple)


def plan_reminders(
    ladder_thresholds: Sequence[Threshold], today: date, recorded: Iterable[str], *, catch_up_days: int = 7
) -> Plan:
    """What to write into the ledger today.

    Of the thresholds that are due and not yet recorded, only the latest is sent; the
    older ones are recorded as skipped (a night the worker was down is caught up once,
    not with a burst). Nothing is sent for a threshold older than anything already
    recorded, nor for one more than `catch_up_days` old (a long outage, or an item
    entered long after its end, yields no stale alarm).
    """
    done = set(recorded)
    latest_recorded = max((t.due_on for t in ladder_thresholds if t.key in done), default=None)
    due = [t for t in ladder_thresholds if t.due_on <= today and t.key not in done]
    if not due:
        return Plan()
    latest = max(due)
    stale = (today - latest.due_on).days > catch_up_days
    behind = latest_recorded is not None and latest_recorded >= latest.due_on
    if stale or behind:
        return Plan(skip=tuple(due))
    return Plan(send=latest, skip=tuple(t for t in due if t != latest))
