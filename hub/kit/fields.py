"""Validated field types shared by the request schemas. Each raises ValueError with a
message that ends up, with the field name, in the 422 problem response."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated
from zoneinfo import ZoneInfo, available_timezones

import idna
from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer

from hub.kit.domain_names import normalise_domain
from hub.kit.localefmt import parse_locale
from hub.kit.money import format_amount, validate_amount, validate_currency

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")


def _reject_float_noise(value: object) -> object:
    # Reject NaN/Infinity spelled as strings and booleans (which Python treats as ints).
    if isinstance(value, bool):
        raise ValueError("amount must be a number, not a boolean")
    return value


def _validate_timezone(value: str) -> str:
    if value not in _timezones():
        raise ValueError(f"'{value}' is not an IANA time zone (e.g. Europe/Rome)")
    ZoneInfo(value)
    return value


_TZ_CACHE: set[str] = set()


def _timezones() -> set[str]:
    if not _TZ_CACHE:
        _TZ_CACHE.update(available_timezones())
    return _TZ_CACHE


def _validate_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError("use 1-80 lower-case letters, digits and inner hyphens")
    return value


def domain_to_unicode(name: str) -> str:
    try:
        return idna.decode(name)
    except idna.IDNAError:
        return name


Amount = Annotated[
    Decimal,
    BeforeValidator(_reject_float_noise),
    AfterValidator(validate_amount),
    PlainSerializer(format_amount, return_type=str, when_used="json"),
    Field(description="Decimal amount as a string (up to 4 decimal places); never a float"),
]
NonNegativeAmount = Annotated[Amount, Field(ge=0)]
CurrencyCode = Annotated[
    str, AfterValidator(validate_currency), Field(description="ISO 4217 code", examples=["EUR"])
]
DomainName = Annotated[
    str,
    AfterValidator(normalise_domain),
    Field(max_length=300, description="Domain name; stored as its IDNA A-label"),
]
TimeZoneName = Annotated[str, AfterValidator(_validate_timezone)]
LocaleName = Annotated[
    str,
    AfterValidator(parse_locale),
    Field(
        max_length=16, description="CLDR locale of the client's reports (it, en, en_GB...)", examples=["it"]
    ),
]
Slug = Annotated[str, AfterValidator(_validate_slug)]
# C0 and C1 control characters (line breaks, tabs, escapes) and the Unicode line and
# paragraph separators: a name with one breaks every line-based format it is written to
# (an .ics calendar, a CSV row, a log line, an e-mail header).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must be one line of text: no line breaks, tabs or other control characters")
    return value


Name = Annotated[str, AfterValidator(one_line), Field(min_length=1, max_length=200)]
# One line of free text (an address, a holder's name, a SKU, a warranty level).
ShortText = Annotated[str, AfterValidator(one_line), Field(max_length=300)]
LongText = Annotated[str, Field(max_length=20_000)]
