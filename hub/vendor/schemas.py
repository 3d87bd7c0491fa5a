from __future__ import annotations

import re
import uuid
from datetime import datetime, time
from typing import Annotated

from pydantic import Field, HttpUrl, field_validator, model_validator

from hub.api.crud import ListParams
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


class SupportChannel(Input):
    kind: SupportChannelKind
    value: ShortText = Field(min_length=1, description="number, address or URL")
    hours: OpeningHours | None = Field(None, description="null means around the clock")
    timezone: TimeZoneName = "Europe/Rome"
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


class VendorCreate(Input):
    name: Name
    category: VendorCategory
    website: HttpUrl | None = None
    support_channels: list[SupportChannel] = Field(default_factory=list, max_length=50)
    default_response_sla_hours: int | None = Field(None, ge=0, le=24 * 90)
    escalation_levels: list[EscalationLevel] = Field(default_factory=list, max_length=9)
    notes: LongText = ""

    @field_validator("escalation_levels")
    @classmethod
    def _levels_unique(cls, levels: list[EscalationLevel]) -> list[EscalationLevel]:
        numbers = [e.level for e in levels]
        if len(numbers) != len(set(numbers)):
            raise ValueError("escalation levels must be unique")
        return levels


class VendorUpdate(UpdateInput):
    name: Name | None = None
    category: VendorCategory | None = None
    website: HttpUrl | None = None
    support_channels: list[SupportChannel] | None = Field(None, max_length=50)
    default_response_sla_hours: int | None = Field(None, ge=0, le=24 * 90)
    escalation_levels: list[EscalationLevel] | None = Field(None, max_length=9)
    notes: LongText | None = None


class VendorClientRead(Output):
    id: uuid.UUID
    name: str
    category: VendorCategory
    website: str | None
    support_channels: list[SupportChannel]
    default_response_sla_hours: int | None
    escalation_levels: list[EscalationLevel]
    created_at: datetime
    updated_at: datetime
    version: int


class VendorRead(VendorClientRead):
    notes: str


class VendorFilters(ListParams):
    category: VendorCategory | None = None
    q: str | None = Field(None, max_length=100)
