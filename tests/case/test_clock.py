"""The vendor's SLA clock (hub.kit.business_clock): business-hours arithmetic over opening hours,
time zones, DST changes and holidays, the entitlement vocabulary, and targets computed
from a case's history. Table-driven, plus property tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.kit.business_clock import (
    BusinessCalendar,
    BusinessDays,
    BusinessTime,
    ClockError,
    ClockEvent,
    ClockEventKind,
    ClockTime,
    Pause,
    SlaTerms,
    add_business_time,
    business_time_between,
    channel_calendar,
    evaluate,
    is_open,
    next_closing,
    next_opening,
    parse_calendar,
    parse_entitlement,
    wall_to_utc,
)

ROME, NEW_YORK, KOLKATA, LORD_HOWE = (
    ZoneInfo(z) for z in ("Europe/Rome", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe")
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")

# An Italian vendor with a lunch break, Rome's public holidays (Easter Monday, 29 June...).
ITALIAN = parse_calendar(
    {
        "timezone": "Europe/Rome",
        "hours": {d: ["09:00-13:00", "14:00-18:00"] for d in WEEKDAYS},
        "holidays": {"country": "IT", "subdivision": "RM"},
        "closed_dates": ["2026-08-14"],
    }
)
NEW_YORK_OFFICE = parse_calendar(
    {
        "timezone": "America/New_York",
        "hours": {d: ["09:00-17:00"] for d in WEEKDAYS},
        "holidays": {"country": "US", "subdivision": "NY"},
    }
)
# Indian support desk open Monday to Saturday, 10:00-18:30 IST (UTC+05:30, no DST).
INDIAN = parse_calendar(
    {"timezone": "Asia/Kolkata", "hours": {d: ["10:00-18:30"] for d in (*WEEKDAYS, "sat")}, "holidays": None}
)


def rome(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ROME)


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def ist(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KOLKATA)


def whole_day(zone: str, *, opens: str = "00:00", closes: str = "24:00") -> BusinessCalendar:
    return parse_calendar(
        {"timezone": zone, "hours": {d: [f"{opens}-{closes}"] for d in (*WEEKDAYS, "sat", "sun")}}
    )


# -- adding business time -----------------------------------------------------------------

ADD_CASES = [
    # (what, calendar, start, amount, expected)
    ("skips the lunch break", ITALIAN, rome(2026, 3, 2, 12, 0), timedelta(hours=2), rome(2026, 3, 2, 15, 0)),
    (
        "carries over the weekend",
        ITALIAN,
        rome(2026, 3, 6, 17, 0),
        timedelta(hours=2),
        rome(2026, 3, 9, 10, 0),
    ),
    (
        "a weekend start waits for Monday",
        ITALIAN,
        rome(2026, 3, 7, 10, 0),
        timedelta(hours=1),
        rome(2026, 3, 9, 10),
    ),
    ("before opening waits", ITALIAN, rome(2026, 3, 2, 7, 0), timedelta(hours=1), rome(2026, 3, 2, 10, 0)),
    (
        "ends exactly at the close",
        ITALIAN,
        rome(2026, 3, 2, 9, 0),
        timedelta(hours=8),
        rome(2026, 3, 2, 18, 0),
    ),
    ("zero is the start itself", ITALIAN, rome(2026, 3, 7, 10, 0), timedelta(0), rome(2026, 3, 7, 10, 0)),
    (
        "Easter Monday is closed",
        ITALIAN,
        rome(2026, 4, 3, 17, 0),
        timedelta(hours=2),
        rome(2026, 4, 7, 10, 0),
    ),
    (
        "Christmas and St Stephen",
        ITALIAN,
        rome(2026, 12, 24, 17, 0),
        timedelta(hours=2),
        rome(2026, 12, 28, 10, 0),
    ),
    (
        "Rome's patron saints (29 June)",
        ITALIAN,
        rome(2026, 6, 26, 17, 0),
        timedelta(hours=2),
        rome(2026, 6, 30, 10),
    ),
    ("an extra closed date", ITALIAN, rome(2026, 8, 13, 17, 0), timedelta(hours=2), rome(2026, 8, 17, 10, 0)),
    (
        "US observed Independence Day (Friday 3 July 2026)",
        NEW_YORK_OFFICE,
        ny(2026, 7, 2, 16, 0),
        timedelta(hours=2),
        ny(2026, 7, 6, 10, 0),
    ),
    ("IST's half-hour offset", INDIAN, ist(2026, 3, 7, 18, 0), timedelta(hours=1), ist(2026, 3, 9, 10, 30)),
    (
        "24x7 through a spring-forward night is real hours",
        BusinessCalendar.around_the_clock("Europe/Rome"),
        rome(2026, 3, 29, 1, 30),
        timedelta(hours=1),
        rome(2026, 3, 29, 3, 30),
    ),
]


@pytest.mark.parametrize(
    ("what", "calendar", "start", "amount", "expected"), ADD_CASES, ids=[c[0] for c in ADD_CASES]
)
def test_adding_business_time(
    what: str, calendar: BusinessCalendar, start: datetime, amount: timedelta, expected: datetime
) -> None:
    due = add_business_time(calendar, start, amount)
    assert due == expected, f"{what}: {due.astimezone(expected.tzinfo)}"
    assert business_time_between(calendar, start, due) == amount


def test_ist_instants_are_half_hour_offsets_in_utc() -> None:
    due = add_business_time(INDIAN, ist(2026, 3, 9, 9, 0), timedelta(minutes=30))
    assert due == datetime(2026, 3, 9, 5, 0, tzinfo=UTC)  # 10:30 IST


# -- DST: days of 23 and 25 hours, openings inside the gap --------------------------------

DST_CASES = [
    # (what, calendar, local date, expected open time that day)
    ("Rome spring forward: a 23-hour day", whole_day("Europe/Rome"), date(2026, 3, 29), timedelta(hours=23)),
    ("Rome fall back: a 25-hour day", whole_day("Europe/Rome"), date(2026, 10, 25), timedelta(hours=25)),
    ("New York spring forward", whole_day("America/New_York"), date(2026, 3, 8), timedelta(hours=23)),
    ("New York fall back", whole_day("America/New_York"), date(2026, 11, 1), timedelta(hours=25)),
    (
        "Rome: opening at 02:30 on the spring-forward day opens at 03:00",
        whole_day("Europe/Rome", opens="02:30", closes="06:00"),
        date(2026, 3, 29),
        timedelta(hours=3),
    ),
    (
        "Rome: 01:00-03:00 on the fall-back day lasts three real hours",
        whole_day("Europe/Rome", opens="01:00", closes="03:00"),
        date(2026, 10, 25),
        timedelta(hours=3),
    ),
    (
        "Rome: an interval wholly inside the gap has no time",
        whole_day("Europe/Rome", opens="02:10", closes="02:50"),
        date(2026, 3, 29),
        timedelta(0),
    ),
    (
        "Lord Howe's 30-minute spring forward",
        whole_day("Australia/Lord_Howe"),
        date(2026, 10, 4),
        timedelta(hours=23.5),
    ),
    (
        "Lord Howe's 30-minute fall back",
        whole_day("Australia/Lord_Howe"),
        date(2026, 4, 5),
        timedelta(hours=24.5),
    ),
    ("Kolkata has no DST", whole_day("Asia/Kolkata"), date(2026, 3, 29), timedelta(hours=24)),
]


@pytest.mark.parametrize(("what", "calendar", "day", "expected"), DST_CASES, ids=[c[0] for c in DST_CASES])
def test_business_days_across_dst(
    what: str, calendar: BusinessCalendar, day: date, expected: timedelta
) -> None:
    zone = calendar.zone
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    assert business_time_between(calendar, start, end) == expected, what


WALL_CASES = [
    # an opening inside a DST gap happens at the transition; an ambiguous time is its first occurrence
    ("Rome gap 02:30", ROME, date(2026, 3, 29), 150, datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    ("Rome ambiguous 02:30", ROME, date(2026, 10, 25), 150, datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ("Lord Howe gap 02:15", LORD_HOWE, date(2026, 10, 4), 135, datetime(2026, 10, 3, 15, 30, tzinfo=UTC)),
    ("New York gap 02:30", NEW_YORK, date(2026, 3, 8), 150, datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
    ("24:00 is the next midnight", KOLKATA, date(2026, 3, 8), 1440, datetime(2026, 3, 8, 18, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize(
    ("what", "zone", "day", "minute", "expected"), WALL_CASES, ids=[c[0] for c in WALL_CASES]
)
def test_wall_times_to_instants(
    what: str, zone: ZoneInfo, day: date, minute: int, expected: datetime
) -> None:
    assert wall_to_utc(zone, day, minute) == expected


# -- open now? next opening ---------------------------------------------------------------

OPEN_CASES = [
    # (what, calendar, at, open?, next opening, closes at)
    ("morning", ITALIAN, rome(2026, 3, 2, 10, 0), True, rome(2026, 3, 2, 10, 0), rome(2026, 3, 2, 13, 0)),
    ("lunch break", ITALIAN, rome(2026, 3, 2, 13, 30), False, rome(2026, 3, 2, 14, 0), None),
    ("at the close itself", ITALIAN, rome(2026, 3, 2, 18, 0), False, rome(2026, 3, 3, 9, 0), None),
    ("Saturday", ITALIAN, rome(2026, 3, 7, 11, 0), False, rome(2026, 3, 9, 9, 0), None),
    ("Easter Monday", ITALIAN, rome(2026, 4, 6, 11, 0), False, rome(2026, 4, 7, 9, 0), None),
    ("IST evening", INDIAN, ist(2026, 3, 9, 18, 29), True, ist(2026, 3, 9, 18, 29), ist(2026, 3, 9, 18, 30)),
    (
        "24x7 never closes (midnights join)",
        BusinessCalendar.around_the_clock("Europe/Rome"),
        rome(2026, 3, 2, 23, 0),
        True,
        rome(2026, 3, 2, 23, 0),
        None,  # checked separately: beyond the horizon
    ),
]


@pytest.mark.parametrize(
    ("what", "calendar", "at", "open_now", "opening", "closing"), OPEN_CASES, ids=[c[0] for c in OPEN_CASES]
)
def test_open_now_and_next_opening(
    what: str,
    calendar: BusinessCalendar,
    at: datetime,
    open_now: bool,
    opening: datetime,
    closing: datetime | None,
) -> None:
    assert is_open(calendar, at) is open_now
    assert next_opening(calendar, at) == opening
    if what.startswith("24x7"):
        assert next_closing(calendar, at) > at + timedelta(days=365)  # type: ignore[operator]
    else:
        assert next_closing(calendar, at) == closing


# -- the entitlement vocabulary -----------------------------------------------------------

ENTITLEMENTS = [
    ("4h", ClockTime(timedelta(hours=4))),
    ("30m", ClockTime(timedelta(minutes=30))),
    (" 1.5H ", ClockTime(timedelta(minutes=90))),
    ("business_hours:8", BusinessTime(timedelta(hours=8))),
    ("bh:0.5", BusinessTime(timedelta(minutes=30))),
    ("nbd", BusinessDays(1)),
    ("NBD@17:00", BusinessDays(1, time(17, 0))),
    ("business_days:3", BusinessDays(3)),
    ("business_days:2@12:30", BusinessDays(2, time(12, 30))),
]


@pytest.mark.parametrize(("text", "expected"), ENTITLEMENTS)
def test_entitlements_parse(text: str, expected: object) -> None:
    parsed = parse_entitlement(text)
    assert parsed == expected
    assert parse_entitlement(str(parsed)) == parsed  # the text form reads back


BAD_ENTITLEMENTS = [
    ("", "must be a text"),
    ("4", "is not an entitlement level"),
    ("0h", "at least one minute"),
    ("99999h", "more than"),
    ("business_hours:", "is not an entitlement level"),
    ("business_days:0", "between 1 and"),
    ("nbd@25:00", "cut-off must be a time of day"),
    ("next business day", "is not an entitlement level"),
    ("0.5m", "at least one minute"),
    ("1.25m", "whole minutes"),
]


@pytest.mark.parametrize(("text", "reason"), BAD_ENTITLEMENTS)
def test_bad_entitlements_name_the_field(text: str, reason: str) -> None:
    with pytest.raises(ClockError) as caught:
        parse_entitlement(text, field="sla.resolution")
    assert caught.value.field == "sla.resolution"
    assert reason in caught.value.reason


BAD_CALENDARS = [
    ({"hours": "24x7"}, "calendar.timezone", "IANA"),
    ({"timezone": "Mars/Olympus", "hours": "24x7"}, "calendar.timezone", "not a known"),
    ({"timezone": "UTC", "hours": {"mon": ["9-17"]}}, "calendar.hours.mon[0]", "HH:MM-HH:MM"),
    (
        {"timezone": "UTC", "hours": {"mon": ["18:00-09:00"]}},
        "calendar.hours.mon[0]",
        "closes before it opens",
    ),
    ({"timezone": "UTC", "hours": {"mon": ["09:00-25:00"]}}, "calendar.hours.mon[0]", "time of day"),
    ({"timezone": "UTC", "hours": {"mon": ["09:00-13:00", "12:00-18:00"]}}, "calendar.hours.mon", "overlap"),
    ({"timezone": "UTC", "hours": {"monday": ["09:00-13:00"]}}, "calendar.hours.monday", "unknown day"),
    ({"timezone": "UTC", "hours": {}}, "calendar.hours", "no opening hours"),
    ({"timezone": "UTC", "hours": "24x7", "holidays": {"country": "XX"}}, "calendar.holidays.country", "XX"),
    (
        {"timezone": "UTC", "hours": "24x7", "holidays": {"country": "IT", "subdivision": "ZZ"}},
        "calendar.holidays.subdivision",
        "not a subdivision of IT",
    ),
    (
        {"timezone": "UTC", "hours": "24x7", "closed_dates": ["2026-02-30"]},
        "calendar.closed_dates[0]",
        "YYYY",
    ),
    ({"timezone": "UTC", "hours": "24x7", "open": True}, "calendar.open", "unknown field"),
]


@pytest.mark.parametrize(("data", "field", "reason"), BAD_CALENDARS)
def test_bad_calendars_name_the_field(data: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(ClockError) as caught:
        parse_calendar(data)
    assert caught.value.field == field
    assert reason in caught.value.reason


# -- targets from a case's history --------------------------------------------------------

OPENED, P, R, V, S, RE, C = (
    ClockEventKind.opened,
    ClockEventKind.paused,
    ClockEventKind.resumed,
    ClockEventKind.vendor_responded,
    ClockEventKind.resolved,
    ClockEventKind.reopened,
    ClockEventKind.closed,
)


def history(*items: tuple[datetime, ClockEventKind]) -> list[ClockEvent]:
    return [ClockEvent(at, kind) for at, kind in items]


def test_first_response_on_clock_hours_is_met_overnight() -> None:
    terms = SlaTerms(ITALIAN, first_response=parse_entitlement("4h"))
    report = evaluate(
        terms, history((rome(2026, 3, 6, 17, 0), OPENED), (rome(2026, 3, 6, 20, 0), V)), rome(2026, 3, 9, 9)
    )
    first = report.first_response
    assert first is not None
    assert first.due_at == rome(2026, 3, 6, 21, 0)  # four clock hours, not business hours
    assert first.met_at == rome(2026, 3, 6, 20, 0)
    assert not first.breached and first.elapsed == timedelta(hours=3)


def test_an_unanswered_case_breaches_at_its_due_instant() -> None:
    terms = SlaTerms(ITALIAN, first_response=parse_entitlement("business_hours:4"))
    report = evaluate(terms, history((rome(2026, 3, 2, 9, 0), OPENED)), rome(2026, 3, 2, 15, 0))
    first = report.first_response
    assert first is not None and first.breached
    assert first.breached_at == rome(2026, 3, 2, 13, 0)
    assert first.elapsed == timedelta(hours=5) and first.overrun == timedelta(hours=1)
    assert first.remaining == timedelta(0)
    assert report.breaches == (first,)


def test_a_pause_across_night_and_weekend_moves_the_due_by_the_business_time_it_took() -> None:
    terms = SlaTerms(ITALIAN, resolution=parse_entitlement("business_hours:8"))
    opened = (rome(2026, 3, 6, 16, 0), OPENED)  # Friday 16:00
    without = evaluate(terms, history(opened), rome(2026, 3, 6, 16, 30)).resolution
    with_pause = evaluate(
        terms,
        history(opened, (rome(2026, 3, 6, 17, 0), P), (rome(2026, 3, 9, 11, 0), R)),  # until Monday 11:00
        rome(2026, 3, 9, 12, 0),
    ).resolution
    assert without is not None and with_pause is not None
    assert without.due_at == rome(2026, 3, 9, 16, 0)
    # Friday 17-18 and Monday 09-11 were paused: three business hours later.
    assert with_pause.due_at == rome(2026, 3, 10, 10, 0)
    assert with_pause.elapsed == timedelta(hours=2)  # Friday 16-17 and Monday 11-12


def test_a_pause_still_running_is_taken_to_end_now() -> None:
    terms = SlaTerms(ITALIAN, resolution=parse_entitlement("business_hours:4"))
    events = history((rome(2026, 3, 2, 9, 0), OPENED), (rome(2026, 3, 2, 10, 0), P))
    at_noon = evaluate(terms, events, rome(2026, 3, 2, 12, 0))
    at_three = evaluate(terms, events, rome(2026, 3, 2, 15, 0))
    assert at_noon.paused and at_noon.resolution is not None and at_noon.resolution.paused
    assert at_noon.resolution.due_at == rome(2026, 3, 2, 16, 0)  # 3 h left from 12:00, lunch skipped
    assert at_noon.resolution.elapsed == timedelta(hours=1)
    assert at_three.resolution is not None and at_three.resolution.due_at == rome(2026, 3, 2, 18, 0)
    assert not at_three.resolution.breached


def test_a_reopen_restarts_the_resolution_clock_and_keeps_the_old_cycle() -> None:
    terms = SlaTerms(
        ITALIAN, first_response=parse_entitlement("4h"), resolution=parse_entitlement("business_hours:2")
    )
    events = history(
        (rome(2026, 3, 2, 9, 0), OPENED),
        (rome(2026, 3, 2, 9, 30), V),
        (rome(2026, 3, 2, 12, 0), S),  # resolved late: 3 h used of 2
        (rome(2026, 3, 3, 10, 0), RE),
    )
    report = evaluate(terms, events, rome(2026, 3, 3, 11, 0))
    assert len(report.resolution_history) == 2
    old, current = report.resolution_history
    assert (
        old.breached and old.breached_at == rome(2026, 3, 2, 11, 0) and old.met_at == rome(2026, 3, 2, 12, 0)
    )
    assert current is report.resolution
    assert current.started_at == rome(2026, 3, 3, 10, 0) and current.elapsed == timedelta(hours=1)
    assert current.due_at == rome(2026, 3, 3, 12, 0) and not current.breached
    assert report.first_response is not None and report.first_response.met_at == rome(2026, 3, 2, 9, 30)
    assert report.breaches == (old,)


def test_nbd_with_a_cutoff_counts_a_late_case_from_the_next_day() -> None:
    terms = SlaTerms(ITALIAN, resolution=parse_entitlement("nbd@17:00"))
    early = evaluate(terms, history((rome(2026, 3, 2, 16, 59), OPENED)), rome(2026, 3, 2, 17, 0)).resolution
    late = evaluate(terms, history((rome(2026, 3, 2, 17, 30), OPENED)), rome(2026, 3, 2, 18, 0)).resolution
    weekend = evaluate(terms, history((rome(2026, 3, 7, 10, 0), OPENED)), rome(2026, 3, 7, 11, 0)).resolution
    assert early is not None and early.due_at == rome(2026, 3, 3, 18, 0)
    assert late is not None and late.due_at == rome(2026, 3, 4, 18, 0)
    assert weekend is not None and weekend.due_at == rome(2026, 3, 10, 18, 0)  # counted from Monday


def test_nbd_before_easter_monday_is_tuesday() -> None:
    terms = SlaTerms(ITALIAN, resolution=parse_entitlement("nbd"))
    report = evaluate(terms, history((rome(2026, 4, 3, 11, 0), OPENED)), rome(2026, 4, 3, 12, 0))
    assert report.resolution is not None and report.resolution.due_at == rome(2026, 4, 7, 18, 0)


def test_a_draft_has_no_clock_and_later_events_do_not_count_yet() -> None:
    terms = SlaTerms(ITALIAN, first_response=parse_entitlement("4h"))
    assert evaluate(terms, [], rome(2026, 3, 2, 9)).started_at is None
    future = history((rome(2026, 3, 2, 9, 0), OPENED), (rome(2026, 3, 2, 11, 0), V))
    report = evaluate(terms, future, rome(2026, 3, 2, 10, 0))
    assert report.first_response is not None and report.first_response.met_at is None
    assert report.first_response.elapsed == timedelta(hours=1)


def test_the_clock_anchors_at_the_first_opened_event() -> None:
    terms = SlaTerms(ITALIAN, first_response=parse_entitlement("business_hours:1"))
    events = history(
        (rome(2026, 3, 2, 10, 0), OPENED), (rome(2026, 3, 2, 9, 0), V), (rome(2026, 3, 2, 12, 0), OPENED)
    )
    report = evaluate(terms, events, rome(2026, 3, 2, 12, 30))
    assert report.started_at == rome(2026, 3, 2, 10, 0)
    first = report.first_response
    assert (
        first is not None and first.met_at is None and first.breached
    )  # a response before opening does not count


def test_closing_a_case_stops_both_clocks() -> None:
    terms = SlaTerms(ITALIAN, first_response=parse_entitlement("4h"), resolution=parse_entitlement("nbd"))
    report = evaluate(
        terms, history((rome(2026, 3, 2, 9, 0), OPENED), (rome(2026, 3, 2, 10, 0), C)), rome(2026, 3, 9)
    )
    assert report.first_response is not None and report.first_response.met_at == rome(2026, 3, 2, 10, 0)
    assert report.resolution is not None and not report.resolution.breached


def test_naive_instants_and_unknown_kinds_are_refused_with_the_field() -> None:
    terms = SlaTerms(ITALIAN, first_response=parse_entitlement("4h"))
    with pytest.raises(ClockError) as naive:
        evaluate(terms, [ClockEvent(datetime(2026, 3, 2, 9), OPENED)], rome(2026, 3, 2, 10))
    assert naive.value.field == "events[0].at"
    with pytest.raises(ClockError) as kind:
        evaluate(terms, [ClockEvent(rome(2026, 3, 2, 9), "escalated")], rome(2026, 3, 2, 10))  # type: ignore[arg-type]
    assert kind.value.field == "events[0].kind"


# -- properties ---------------------------------------------------------------------------

ZONES = ["Europe/Rome", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    zone = draw(st.sampled_from(ZONES))
    hours: dict[str, list[str]] = {}
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        cuts = sorted(draw(st.sets(st.integers(0, 48), max_size=4)))
        pairs = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
        hours[day] = [f"{a // 2:02d}:{a % 2 * 30:02d}-{b // 2:02d}:{b % 2 * 30:02d}" for a, b in pairs]
    if not any(hours.values()):
        hours["wed"] = ["02:00-03:00"]  # often inside a DST gap or overlap: the hard case
    rule = draw(st.sampled_from([None, {"country": "IT"}, {"country": "US", "subdivision": "NY"}]))
    return parse_calendar({"timezone": zone, "hours": hours, "holidays": rule})


instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
amounts = st.integers(0, 60 * 60).map(lambda minutes: timedelta(minutes=minutes))


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, amounts, amounts)
def test_adding_business_time_is_monotonic_and_reads_back(
    calendar: BusinessCalendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    low, high = sorted((first, second))
    due_low, due_high = add_business_time(calendar, start, low), add_business_time(calendar, start, high)
    assert start <= due_low <= due_high
    assert business_time_between(calendar, start, due_high) == high
    later_start = start + (high - low)
    assert add_business_time(calendar, later_start, low) >= due_low


@settings(max_examples=100, deadline=None)
@given(calendars(), instants)
def test_next_opening_is_open_and_nothing_opens_before_it(calendar: BusinessCalendar, at: datetime) -> None:
    opening = next_opening(calendar, at)
    assert opening >= at and is_open(calendar, opening)
    if opening > at:
        assert business_time_between(calendar, at, opening) == timedelta(0)
        assert not is_open(calendar, at + (opening - at) / 2)


pauses = st.lists(st.tuples(st.integers(0, 60 * 24 * 10), st.integers(1, 60 * 24 * 3)), max_size=3)
entitlement_texts = st.sampled_from(
    ["4h", "30m", "business_hours:8", "bh:2", "nbd", "nbd@17:00", "business_days:3"]
)


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, entitlement_texts, pauses, st.integers(0, 60 * 24 * 20))
def test_pausing_never_makes_a_due_earlier(
    calendar: BusinessCalendar, opened: datetime, text: str, gaps: list[tuple[int, int]], later: int
) -> None:
    terms = SlaTerms(calendar, first_response=parse_entitlement(text), resolution=parse_entitlement(text))
    now = opened + timedelta(minutes=later)
    plain = evaluate(terms, [ClockEvent(opened, OPENED)], now)
    events = [ClockEvent(opened, OPENED)]
    for offset, length in gaps:
        events += [
            ClockEvent(opened + timedelta(minutes=offset), P),
            ClockEvent(opened + timedelta(minutes=offset + length), R),
        ]
    paused = evaluate(terms, events, now)
    for without, with_pauses in (
        (plain.first_response, paused.first_response),
        (plain.resolution, paused.resolution),
    ):
        assert without is not None and with_pauses is not None
        assert with_pauses.due_at >= without.due_at >= opened
        assert with_pauses.elapsed <= without.elapsed


@settings(max_examples=60, deadline=None)
@given(
    calendars(),
    instants,
    amounts,
    st.lists(st.tuples(st.integers(0, 5000), st.integers(1, 3000)), max_size=3),
)
def test_pauses_only_ever_remove_time(
    calendar: BusinessCalendar, start: datetime, amount: timedelta, gaps: list[tuple[int, int]]
) -> None:
    cut = [Pause(start + timedelta(minutes=a), start + timedelta(minutes=a + b)) for a, b in gaps]
    due = add_business_time(calendar, start, amount, cut)
    assert due >= add_business_time(calendar, start, amount)
    assert business_time_between(calendar, start, due, cut) == amount


# -- a support channel from the vendor catalogue ------------------------------------------


def test_a_channel_from_the_catalogue_shape_answers_open_now() -> None:
    hours = {"days": ["mon", "tue", "wed", "thu", "fri"], "opens": "08:30:00", "closes": "17:30:00"}
    desk = channel_calendar(hours, "Europe/Rome", holidays={"country": "IT"})
    assert is_open(desk, rome(2026, 3, 2, 8, 30)) and not is_open(desk, rome(2026, 3, 2, 17, 30))
    assert next_opening(desk, rome(2026, 4, 3, 18, 0)) == rome(2026, 4, 7, 8, 30)  # Easter Monday closed
    around = channel_calendar(None, "America/New_York")
    assert is_open(around, ny(2026, 7, 4, 3, 0))  # no hours: around the clock, holidays too


@pytest.mark.parametrize(
    ("hours", "timezone", "field"),
    [
        ({"days": [], "opens": "09:00", "closes": "17:00"}, "Europe/Rome", "hours.days"),
        ({"days": ["mon"], "opens": "17:00", "closes": "09:00"}, "Europe/Rome", "hours.mon[0]"),
        ({"days": ["mon"], "opens": "09:00", "closes": "17:00"}, "Rome", "timezone"),
    ],
)
def test_a_bad_channel_names_its_own_field(hours: dict[str, object], timezone: str, field: str) -> None:
    with pytest.raises(ClockError) as caught:
        channel_calendar(hours, timezone)
    assert caught.value.field == field
