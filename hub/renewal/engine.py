"""The pure term engine: dates of terms and notice, no I/O.

Terms are inclusive date ranges: a yearly term starting 2026-01-01 ends 2026-12-31 and
the next starts 2027-01-01. Month arithmetic clamps to the month's last day, so a term
starting on 31 January and renewed monthly ends on 27/28 February and not in March.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from hub.kit.money import MONTHS_IN_PERIOD, BillingPeriod


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def cancel_by(ends_on: date | None, notice_days: int) -> date | None:
    """The last day on which notice can still be given to stop the next term."""
    if ends_on is None:
        return None
    return ends_on - timedelta(days=notice_days)


@dataclass(frozen=True)
class Term:
    starts_on: date
    ends_on: date


def next_term(current: Term, period: BillingPeriod, *, term_months: int | None = None) -> Term:
    """The term that follows `current`, `term_months` long (default: the billing period).

    Computed from the next term's own start so that a term ending on 28 February is
    followed by one ending on 27/28 February, never drifting with each renewal.
    """
    months = term_months or MONTHS_IN_PERIOD[period]
    start = current.ends_on + timedelta(days=1)
    return Term(start, add_months(start, months) - timedelta(days=1))
