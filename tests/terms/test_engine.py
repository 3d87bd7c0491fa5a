"""The term engine (pure): term dates, cancel-by deadlines, reminder ladders; table-driven,
plus properties and the date bugs other tools are known for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.kit.money import BillingPeriod
from hub.models.enums import RenewalType
from hub.terms.engine import (
    Item,
    SubjectType,
    Term,
    Threshold,
    add_months,
    anchored_term,
    cancel_by,
    deadline_instant,
    ladder_for,
    local_today,
    months_between,
    next_term,
    plan_reminders,
    schedule,
    term_containing,
    terms_after,
    thresholds,
    validate_ladder,
)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 5, 15), 60, date(2031, 5, 15)),
    ],
)
def test_add_months_clamps_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("ends_on", "notice", "expected"),
    [
        (date(2026, 12, 31), 30, date(2026, 12, 1)),
        (date(2026, 3, 1), 1, date(2026, 2, 28)),
        (date(2026, 3, 31), 0, date(2026, 3, 31)),
        (None, 30, None),
    ],
)
def test_cancel_by_is_end_minus_notice(ends_on, notice, expected):
    assert cancel_by(ends_on, notice) == expected


def test_next_term_follows_without_gap_or_overlap():
    yearly_term = next_term(Term(date(2026, 1, 1), date(2026, 12, 31)), BillingPeriod.yearly)
    assert yearly_term == Term(date(2027, 1, 1), date(2027, 12, 31))
    # An initial term of 60 months, then yearly renewals: the renewal starts after month 60.
    first = Term(date(2021, 3, 1), add_months(date(2021, 3, 1), 60) - (date(2021, 3, 2) - date(2021, 3, 1)))
    assert first.ends_on == date(2026, 2, 28)
    assert next_term(first, BillingPeriod.yearly) == Term(date(2026, 3, 1), date(2027, 2, 28))


# Month ends, leap days and ordinary days alike.
days = st.dates(min_value=date(1999, 1, 1), max_value=date(2099, 12, 31))
month_ends = st.builds(
    lambda y, m: add_months(date(y, m, 1), 1) - timedelta(days=1),
    st.integers(2000, 2090),
    st.integers(1, 12),
)
any_day = st.one_of(
    days, month_ends, st.sampled_from([date(2024, 2, 29), date(2028, 2, 29), date(2026, 1, 31)])
)
periods = st.sampled_from([1, 3, 6, 12, 24, 36, 60])


@given(any_day, periods, st.integers(0, 40))
def test_renewal_terms_follow_each_other_without_gap_or_overlap(anchor, months, k):
    this, following = anchored_term(anchor, months, k), anchored_term(anchor, months, k + 1)
    assert this.starts_on <= this.ends_on
    assert following.starts_on == this.ends_on + timedelta(days=1)


@given(any_day, st.integers(1, 120), periods, st.integers(1, 30))
def test_repeated_renewals_never_drift_from_the_anchor(start, initial_months, months, renewals):
    """However many renewals, term k ends the day before start + initial + k*period
    months: chaining "+period" onto each end (Jan 31 -> Feb 28 -> Mar 28) would drift."""
    term = Term(start, add_months(start, initial_months) - timedelta(days=1))
    for k in range(1, renewals + 1):
        term = next_term(term, BillingPeriod.monthly, term_months=months, anchor=start)
        assert term.ends_on == add_months(start, initial_months + k * months) - timedelta(days=1)


@given(any_day, st.integers(1, 120), periods)
def test_next_term_starts_the_day_after_even_when_recorded_late(start, initial_months, months):
    current = Term(start, add_months(start, initial_months) - timedelta(days=1))
    nxt = next_term(current, BillingPeriod.monthly, term_months=months)
    assert nxt.starts_on == current.ends_on + timedelta(days=1)
    # Renewed late: the hub learns of the renewal 40 days after the end. The term is the
    # same one, and the item's schedule a year on puts today inside a term of the series.
    late = current.ends_on + timedelta(days=40)
    assert next_term(current, BillingPeriod.monthly, term_months=months) == nxt
    rolled = schedule(
        Item(SubjectType.subscription, current.ends_on, start, RenewalType.auto_vendor, months), late
    )
    assert rolled.current is not None and rolled.current.starts_on <= late <= rolled.current.ends_on
    assert rolled.current in [current, *terms_after(current, months, 3)]


@given(any_day, periods, st.integers(0, 2000), any_day)
def test_notice_longer_than_a_term_moves_the_exit_to_the_first_reachable_end(start, months, notice, today):
    current = Term(start, add_months(start, months) - timedelta(days=1))
    item = Item(SubjectType.subscription, current.ends_on, start, RenewalType.auto_vendor, months, notice)
    sched = schedule(item, today)
    assert sched.earliest_exit is not None
    # Notice given today reaches that end...
    assert sched.earliest_exit - timedelta(days=notice) >= today
    # ...and not the end before it (which was then already out of reach).
    term = sched.current
    while term.ends_on < sched.earliest_exit:
        assert term.ends_on - timedelta(days=notice) < today
        term = next_term(term, BillingPeriod.monthly, term_months=months, anchor=start)
    assert term.ends_on == sched.earliest_exit  # the exit is a real term end of the series


@given(any_day, st.integers(-400, 400))
def test_months_between_inverts_add_months(start, n):
    assert months_between(start, add_months(start, n)) >= n
    assert add_months(start, months_between(start, add_months(start, n))) <= add_months(start, n)


@given(any_day, periods, days)
def test_term_containing_contains_the_day(start, months, day):
    current = Term(start, add_months(start, months) - timedelta(days=1))
    term = term_containing(current, months, max(day, start))
    assert term.starts_on <= max(day, start) <= term.ends_on


def test_sixty_months_then_twelve_end_seventy_two_months_after_the_start():
    # A 5-year initial contract from 29 Feb 2020 then yearly renewals; some tools add
    # 12 months to the clamped 60-month date (28 Feb) and lose a day every leap year.
    start = date(2020, 2, 29)
    initial = Term(start, add_months(start, 60) - timedelta(days=1))
    assert initial.ends_on == date(2025, 2, 27)
    second = next_term(initial, BillingPeriod.yearly)
    third = next_term(second, BillingPeriod.yearly, anchor=start)
    assert second == Term(date(2025, 2, 28), date(2026, 2, 27))
    assert third == Term(date(2026, 2, 28), date(2027, 2, 27))
    fifth = terms_after(initial, 12, 4, anchor=start)[-1]
    assert fifth == Term(date(2028, 2, 29), date(2029, 2, 27))  # back on the 29th in a leap year


def test_january_31_renewed_monthly_stays_on_month_ends():
    start = date(2026, 1, 31)
    terms = terms_after(Term(start, date(2026, 2, 27)), 1, 4, anchor=start)
    assert [t.ends_on for t in terms] == [
        date(2026, 3, 30),
        date(2026, 4, 29),
        date(2026, 5, 30),
        date(2026, 6, 29),
    ]
    assert [t.starts_on for t in terms] == [
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    ]


def test_an_initial_term_different_from_the_renewal_period():
    # 36 months first, then yearly: the renewal is 12 months, not another 36.
    initial = Term(date(2023, 7, 1), date(2026, 6, 30))
    item = Item(SubjectType.subscription, initial.ends_on, initial.starts_on, RenewalType.manual, 12, 60)
    sched = schedule(item, date(2026, 1, 10))
    assert sched.next == Term(date(2026, 7, 1), date(2027, 6, 30))
    assert sched.cancel_by == date(2026, 5, 1)


def test_the_notice_date_follows_the_renewed_term():
    # Some tools keep the first term's notice date after a renewal: the reminder then
    # fires a year late, or never. Here the cancel-by date and every reminder key move on.
    first = Item(
        SubjectType.subscription, date(2026, 12, 31), date(2026, 1, 1), RenewalType.auto_vendor, 12, 90
    )
    before = schedule(first, date(2026, 6, 1))
    after = schedule(first, date(2027, 3, 1))  # renewed by the vendor meanwhile
    assert before.cancel_by == date(2026, 10, 2)
    assert after.current == Term(date(2027, 1, 1), date(2027, 12, 31))
    assert after.cancel_by == date(2027, 10, 2)
    ladder = ladder_for(SubjectType.subscription, "antivirus")
    assert {t.key for t in thresholds(before, ladder)}.isdisjoint(t.key for t in thresholds(after, ladder))
    assert min(t.due_on for t in thresholds(after, ladder)) == date(2027, 10, 2) - timedelta(days=90)


def test_cancel_by_deadline_is_the_end_of_the_day_in_the_clients_time_zone():
    rome, auckland = ZoneInfo("Europe/Rome"), ZoneInfo("Pacific/Auckland")
    assert deadline_instant(date(2026, 10, 24), rome).astimezone(UTC) == datetime(
        2026, 10, 24, 22, tzinfo=UTC
    )
    # The night Rome's clocks go back the day lasts 25 hours: the deadline moves with it.
    assert deadline_instant(date(2026, 10, 25), rome).astimezone(UTC) == datetime(
        2026, 10, 25, 23, tzinfo=UTC
    )
    # 11:00 UTC on 1 May is already 2 May in Auckland.
    assert local_today(datetime(2026, 5, 1, 13, tzinfo=UTC), auckland) == date(2026, 5, 2)


@pytest.mark.parametrize(
    ("kind", "active", "ends_on", "expected"),
    [
        (RenewalType.auto_vendor, True, date(2026, 12, 31), RenewalType.auto_vendor),
        (RenewalType.auto_hub, True, date(2026, 12, 31), RenewalType.auto_hub),
        (RenewalType.manual, True, date(2026, 12, 31), RenewalType.manual),
        (RenewalType.auto_vendor, False, date(2026, 12, 31), RenewalType.none),  # cancelled
        (RenewalType.manual, True, None, RenewalType.none),  # rolling, nothing to renew
    ],
)
def test_renewal_type_is_derived_from_the_item(kind, active, ends_on, expected):
    item = Item(SubjectType.subscription, ends_on, date(2026, 1, 1), kind, 12, active=active)
    assert schedule(item, date(2026, 6, 1)).renewal_type is expected


def test_ladders_default_per_category_and_per_kind_and_items_override():
    assert ladder_for(SubjectType.subscription, "antivirus")[:3] == (90, 60, 30)
    assert ladder_for(SubjectType.subscription, "software") == (90, 60, 30, 7, 1, -1, -7)
    assert ladder_for(SubjectType.endpoint)[0] == 21  # certificates live 90 days
    assert ladder_for(SubjectType.subscription, "software", item_ladder=[1, 30, -2]) == (30, 1, -2)
    assert ladder_for(SubjectType.warranty, category_ladders={"warranty": [10, 5]}) == (10, 5)
    for bad in ([], [1, 1], [4000], [True]):
        with pytest.raises(ValueError, match="step"):
            validate_ladder(bad)


def test_auto_renewing_items_get_no_reminders_after_their_end():
    sched = schedule(
        Item(SubjectType.subscription, date(2026, 12, 31), date(2026, 1, 1), RenewalType.auto_vendor, 12, 30),
        date(2026, 6, 1),
    )
    keys = [t.key for t in thresholds(sched, (30, 7, -1))]
    assert keys == ["cancel_by:2026-12-01:+30", "cancel_by:2026-12-01:+7"]


def _ladder(ends: date, steps: tuple[int, ...]) -> list[Threshold]:
    return thresholds(schedule(Item(SubjectType.warranty, ends, date(2025, 1, 1)), date(2025, 1, 1)), steps)


def test_catch_up_sends_only_the_latest_due_threshold_and_skips_the_older():
    ladder = _ladder(date(2026, 3, 31), (30, 7, 1))
    plan = plan_reminders(ladder, date(2026, 3, 25), recorded=[])
    assert plan.send is not None and plan.send.days == 7
    assert [t.days for t in plan.skip] == [30]
    # The next day: 7 is recorded, nothing new is due.
    assert plan_reminders(ladder, date(2026, 3, 26), recorded=[t.key for t in ladder[:2]]).send is None


@given(st.lists(st.booleans(), min_size=60, max_size=60))
def test_each_threshold_is_recorded_once_and_sent_at_most_once_whatever_the_outages(up):
    """Any pattern of days the worker is down: every threshold ends up recorded exactly
    once, sends never go back in time, and no day sends more than one reminder."""
    ladder = _ladder(date(2026, 3, 31), (45, 30, 14, 7, 3, 1, -1, -7))
    recorded: dict[str, str] = {}
    sent: list[date] = []
    day = date(2026, 2, 1)
    for is_up in up:
        if is_up:
            plan = plan_reminders(ladder, day, recorded)
            for t in plan.skip:
                assert t.key not in recorded
                recorded[t.key] = "skipped"
            if plan.send is not None:
                assert plan.send.key not in recorded
                recorded[plan.send.key] = "sent"
                sent.append(plan.send.due_on)
        day += timedelta(days=1)
    assert sent == sorted(sent)
    due_by_last_up_day = [
        t for t in ladder if any(up) and t.due_on <= day - timedelta(days=1 + up[::-1].index(True))
    ]
    assert {t.key for t in due_by_last_up_day} <= recorded.keys()
