"""The vendor's SLA clock: business-hours arithmetic and first-response / resolution
targets computed from a case's event history. Pure: no I/O, no wall clock (`now` is
always passed in), nothing stored; the same history gives the same answer.

Vocabulary
- `BusinessCalendar`: a vendor's weekly opening hours in its time zone (several intervals
  a day, or around the clock), public holidays from the `holidays` package (country and
  subdivision) and extra closed dates. `parse_calendar` reads it from plain data and
  names the field of any error.
- `Entitlement`: how long the vendor has. `"4h"` / `"30m"` are clock time, around the
  clock and through holidays (`ClockTime`); `"business_hours:8"` is business time on the
  vendor's calendar (`BusinessTime`); `"nbd"` is "by the close of the next business day"
  and `"business_days:2"` its generalisation, optionally with a cut-off (`"nbd@17:00"`: a
  case logged at or after 17:00 counts from the following business day) (`BusinessDays`).
- `ClockEvent`: what happened to the case, as the clock needs it (opened, paused while
  waiting on the client, resumed, vendor responded, resolved, reopened, closed).
- `evaluate(terms, events, now)`: the first-response and resolution targets, each with
  its due instant, elapsed and remaining clock time, whether and when it was breached.

Rules worth knowing
- The clock is anchored at the first `opened` event (a draft has no clock); later
  `opened` events are ignored.
- Paused intervals (waiting on the client) never count, for either target. A pause that
  has not ended is taken to end `now`: the due instant shown is "if the client answered
  now", so it moves later while the pause lasts and never earlier.
- A reopen (after a resolution) starts a new resolution cycle from zero at the reopen;
  earlier cycles stay in `ClockReport.resolution_history` with their breaches (the raw
  material of a service-credit claim). The first-response target is not restarted.
- Time zones: every boundary of an opening interval is "the first instant at which the
  vendor's wall clock shows that time": on a spring-forward day an opening at 02:30 that
  never exists on the wall clock happens at the transition (03:00 in Rome), a day open
  00:00-24:00 lasts 23 or 25 real hours, and an ambiguous fall-back time is its first
  occurrence.
- Intervals do not cross midnight: write 22:00-06:00 as 22:00-24:00 and 00:00-06:00.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

MINUTES_PER_DAY = 24 * 60
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A calendar that never opens within this many days is refused rather than searched forever.
HORIZON_DAYS = 3 * 366
# Upper bounds that catch a typo (400 instead of 4) without limiting any real contract.
MAX_CLOCK_HOURS = 24 * 366
MAX_BUSINESS_DAYS = 60
_FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)


class ClockError(ValueError):
    """Bad clock input: `field` names where (e.g. `calendar.hours.mon[1]`), `reason` why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# -- calendars ----------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Interval:
    """Open from `start` to `end` (minutes after local midnight; `end` is exclusive and
    may be 1440, i.e. 24:00)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= MINUTES_PER_DAY:
            raise ValueError(f"interval {self.start}-{self.end} must satisfy 0 <= start < end <= 1440")

    @classmethod
    def of(cls, opens: time, closes: time | None) -> Interval:
        """`closes=None` means midnight at the end of the day (24:00)."""
        end = MINUTES_PER_DAY if closes is None else closes.hour * 60 + closes.minute
        return cls(opens.hour * 60 + opens.minute, end)

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


@dataclass(frozen=True)
class HolidayRule:
    """Public holidays of a country (ISO 3166-1 alpha-2) and optionally one of its
    subdivisions, as the `holidays` package knows them (observed days included)."""

    country: str
    subdivision: str | None = None


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """A vendor's (or a support channel's) opening hours. Build it with `weekly`,
    `around_the_clock` or `parse_calendar`."""

    zone: ZoneInfo
    week: tuple[tuple[Interval, ...], ...]
    """Seven entries, Monday first; each the day's intervals in order, not overlapping."""
    holiday_rule: HolidayRule | None = None
    closed_dates: frozenset[date] = frozenset()
    _holidays: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError("week must have seven days, Monday first")
        for day in self.week:
            for earlier, later in itertools.pairwise(day):
                if later.start < earlier.end:
                    raise ValueError(f"intervals {earlier} and {later} overlap or are out of order")
        if not any(self.week):
            raise ValueError("the calendar is never open")
        if self.holiday_rule is not None:
            # The holidays object fills in years on demand; it belongs to this calendar only.
            calendar = holidays_lib.country_holidays(
                self.holiday_rule.country, subdiv=self.holiday_rule.subdivision
            )
            object.__setattr__(self, "_holidays", calendar)

    # -- constructors
    @classmethod
    def weekly(
        cls,
        zone: str | ZoneInfo,
        hours: Mapping[str, Sequence[tuple[time, time | None]]],
        *,
        holiday_rule: HolidayRule | None = None,
        closed_dates: Iterable[date] = (),
    ) -> BusinessCalendar:
        """`hours` maps "mon".."sun" to (opens, closes) pairs; missing days are closed."""
        week = tuple(
            tuple(sorted(Interval.of(opens, closes) for opens, closes in hours.get(day, ())))
            for day in WEEKDAYS
        )
        tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        return cls(tz, week, holiday_rule, frozenset(closed_dates))

    @classmethod
    def around_the_clock(cls, zone: str | ZoneInfo = "UTC") -> BusinessCalendar:
        """Open every minute of every day, holidays included (a 24x7 contract)."""
        tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        return cls(tz, tuple((Interval(0, MINUTES_PER_DAY),) for _ in WEEKDAYS))

    @property
    def never_closes(self) -> bool:
        """Open every minute of every day with no holiday or closed date: asking when it
        next closes would search the whole horizon, day by day, for nothing."""
        full = all(len(day) == 1 and day[0].start == 0 and day[0].end == MINUTES_PER_DAY for day in self.week)
        return full and self.holiday_rule is None and not self.closed_dates

    # -- days
    def is_holiday(self, day: date) -> bool:
        return day in self.closed_dates or (self._holidays is not None and day in self._holidays)

    def is_business_day(self, day: date) -> bool:
        return bool(self.week[day.weekday()]) and not self.is_holiday(day)

    def day_periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The local date's open periods as UTC instants (empty on a closed day)."""
        if not self.is_business_day(day):
            return []
        periods = []
        for interval in self.week[day.weekday()]:
            start = wall_to_utc(self.zone, day, interval.start)
            end = wall_to_utc(self.zone, day, interval.end)
            if end > start:  # an interval swallowed whole by a DST gap has no duration
                periods.append((start, end))
        return periods

    def periods_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open periods (UTC, in order) from `at` on, the first one clipped to `at`."""
        at = _utc(at)
        # Start a day early: a period of yesterday's local date can still be running.
        day = at.astimezone(self.zone).date() - timedelta(days=1)
        for _ in range(HORIZON_DAYS):
            for start, end in self.day_periods(day):
                if end > at:
                    yield max(start, at), end
            day += timedelta(days=1)

    def close_of(self, day: date) -> datetime:
        """When the business day `day` ends (its last interval's close), in UTC."""
        periods = self.day_periods(day)
        if not periods:
            raise ClockError("calendar", f"{day} is not a business day")
        return periods[-1][1]

    def business_day_on_or_after(self, day: date) -> date:
        for _ in range(HORIZON_DAYS):
            if self.is_business_day(day):
                return day
            day += timedelta(days=1)
        raise ClockError("calendar", f"no business day within {HORIZON_DAYS} days of {day}")


def wall_to_utc(zone: ZoneInfo, day: date, minute: int) -> datetime:
    """The first instant at which the wall clock in `zone` shows `minute` (after midnight)
    of `day`, or a later time: for a wall time in a DST gap that is the transition
    itself; for an ambiguous one, its first occurrence."""
    if minute == MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), 0
    naive = datetime.combine(day, time(minute // 60, minute % 60))
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first  # exists (fold=0 is the earlier of two ambiguous instants)
    # In a gap: fold=0 and fold=1 map to instants either side of the transition. Search
    # for the earliest instant whose wall time has reached `naive` (wall time only jumps
    # forward there, so it is monotonic on that range).
    other = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = int(min(first, other).timestamp()), int(max(first, other).timestamp())
    while high - low > 1:  # invariant: wall(low) < naive <= wall(high), whole seconds
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def is_open(calendar: BusinessCalendar, at: datetime) -> bool:
    """Whether the channel is open at `at` (an aware instant)."""
    first = next(calendar.periods_from(at), None)
    return first is not None and first[0] <= _utc(at)


def next_opening(calendar: BusinessCalendar, at: datetime) -> datetime:
    """`at` itself when open, else when it next opens (UTC)."""
    first = next(calendar.periods_from(at), None)
    if first is None:
        raise ClockError("calendar", f"never open within {HORIZON_DAYS} days")
    return first[0]


def next_closing(calendar: BusinessCalendar, at: datetime) -> datetime | None:
    """When the period open at `at` ends (UTC), or None when closed at `at`. Periods
    that touch (Monday 24:00 and Tuesday 00:00) are one opening. A calendar that never
    closes ends at the horizon (`HORIZON_DAYS` from `at`), found without the search."""
    if calendar.never_closes:
        return _utc(at) + timedelta(days=HORIZON_DAYS)
    periods = calendar.periods_from(at)
    current = next(periods, None)
    if current is None or current[0] > _utc(at):
        return None
    end = current[1]
    for start, following_end in periods:
        if start > end:
            break
        end = following_end
    return end


def add_business_time(
    calendar: BusinessCalendar, start: datetime, amount: timedelta, pauses: Sequence[Pause] = ()
) -> datetime:
    """The instant at which `amount` of open time (outside `pauses`) has passed since
    `start`. Zero returns `start`; an amount ending exactly at a close returns the close."""
    if amount < timedelta(0):
        raise ClockError("amount", "must not be negative")
    start = _utc(start)
    if amount == timedelta(0):
        return start
    left = amount
    for period_start, period_end in _without_pauses(calendar.periods_from(start), pauses):
        length = period_end - period_start
        if left <= length:
            return period_start + left
        left -= length
    raise ClockError("calendar", f"not enough open time within {HORIZON_DAYS} days")


def business_time_between(
    calendar: BusinessCalendar, start: datetime, end: datetime, pauses: Sequence[Pause] = ()
) -> timedelta:
    """Open time (outside `pauses`) in [start, end); zero when end <= start."""
    start, end = _utc(start), _utc(end)
    total = timedelta(0)
    if end <= start:
        return total
    for period_start, period_end in _without_pauses(calendar.periods_from(start), pauses):
        if period_start >= end:
            break
        total += min(period_end, end) - period_start
    return total


# -- parsing a calendar -------------------------------------------------------------------

_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_calendar(data: Mapping[str, Any], *, field: str = "calendar") -> BusinessCalendar:
    """A calendar from plain data (a vendor setting, a support channel):

        {"timezone": "Europe/Rome",
         "hours": {"mon": ["09:00-13:00", "14:00-18:00"], ..., "sat": []} | "24x7",
         "holidays": {"country": "IT", "subdivision": "RM"} | null,
         "closed_dates": ["2026-08-14"]}

    Days left out are closed. Any error is a `ClockError` naming the field."""
    if not isinstance(data, Mapping):
        raise ClockError(field, "must be an object")
    unknown = sorted(set(data) - {"timezone", "hours", "holidays", "closed_dates"})
    if unknown:
        raise ClockError(f"{field}.{unknown[0]}", "unknown field")
    zone = _parse_zone(data.get("timezone"), f"{field}.timezone")
    week = _parse_week(data.get("hours"), f"{field}.hours")
    rule = _parse_holidays(data.get("holidays"), f"{field}.holidays")
    closed = _parse_dates(data.get("closed_dates", ()), f"{field}.closed_dates")
    try:
        return BusinessCalendar(zone, week, rule, closed)
    except ValueError as exc:
        raise ClockError(f"{field}.hours", str(exc)) from None


def channel_calendar(
    hours: Mapping[str, Any] | None,
    timezone: str,
    *,
    holidays: Mapping[str, Any] | None = None,
    field: str = "hours",
) -> BusinessCalendar:
    """A support channel's calendar from the vendor catalogue's shape
    (`{"days": ["mon", ...], "opens": "09:00", "closes": "18:00"}`, None meaning around the
    clock) and its time zone; `holidays` as in `parse_calendar`."""
    if hours is None:
        week: Any = "24x7"
    elif isinstance(hours, Mapping):
        days = hours.get("days")
        if not isinstance(days, Sequence) or isinstance(days, str) or not days:
            raise ClockError(f"{field}.days", "must be a non-empty list of mon..sun")
        opens, closes = str(hours.get("opens", ""))[:5], str(hours.get("closes", ""))[:5]
        week = {str(day): [f"{opens}-{closes}"] for day in days}
    else:
        raise ClockError(field, 'must be {"days", "opens", "closes"} or null')
    data: dict[str, Any] = {"timezone": timezone, "hours": week, "holidays": holidays}
    try:
        return parse_calendar(data, field=field)
    except ClockError as exc:
        # Name the channel's own fields, not the intermediate calendar's.
        name = exc.field.replace(f"{field}.hours", field).replace(f"{field}.timezone", "timezone")
        raise ClockError(name, exc.reason) from None


def _parse_zone(value: Any, field: str) -> ZoneInfo:
    if not isinstance(value, str) or not value.strip():
        raise ClockError(field, "must be an IANA time zone name such as Europe/Rome")
    try:
        return ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ClockError(field, f"{value!r} is not a known IANA time zone") from None


def _parse_week(value: Any, field: str) -> tuple[tuple[Interval, ...], ...]:
    if isinstance(value, str) and value.strip().lower() in ("24x7", "24/7"):
        return tuple((Interval(0, MINUTES_PER_DAY),) for _ in WEEKDAYS)
    if not isinstance(value, Mapping):
        raise ClockError(field, 'must be "24x7" or an object from "mon".."sun" to lists of "HH:MM-HH:MM"')
    unknown = sorted(set(value) - set(WEEKDAYS))
    if unknown:
        raise ClockError(f"{field}.{unknown[0]}", f"unknown day; use {', '.join(WEEKDAYS)}")
    week = []
    for day in WEEKDAYS:
        ranges = value.get(day) or []
        if isinstance(ranges, str):
            ranges = [ranges]
        if not isinstance(ranges, Sequence):
            raise ClockError(f"{field}.{day}", 'must be a list of "HH:MM-HH:MM"')
        intervals = sorted(_parse_range(item, f"{field}.{day}[{n}]") for n, item in enumerate(ranges))
        for earlier, later in itertools.pairwise(intervals):
            if later.start < earlier.end:
                raise ClockError(f"{field}.{day}", f"{earlier} and {later} overlap")
        week.append(tuple(intervals))
    if not any(week):
        raise ClockError(field, "no opening hours on any day")
    return tuple(week)


def _parse_range(value: Any, field: str) -> Interval:
    match = _RANGE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ClockError(field, f'{value!r} is not "HH:MM-HH:MM"')
    opens_h, opens_m, closes_h, closes_m = (int(g) for g in match.groups())
    start, end = opens_h * 60 + opens_m, closes_h * 60 + closes_m
    if opens_m > 59 or closes_m > 59 or start >= MINUTES_PER_DAY or end > MINUTES_PER_DAY:
        raise ClockError(field, f"{value!r} is not a time of day (00:00 to 24:00)")
    if end <= start:
        raise ClockError(
            field,
            f"{value!r} closes before it opens; split a night across midnight (22:00-24:00, 00:00-06:00)",
        )
    return Interval(start, end)


def _parse_holidays(value: Any, field: str) -> HolidayRule | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ClockError(field, 'must be {"country": "IT", "subdivision": "RM"} or null')
    unknown = sorted(set(value) - {"country", "subdivision"})
    if unknown:
        raise ClockError(f"{field}.{unknown[0]}", "unknown field")
    country = value.get("country")
    if not isinstance(country, str) or not re.fullmatch(r"[A-Za-z]{2}", country.strip()):
        raise ClockError(f"{field}.country", "must be an ISO 3166-1 alpha-2 code such as IT")
    country = country.strip().upper()
    subdivision = value.get("subdivision")
    if subdivision is not None and (not isinstance(subdivision, str) or not subdivision.strip()):
        raise ClockError(f"{field}.subdivision", "must be a subdivision code such as RM, or null")
    if country not in holidays_lib.list_supported_countries():
        raise ClockError(
            f"{field}.country", f"{country} has no public-holiday calendar in the holidays package"
        )
    code = subdivision.strip().upper() if isinstance(subdivision, str) else None
    if code is not None:
        known = holidays_lib.list_supported_countries()[country]
        if code not in {s.upper() for s in known}:
            raise ClockError(f"{field}.subdivision", f"{code} is not a subdivision of {country}")
    return HolidayRule(country, code)


def _parse_dates(value: Any, field: str) -> frozenset[date]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ClockError(field, "must be a list of YYYY-MM-DD dates")
    out = set()
    for n, item in enumerate(value):
        try:
            out.add(item if isinstance(item, date) else date.fromisoformat(str(item)))
        except ValueError:
            raise ClockError(f"{field}[{n}]", f"{item!r} is not a YYYY-MM-DD date") from None
    return frozenset(out)


# -- entitlements -------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockTime:
    """Wall-clock time around the clock, holidays included ("4h": four hours from now)."""

    duration: timedelta

    def __str__(self) -> str:
        minutes = int(self.duration.total_seconds() // 60)
        return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


@dataclass(frozen=True)
class BusinessTime:
    """Open time on the vendor's calendar ("business_hours:8")."""

    duration: timedelta

    def __str__(self) -> str:
        hours = self.duration / timedelta(hours=1)
        return f"business_hours:{hours:g}"


@dataclass(frozen=True)
class BusinessDays:
    """By the close of the n-th business day after the day the case was logged ("nbd" is
    n=1). A case logged on a closed day counts from the next business day; with a
    `cutoff`, one logged at or after it (local time) counts from the business day after."""

    days: int
    cutoff: time | None = None

    def __str__(self) -> str:
        base = "nbd" if self.days == 1 else f"business_days:{self.days}"
        return f"{base}@{self.cutoff:%H:%M}" if self.cutoff else base


Entitlement = ClockTime | BusinessTime | BusinessDays

_CLOCK = re.compile(r"^(\d+(?:\.\d+)?)\s*(h|m)$")
_BUSINESS_HOURS = re.compile(r"^(?:business_hours|bh):\s*(\d+(?:\.\d+)?)$")
_BUSINESS_DAYS = re.compile(r"^(?:nbd|business_days:\s*(\d+))(?:\s*@\s*(\d{1,2}):(\d{2}))?$")
_ENTITLEMENT_HELP = "use e.g. '4h', '30m', 'business_hours:8', 'nbd', 'nbd@17:00' or 'business_days:2'"


def parse_entitlement(text: Any, *, field: str = "entitlement") -> Entitlement:
    """An entitlement level from its short text; a `ClockError` naming `field` otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ClockError(field, f"must be a text; {_ENTITLEMENT_HELP}")
    value = text.strip().lower()
    if match := _CLOCK.match(value):
        amount, unit = float(match.group(1)), match.group(2)
        duration = timedelta(hours=amount) if unit == "h" else timedelta(minutes=amount)
        _check_duration(duration, text, field)
        return ClockTime(duration)
    if match := _BUSINESS_HOURS.match(value):
        duration = timedelta(hours=float(match.group(1)))
        _check_duration(duration, text, field)
        return BusinessTime(duration)
    if match := _BUSINESS_DAYS.match(value):
        days = int(match.group(1)) if match.group(1) else 1
        if not 1 <= days <= MAX_BUSINESS_DAYS:
            raise ClockError(field, f"{text!r}: business days must be between 1 and {MAX_BUSINESS_DAYS}")
        cutoff = None
        if match.group(2):
            hour, minute = int(match.group(2)), int(match.group(3))
            if hour > 23 or minute > 59:
                raise ClockError(field, f"{text!r}: the cut-off must be a time of day (HH:MM)")
            cutoff = time(hour, minute)
        return BusinessDays(days, cutoff)
    raise ClockError(field, f"{text!r} is not an entitlement level; {_ENTITLEMENT_HELP}")


def _check_duration(duration: timedelta, text: str, field: str) -> None:
    if duration < timedelta(minutes=1):
        raise ClockError(field, f"{text!r}: at least one minute")
    if duration > timedelta(hours=MAX_CLOCK_HOURS):
        raise ClockError(field, f"{text!r}: more than {MAX_CLOCK_HOURS} hours")
    if duration % timedelta(minutes=1):
        raise ClockError(field, f"{text!r}: whole minutes only")


def target_amount(
    entitlement: Entitlement, calendar: BusinessCalendar, start: datetime
) -> tuple[BusinessCalendar, timedelta]:
    """The calendar a target runs on and how much of its open time the vendor has from
    `start` (business days become the open time from `start` to their nominal close, so
    that pauses push the deadline by exactly the open time they took)."""
    if isinstance(entitlement, ClockTime):
        return BusinessCalendar.around_the_clock(), entitlement.duration
    if isinstance(entitlement, BusinessTime):
        return calendar, entitlement.duration
    local = _utc(start).astimezone(calendar.zone)
    logged = local.date()
    if entitlement.cutoff is not None and local.time() >= entitlement.cutoff:
        logged += timedelta(days=1)
    day = calendar.business_day_on_or_after(logged)
    for _ in range(entitlement.days):
        day = calendar.business_day_on_or_after(day + timedelta(days=1))
    return calendar, business_time_between(calendar, start, calendar.close_of(day))


# -- the clock over a case's history ------------------------------------------------------


class ClockEventKind(StrEnum):
    opened = "opened"
    """The case became active (left draft): anchors the clock."""
    paused = "paused"
    """Waiting on the client: the vendor's clock stops."""
    resumed = "resumed"
    vendor_responded = "vendor_responded"
    resolved = "resolved"
    reopened = "reopened"
    closed = "closed"


@dataclass(frozen=True)
class ClockEvent:
    at: datetime
    kind: ClockEventKind


@dataclass(frozen=True)
class Pause:
    """The clock stopped from `start` to `end` (None: not resumed yet)."""

    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class SlaTerms:
    calendar: BusinessCalendar
    first_response: Entitlement | None = None
    resolution: Entitlement | None = None


class Target(StrEnum):
    first_response = "first_response"
    resolution = "resolution"


@dataclass(frozen=True)
class TargetStatus:
    target: Target
    entitlement: Entitlement
    started_at: datetime
    due_at: datetime
    """With the pauses so far (a pause still running taken to end now)."""
    allowed: timedelta
    """How much clock time the vendor has in all (open time of the target's calendar)."""
    met_at: datetime | None
    elapsed: timedelta
    """Clock time used so far (until met, else until now), pauses excluded."""
    remaining: timedelta
    """What is left before the due instant (zero once breached or met late)."""
    overrun: timedelta
    """Clock time used beyond the allowance (zero unless breached)."""
    breached: bool
    breached_at: datetime | None
    """The instant the target was missed (its due instant), when it was."""
    paused: bool

    @property
    def running(self) -> bool:
        return self.met_at is None and not self.paused


@dataclass(frozen=True)
class ClockReport:
    started_at: datetime | None
    """The anchor (first `opened`), or None for a case that never became active."""
    first_response: TargetStatus | None
    resolution: TargetStatus | None
    """The current resolution cycle (the latest one)."""
    resolution_history: tuple[TargetStatus, ...]
    """Every resolution cycle, oldest first (the last is `resolution`)."""
    paused: bool

    @property
    def breaches(self) -> tuple[TargetStatus, ...]:
        found = [self.first_response] if self.first_response and self.first_response.breached else []
        return tuple(found + [cycle for cycle in self.resolution_history if cycle.breached])


_ENDS_CYCLE = {ClockEventKind.resolved, ClockEventKind.closed}
_ENDS_PAUSE = {ClockEventKind.resumed, ClockEventKind.reopened, *_ENDS_CYCLE}


def evaluate(terms: SlaTerms, events: Sequence[ClockEvent], now: datetime) -> ClockReport:
    """The vendor's clock for a case, computed from its history as of `now`. Events after
    `now` are not counted; events with equal instants keep their given order."""
    now = _checked(now, "now")
    timeline = sorted(
        (
            (_checked(e.at, f"events[{n}].at"), n, _kind(e.kind, f"events[{n}].kind"))
            for n, e in enumerate(events)
        ),
        key=lambda item: (item[0], item[1]),
    )
    timeline = [item for item in timeline if item[0] <= now]
    anchor = next((at for at, _, kind in timeline if kind is ClockEventKind.opened), None)
    if anchor is None:
        return ClockReport(None, None, None, (), False)
    pauses: list[Pause] = []
    paused_since: datetime | None = None
    cycles: list[list[datetime | None]] = [[anchor, None]]
    responded: datetime | None = None
    for at, _, kind in timeline:
        if at < anchor:
            continue
        current = cycles[-1]
        if kind is ClockEventKind.paused and paused_since is None and current[1] is None:
            paused_since = at
        elif kind in _ENDS_PAUSE and paused_since is not None:
            pauses.append(Pause(paused_since, at))
            paused_since = None
        if kind is ClockEventKind.vendor_responded and responded is None:
            responded = at
        if kind in _ENDS_CYCLE and current[1] is None:
            current[1] = at
            responded = responded or at  # a vendor that resolves has answered
        elif kind is ClockEventKind.reopened and current[1] is not None:
            cycles.append([at, None])
    paused = paused_since is not None
    if paused_since is not None:
        pauses.append(Pause(paused_since, None))
    first = (
        _status(Target.first_response, terms.first_response, terms.calendar, anchor, responded, pauses, now)
        if terms.first_response is not None
        else None
    )
    history: tuple[TargetStatus, ...] = ()
    if terms.resolution is not None:
        history = tuple(
            _status(Target.resolution, terms.resolution, terms.calendar, start, met, pauses, now)
            for start, met in ((c[0], c[1]) for c in cycles)
            if start is not None
        )
    return ClockReport(anchor, first, history[-1] if history else None, history, paused)


def _status(
    target: Target,
    entitlement: Entitlement,
    vendor_calendar: BusinessCalendar,
    start: datetime,
    met_at: datetime | None,
    pauses: Sequence[Pause],
    now: datetime,
) -> TargetStatus:
    calendar, allowed = target_amount(entitlement, vendor_calendar, start)
    end = met_at or now
    # A pause still running is taken to end now (or when the target was met).
    settled = [Pause(p.start, p.end if p.end is not None else max(end, p.start)) for p in pauses]
    due = add_business_time(calendar, start, allowed, settled)
    elapsed = business_time_between(calendar, start, end, settled)
    breached = end > due
    zero = timedelta(0)
    return TargetStatus(
        target=target,
        entitlement=entitlement,
        started_at=start,
        due_at=due,
        allowed=allowed,
        met_at=met_at,
        elapsed=elapsed,
        remaining=max(allowed - elapsed, zero) if not breached else zero,
        overrun=max(elapsed - allowed, zero),
        breached=breached,
        breached_at=due if breached else None,
        paused=met_at is None and any(p.end is None for p in pauses),
    )


# -- helpers ------------------------------------------------------------------------------


def _without_pauses(
    periods: Iterable[tuple[datetime, datetime]], pauses: Sequence[Pause]
) -> Iterator[tuple[datetime, datetime]]:
    """Open periods minus the paused intervals (both in order)."""
    cuts = sorted((_utc(p.start), _utc(p.end) if p.end is not None else _FAR_FUTURE) for p in pauses)
    for start, end in periods:
        cursor = start
        for cut_start, cut_end in cuts:
            if cut_end <= cursor or cut_start >= end:
                continue
            if cut_start > cursor:
                yield cursor, cut_start
            cursor = max(cursor, cut_end)
            if cursor >= end:
                break
        if cursor < end:
            yield cursor, end


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ClockError("instant", f"{value.isoformat()} has no time zone")
    return value.astimezone(UTC)


def _checked(value: Any, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise ClockError(field, "must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ClockError(field, f"{value.isoformat()} has no time zone")
    return value.astimezone(UTC)


def _kind(value: Any, field: str) -> ClockEventKind:
    try:
        return ClockEventKind(value)
    except ValueError:
        raise ClockError(
            field, f"{value!r} is not one of {', '.join(k.value for k in ClockEventKind)}"
        ) from None


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


__all__ = [
    "BusinessCalendar",
    "BusinessDays",
    "BusinessTime",
    "ClockError",
    "ClockEvent",
    "ClockEventKind",
    "ClockReport",
    "ClockTime",
    "Entitlement",
    "HolidayRule",
    "Interval",
    "Pause",
    "SlaTerms",
    "Target",
    "TargetStatus",
    "add_business_time",
    "business_time_between",
    "channel_calendar",
    "evaluate",
    "is_open",
    "next_closing",
    "next_opening",
    "parse_calendar",
    "parse_entitlement",
    "target_amount",
    "wall_to_utc",
]
