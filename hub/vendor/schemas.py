from __future__ import annotations

import re
import uuid
from datetime import datetime, time
from typing import Annotated

from pydantic import Field, HttpUrl, field_validator, model_validator

from hub.api.crud import ListParams
from hub.kit.business_clock import ClockError, parse_calendar, parse_entitlement
from hub.kit.fields import LongText, Name, ShortText, TimeZoneName
from hub.kit.schema import Input, Output, UpdateInput
from hub.models.enums import SupportChannelKind, VendorCategory

Weekday = str
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class OpeningHours(Input):
    days: list[Weekday] = Field(min_length=1, description="mon..sun")
    opens: time
    closes: time

    @model_validator(mode="after")
    def _valid(self) -> OpeningHours:
        bad = [d for d in self.days if d not in _DAYS]
        if bad:
            raise ValueError(f"unknown day(s) {bad}; use {', '.join(_DAYS)}")
        if self.closes <= self.opens:
            raise ValueError("closes must be after opens")
        return self


class HolidayCalendar(Input):
    """Public holidays the desk is closed on, as the `holidays` package knows them."""

    country: str = Field(description="ISO 3166-1 alpha-2 code, e.g. IT")
    subdivision: str | None = Field(None, max_length=10, description="e.g. RM; null: national only")

    @model_validator(mode="after")
    def _known(self) -> HolidayCalendar:
        try:
            parse_calendar({"timezone": "UTC", "hours": "24x7", "holidays": self.model_dump()})
        except ClockError as exc:
            raise ValueError(exc.reason) from None
        self.country = self.country.upper()
        self.subdivision = self.subdivision.upper() if self.subdivision else None
        return self


Weekly = dict[Weekday, list[str]]


class Schedule(Input):
    """When something is open: `hours` (one interval on the days listed) or `weekly`
    (several intervals a day: {"mon": ["08:30-12:30", "14:00-18:00"]}); neither means
    around the clock. Times are the vendor's wall clock in `timezone`."""

    hours: OpeningHours | None = Field(None, description="null (and no weekly) means around the clock")
    weekly: Weekly | None = Field(
        None, description='several intervals a day, e.g. {"mon": ["08:30-12:30", "14:00-18:00"]}'
    )
    timezone: TimeZoneName = "Europe/Rome"
    holidays: HolidayCalendar | None = Field(None, description="closed on these public holidays")

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, value: Weekly | None) -> Weekly | None:
        if value is not None:
            try:
                parse_calendar({"timezone": "UTC", "hours": value}, field="weekly")
            except ClockError as exc:
                raise ValueError(f"{exc.field}: {exc.reason}") from None
        return value

    @model_validator(mode="after")
    def _one_shape(self) -> Schedule:
        if self.hours is not None and self.weekly is not None:
            raise ValueError("give hours or weekly, not both")
        return self


class SupportChannel(Schedule):
    kind: SupportChannelKind
    value: ShortText = Field(min_length=1, description="number, address or URL")
    label: ShortText = Field("", description='e.g. "ProSupport Plus line"')
    levels: list[Name] = Field(
        default_factory=list,
        max_length=20,
        description="the support levels this channel serves (empty: every customer)",
    )
    notes: Annotated[str, Field(max_length=300)] = ""

    @model_validator(mode="after")
    def _value_fits_kind(self) -> SupportChannel:
        if self.kind is SupportChannelKind.email and not re.fullmatch(
            r"[^@\s]+@[^@\s]+\.[^@\s]+", self.value
        ):
            raise ValueError("an email channel needs an email address")
        if self.kind in (SupportChannelKind.portal, SupportChannelKind.api):
            HttpUrl(self.value)
        return self


class EscalationLevel(Input):
    level: int = Field(ge=1, le=9)
    name: Name
    contact: ShortText = Field(min_length=1)
    after_hours: int | None = Field(
        None, ge=0, le=24 * 30, description="escalate when unanswered this many hours"
    )


class SlaLevel(Schedule):
    """What one support level the vendor sells promises. The clock runs on this level's
    own hours (none given: around the clock)."""

    level: Name = Field(description='the level as contracts and warranties name it, e.g. "ProSupport Plus"')
    aliases: list[Name] = Field(
        default_factory=list, max_length=20, description="other names of the same level"
    )
    first_response: str | None = Field(
        None,
        description="entitlement: '4h', '30m', 'business_hours:8', 'nbd', 'nbd@17:00', 'business_days:2'",
    )
    resolution: str | None = Field(None, description="entitlement, as first_response")
    onsite: bool = Field(False, description="includes a technician on site")

    @field_validator("first_response", "resolution")
    @classmethod
    def _entitlement(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(parse_entitlement(value))
        except ClockError as exc:
            raise ValueError(exc.reason) from None


def _unique_levels(levels: list[SlaLevel]) -> list[SlaLevel]:
    names = [name.casefold() for sla in levels for name in (sla.level, *sla.aliases)]
    if len(names) != len(set(names)):
        raise ValueError("each SLA level name (and alias) must be unique")
    return levels


class VendorCreate(Input):
    name: Name
    category: VendorCategory
    website: HttpUrl | None = None
    support_channels: list[SupportChannel] = Field(default_factory=list, max_length=50)
    default_response_sla_hours: int | None = Field(None, ge=0, le=24 * 90)
    escalation_levels: list[EscalationLevel] = Field(default_factory=list, max_length=9)
    sla_levels: list[SlaLevel] = Field(default_factory=list, max_length=30)
    notes: LongText = ""

    @field_validator("escalation_levels")
    @classmethod
    def _levels_unique(cls, levels: list[EscalationLevel]) -> list[EscalationLevel]:
        numbers = [e.level for e in levels]
        if len(numbers) != len(set(numbers)):
            raise ValueError("escalation levels must be unique")
        return levels

    _sla_unique = field_validator("sla_levels")(_unique_levels)


class VendorUpdate(UpdateInput):
    name: Name | None = None
    category: VendorCategory | None = None
    website: HttpUrl | None = None
    support_channels: list[SupportChannel] | None = Field(None, max_length=50)
    default_response_sla_hours: int | None = Field(None, ge=0, le=24 * 90)
    escalation_levels: list[EscalationLevel] | None = Field(None, max_length=9)
    sla_levels: list[SlaLevel] | None = Field(None, max_length=30)
    notes: LongText | None = None

    @field_validator("sla_levels")
    @classmethod
    def _sla_unique(cls, levels: list[SlaLevel] | None) -> list[SlaLevel] | None:
        return _unique_levels(levels) if levels is not None else None


class VendorClientRead(Output):
    id: uuid.UUID
    name: str
    category: VendorCategory
    website: str | None
    support_channels: list[SupportChannel]
    default_response_sla_hours: int | None
    escalation_levels: list[EscalationLevel]
    sla_levels: list[SlaLevel]
    created_at: datetime
    updated_at: datetime
    version: int


class VendorRead(VendorClientRead):
    notes: str


class VendorFilters(ListParams):
    category: VendorCategory | None = None
    q: str | None = Field(None, max_length=100)
