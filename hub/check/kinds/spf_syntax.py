"""SPF record syntax (RFC 7208 §4.6.1 and §12 ABNF), kept apart from the lookup walk."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from functools import lru_cache

MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})
# Terms that make a DNS query when evaluated and so count towards the limit of 10 (§4.6.4);
# "redirect" counts too, "exp" and ip4/ip6/all do not.
LOOKUP_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})

_VERSION = re.compile(r"^v=spf1(?: |$)", re.IGNORECASE)
_MACRO = re.compile(r"%\{[slodiphcrtv]\d*r?[.\-+,/_=]*\}|%%|%_|%-", re.IGNORECASE)
_MODIFIER_NAME = re.compile(r"^[a-z][a-z0-9\-_.]*$", re.IGNORECASE)
_TOPLABEL = re.compile(r"^(?:[a-z0-9]*[a-z][a-z0-9]*|[a-z0-9]+-[a-z0-9\-]*[a-z0-9])$", re.IGNORECASE)
_DOMAIN_CIDR = re.compile(r"^(?::(?P<domain>.+?))?(?P<cidr4>/\d+)?(?P<cidr6>//\d+)?$")
_CIDR_NUMBER = re.compile(r"^(?:0|[1-9]\d*)$")


def is_spf(text: str) -> bool:
    """Whether a TXT string is an SPF record at all (§4.5: exactly "v=spf1", then space or end)."""
    return _VERSION.match(text) is not None


@dataclass(frozen=True)
class Term:
    name: str  # mechanism or modifier name, lower case
    qualifier: str  # "+", "-", "~", "?" ("" for modifiers)
    value: str | None  # domain-spec or network; None when absent
    raw: str

    @property
    def is_modifier(self) -> bool:
        return self.qualifier == ""

    @property
    def has_macro(self) -> bool:
        return self.value is not None and "%" in self.value


@dataclass
class SpfRecord:
    text: str
    terms: list[Term] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def mechanisms(self) -> list[Term]:
        return [t for t in self.terms if not t.is_modifier]

    @property
    def all_term(self) -> Term | None:
        return next((t for t in self.terms if t.name == "all" and not t.is_modifier), None)

    @property
    def redirect(self) -> Term | None:
        # §6.1: "redirect" MUST be ignored when the record has an "all" mechanism.
        if self.all_term is not None:
            return None
        return next((t for t in self.terms if t.is_modifier and t.name == "redirect"), None)


def _macro_string_ok(text: str) -> bool:
    stripped = _MACRO.sub("", text)
    return "%" not in stripped and all(0x21 <= ord(c) <= 0x7E for c in stripped)


def valid_domain_spec(text: str) -> bool:
    if not text or not _macro_string_ok(text):
        return False
    if _MACRO.search(text) and re.search(r"%\{[^}]*\}\.?$", text):
        return True  # ends with a macro-expand: the domain end is only known at evaluation
    name = text.rstrip(".") if text.endswith(".") and not text.endswith("..") else text
    labels = name.split(".")
    if len(labels) < 2 or any(label == "" for label in labels if "%" not in label):
        return False
    return _TOPLABEL.match(labels[-1]) is not None and all(len(label) <= 63 for label in labels)


def _cidr_ok(text: str | None, maximum: int) -> bool:
    if text is None:
        return True
    number = text.lstrip("/")
    return _CIDR_NUMBER.match(number) is not None and int(number) <= maximum


def _parse_network(term: Term, version: int) -> str | None:
    value = term.value or ""
    address, _, length = value.partition("/")
    try:
        if version == 4:
            ipaddress.IPv4Address(address)
        else:
            ipaddress.IPv6Address(address)
    except ValueError:
        return f"{term.raw}: {address!r} is not an IPv{version} address"
    if "/" in value and not _cidr_ok(length, 32 if version == 4 else 128):
        return f"{term.raw}: bad prefix length {length!r}"
    return None


def _check_mechanism(term: Term, rest: str) -> str | None:
    name = term.name
    if name == "all":
        return None if rest == "" else f"{term.raw}: 'all' takes no argument"
    if name in ("include", "exists"):
        if not rest.startswith(":") or not valid_domain_spec(rest[1:]):
            return f"{term.raw}: needs ':' and a valid domain"
        return None
    if name in ("ip4", "ip6"):
        if not rest.startswith(":"):
            return f"{term.raw}: needs ':' and a network"
        return _parse_network(term, 4 if name == "ip4" else 6)
    if name == "ptr":
        if rest and (not rest.startswith(":") or not valid_domain_spec(rest[1:])):
            return f"{term.raw}: bad domain"
        return None
    return _check_domain_cidr(term, rest)  # a and mx


def _check_domain_cidr(term: Term, rest: str) -> str | None:
    """`a` and `mx`: an optional domain-spec, an optional dual CIDR length."""
    match = _DOMAIN_CIDR.match(rest)
    if match is None:
        return f"{term.raw}: bad argument"
    domain = match["domain"]
    if domain is not None and not valid_domain_spec(domain):
        return f"{term.raw}: bad domain {domain!r}"
    if not _cidr_ok(match["cidr4"], 32) or not _cidr_ok(match["cidr6"] and match["cidr6"][1:], 128):
        return f"{term.raw}: bad prefix length"
    return None


def _parse_term(raw: str) -> tuple[Term, str | None]:
    qualifier = "+"
    body = raw
    if body[:1] in "+-~?":
        qualifier, body = body[0], body[1:]
    head = re.match(r"^[^:/=]*", body)
    name = head.group(0).lower() if head else ""
    rest = body[len(name) :]
    if rest.startswith("=") and raw[:1] not in "+-~?":
        modifier_value = rest[1:]
        term = Term(name, "", modifier_value, raw)
        if not _MODIFIER_NAME.match(name):
            return term, f"{raw}: bad modifier name"
        if name in ("redirect", "exp"):
            return term, None if valid_domain_spec(modifier_value) else f"{raw}: bad domain"
        return term, None if _macro_string_ok(modifier_value) else f"{raw}: bad macro string"
    if name not in MECHANISMS:
        return Term(name, qualifier, None, raw), f"{raw}: unknown mechanism"
    value: str | None = None
    if rest.startswith(":"):
        value = rest[1:]
        if name in ("a", "mx"):
            match = _DOMAIN_CIDR.match(rest)
            value = match["domain"] if match else value
    term = Term(name, qualifier, value, raw)
    return term, _check_mechanism(term, rest)


def parse_spf(text: str) -> SpfRecord:
    record = SpfRecord(text)
    if not is_spf(text):
        record.errors.append("does not start with v=spf1")
        return record
    for raw in text.split(" ")[1:]:
        if raw == "":
            continue  # 1*SP between terms: several spaces are legal
        term, error = _parse_term(raw)
        record.terms.append(term)
        if error:
            record.errors.append(error)
    for modifier in ("redirect", "exp"):
        if sum(1 for t in record.terms if t.is_modifier and t.name == modifier) > 1:
            record.errors.append(f"'{modifier}' appears more than once (§6)")
    return record


# A run walks the same few provider records (_spf.google.com, spf.protection.outlook.com...)
# from most of its domains: parsed once per process by their text. Callers only read it.
parsed_spf = lru_cache(maxsize=4096)(parse_spf)
