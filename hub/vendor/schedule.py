"""A support channel's or an SLA level's opening hours as a `BusinessCalendar`.

The vendor catalogue stores hours in two shapes (`hours`: one interval on some days;
`weekly`: several intervals per day) with a time zone and optional public holidays; this
is the one place that turns either into the clock's calendar (hub.kit.business_clock), so the
schemas validate with exactly what the card and the SLA clock later compute with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.kit.business_clock import BusinessCalendar, channel_calendar, parse_calendar

DEFAULT_TIMEZONE = "Europe/Rome"


def schedule_calendar(data: Mapping[str, Any], *, field: str = "hours") -> BusinessCalendar:
    """The calendar of a stored channel or SLA level (`hours` and `weekly` both null:
    around the clock). A `ClockError` names the field of any problem."""
    zone = data.get("timezone") or DEFAULT_TIMEZONE
    holidays = data.get("holidays")
    weekly = data.get("weekly")
    if weekly:
        return parse_calendar({"timezone": zone, "hours": weekly, "holidays": holidays}, field=field)
    return channel_calendar(data.get("hours"), zone, holidays=holidays, field=field)
