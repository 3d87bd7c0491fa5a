"""Pure rules of the "who to call" card: what a search text is, which vendor role a
failing check points at, whether a channel is open, and which SLA level an entitlement
names. No database, no wall clock (`now` is passed in)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from hub.kit.business_clock import (
    WEEKDAYS,
    BusinessCalendar,
    ClockError,
    ClockEvent,
    ClockEventKind,
    SlaTerms,
    evaluate,
    is_open,
    next_closing,
    next_opening,
    parse_entitlement,
)
from hub.vendor.schedule import DEFAULT_TIMEZONE, schedule_calendar


class QueryKind(StrEnum):
    ip = "ip"
    domain = "domain"
    text = "text"  # a serial, an account or contract number, or a vendor's name


@dataclass(frozen=True)
class Query:
    kind: QueryKind
    value: str
    """The normalised value: an IP address, a lower-case domain name, or the text."""


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


def classify(text: str) -> Query:
    """What the technician typed: an IP address (also inside a URL), a domain (also an
    e-mail address or a URL's host), or anything else (serial, account, vendor)."""
    raw = text.strip()
    host = raw
    if "://" in raw:
        try:
            host = urlsplit(raw).hostname or raw
        except ValueError:  # "http://[not-an-address": not a URL after all
            host = raw
    elif "@" in raw and " " not in raw:
        host = raw.rsplit("@", 1)[1]
    host = host.strip().strip("[]").rstrip(".")
    try:
        return Query(QueryKind.ip, str(ipaddress.ip_address(host)))
    except ValueError:
        pass
    try:
        lowered = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        lowered = host.lower()
    if _DOMAIN.match(lowered):
        return Query(QueryKind.domain, lowered)
    return Query(QueryKind.text, raw)


def parent_domains(name: str) -> list[str]:
    """`mail.shop.example.it` -> itself, then `shop.example.it`, `example.it` (never a bare
    top-level label): a host of the client's domain finds that domain."""
    labels = name.split(".")
    return [".".join(labels[n:]) for n in range(len(labels) - 1)]


def address_host(value: str | None) -> str | None:
    """The host of a stored management address ("https://192.0.2.5:8443", "192.0.2.5",
    "[2001:db8::1]:443"), lower-case; None when there is none."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if "://" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    return host.lower() if host else None


# -- which vendor a failing check points at -----------------------------------------------


class Role(StrEnum):
    mail_host = "mail_host"
    dns_host = "dns_host"
    registrar = "registrar"


# The vendor roles that can fix what a check of this kind reports, most likely first.
CHECK_ROLES: Mapping[str, tuple[Role, ...]] = {
    "mx": (Role.mail_host, Role.dns_host),
    "spf": (Role.mail_host, Role.dns_host),
    "dkim": (Role.mail_host, Role.dns_host),
    "dmarc": (Role.dns_host, Role.mail_host),
    "tlsrpt": (Role.dns_host, Role.mail_host),
    "dnsbl": (Role.mail_host,),
    "dns_zone": (Role.dns_host, Role.registrar),
    "domain_expiry": (Role.registrar,),
}


def rank_roles(roles: Iterable[Role], failing_kinds: Iterable[str]) -> list[Role]:
    """The domain's roles, those its failing checks point at first (in the order of the
    checks' own preference), then the rest as given."""
    given = list(dict.fromkeys(roles))
    score: dict[Role, int] = {}
    for kind in failing_kinds:
        for n, role in enumerate(CHECK_ROLES.get(kind, ())):
            score[role] = min(score.get(role, n), n)
    return sorted(given, key=lambda role: (score.get(role, 99), given.index(role)))


# -- channels -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelState:
    open_now: bool | None
    """None when the stored hours cannot be read (`problem` says why)."""
    hours: str
    """The opening hours as people write them ("Mon-Fri 08:30-18:00", "24x7")."""
    local_time: str
    """The vendor's wall clock now ("Mon 14:05 CET")."""
    opens_at: datetime | None
    closes_at: datetime | None
    problem: str | None = None


def channel_state(channel: Mapping[str, Any], now: datetime) -> ChannelState:
    zone_name = channel.get("timezone") or DEFAULT_TIMEZONE
    try:
        calendar = schedule_calendar(channel)
    except ClockError as exc:
        return ChannelState(None, "", "", None, None, f"{exc.field}: {exc.reason}")
    local = now.astimezone(calendar.zone)
    local_time = f"{local:%a %H:%M} {local.tzname() or zone_name}"
    text = describe_hours(calendar, channel.get("holidays"))
    if is_open(calendar, now):
        closes = next_closing(calendar, now)
        # Open through the whole search horizon: it never closes (around the clock).
        never = closes is None or closes - now > timedelta(days=366)
        return ChannelState(True, text, local_time, None, None if never else closes)
    try:
        opens = next_opening(calendar, now)
    except ClockError:
        opens = None
    return ChannelState(False, text, local_time, opens, None)


def describe_hours(calendar: BusinessCalendar, holidays: Mapping[str, Any] | None = None) -> str:
    """ "Mon-Fri 08:30-12:30, 14:00-18:00; Sat 09:00-12:00" in the calendar's time zone;
    "24x7" for a calendar open every minute."""
    week = calendar.week
    if all(len(day) == 1 and day[0].start == 0 and day[0].end == 24 * 60 for day in week):
        text = "24x7"
    else:
        groups: list[tuple[int, int, str]] = []
        for n, day in enumerate(week):
            if not day:
                continue
            spans = ", ".join(str(interval) for interval in day)
            if groups and groups[-1][1] == n - 1 and groups[-1][2] == spans:
                groups[-1] = (groups[-1][0], n, spans)
            else:
                groups.append((n, n, spans))
        text = "; ".join(
            f"{_day(first)}{'-' + _day(last) if last != first else ''} {spans}"
            for first, last, spans in groups
        )
    closed = _holiday_text(holidays)
    return f"{text} ({calendar.zone.key}{closed})"


def _day(n: int) -> str:
    return WEEKDAYS[n].capitalize()


def _holiday_text(holidays: Mapping[str, Any] | None) -> str:
    if not holidays or not holidays.get("country"):
        return ""
    where = holidays["country"] + (f"-{holidays['subdivision']}" if holidays.get("subdivision") else "")
    return f", closed on {where} public holidays"


def serves(channel: Mapping[str, Any], levels: Sequence[str]) -> bool:
    """Whether a channel reserved to some support levels serves a customer holding
    `levels` (a channel without levels serves everyone)."""
    reserved = {str(level).casefold() for level in channel.get("levels") or ()}
    return not reserved or any(level.casefold() in reserved for level in levels)


# -- SLA levels -----------------------------------------------------------------------------


def match_level(level: str | None, sla_levels: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The vendor's SLA level an entitlement names: its name or an alias, ignoring case
    and spacing; failing that, the longest level name the entitlement starts with
    ("ProSupport Plus 4H" is "ProSupport Plus")."""
    if not level:
        return None
    wanted = _norm(level)
    prefix: tuple[int, Mapping[str, Any]] | None = None
    for sla in sla_levels:
        for name in (sla.get("level"), *(sla.get("aliases") or ())):
            norm = _norm(str(name or ""))
            if not norm:
                continue
            if norm == wanted:
                return sla
            if wanted.startswith(norm + " ") and (prefix is None or len(norm) > prefix[0]):
                prefix = (len(norm), sla)
    return prefix[1] if prefix else None


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


@dataclass(frozen=True)
class SlaPromise:
    first_response: str | None
    resolution: str | None
    first_response_due: datetime | None
    """When the vendor must answer a case opened `now`."""
    resolution_due: datetime | None
    hours: str
    timezone: str
    problem: str | None = None


def promise(sla: Mapping[str, Any], now: datetime) -> SlaPromise:
    """What a level promises, and the due instants of a case opened `now`."""
    first, resolution = sla.get("first_response"), sla.get("resolution")
    try:
        calendar = schedule_calendar(sla)
        terms = SlaTerms(
            calendar,
            parse_entitlement(first, field="first_response") if first else None,
            parse_entitlement(resolution, field="resolution") if resolution else None,
        )
        report = evaluate(terms, [ClockEvent(now, ClockEventKind.opened)], now)
    except ClockError as exc:
        zone = str(sla.get("timezone") or DEFAULT_TIMEZONE)
        return SlaPromise(first, resolution, None, None, "", zone, f"{exc.field}: {exc.reason}")
    return SlaPromise(
        first,
        resolution,
        report.first_response.due_at if report.first_response else None,
        report.resolution.due_at if report.resolution else None,
        describe_hours(calendar, sla.get("holidays")),
        calendar.zone.key,
    )


def default_promise(hours: int | None, now: datetime) -> SlaPromise | None:
    """The vendor's catalogue default (first response within N hours, around the clock)."""
    if hours is None:
        return None
    return SlaPromise(f"{hours}h", None, now + timedelta(hours=hours), None, "24x7", "UTC")


__all__ = [
    "CHECK_ROLES",
    "ChannelState",
    "Query",
    "QueryKind",
    "Role",
    "SlaPromise",
    "address_host",
    "channel_state",
    "classify",
    "default_promise",
    "describe_hours",
    "match_level",
    "parent_domains",
    "promise",
    "rank_roles",
    "serves",
]
