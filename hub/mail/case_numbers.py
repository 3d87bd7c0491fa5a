"""Vendors' own case numbers: learn a vendor's pattern from its first reply, and find
numbers in later mail with it. Pure.

A pattern is a regular expression with a named group `number` (the shape of GLPI's
ticketfilter plugin and Halo's supplier reference tags). The learned pattern keeps the
vendor's label (`Case`, `Ticket`, `SR`, `Caso`...) and the exact shape of the number
(`\\d{8}` for `00123456`, a literal `INC` prefix), so that an account number or a phone
number in the same mail does not pass for a case number. A bare run of digits without a
label is never proposed: it would match dates, phone numbers and order numbers.

Only the reply part of a message should be searched (quoted history is where OTHER cases'
numbers hide); `extract_case_numbers` takes what the caller gives it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from hub.mail.errors import MailInputError

# Labels vendors put before their number, in en/it/de/fr (longest first where one is a
# prefix of another, so "service request" wins over "service").
_LABELS = (
    "service request",
    "tracking id",
    "trackingid",
    "case number",
    "ticket number",
    "incident",
    "request",
    "ticket",
    "case",
    "caso",
    "pratica",
    "segnalazione",
    "richiesta",
    "vorgang",
    "ticketnummer",
    "anfrage",
    "fall",
    "dossier",
    "demande",
    "sr",
    "req",
)
_LABEL_RE = "|".join(re.escape(label).replace(r"\ ", r"\s+") for label in _LABELS)
_SEP = r"\s*(?:no\.?|nr\.?|n\.|n°|number|numero|nummer|id)?\s*[#:]?\s*"
_NUMBER = r"[A-Z]{0,4}\d(?:[\d-]{2,22}\d)?"
_GENERIC = re.compile(
    rf"(?<![\w])(?P<label>{_LABEL_RE}){_SEP}(?P<number>{_NUMBER})(?![\w-])",
    re.IGNORECASE,
)
# Prefixed numbers that need no label (ServiceNow-style and the like).
_PREFIXED = re.compile(r"(?<![\w-])(?P<number>(?:INC|CS|RITM|REQ|CHG|PRB|TKT|CAS)\d{5,12})(?![\w-])")
MAX_PATTERN_LENGTH = 300


@dataclass(frozen=True)
class ProposedPattern:
    regex: str  # has a named group "number"
    number: str  # the vendor's case number found in the message
    source: str  # "subject" or "body"


def _shape(number: str) -> str:
    """`00123456` -> `\\d{8}`, `INC0012345` -> `INC\\d{7}`, `7-1234567` -> `\\d-\\d{7}`."""
    out = []
    for run in re.finditer(r"\d+|[A-Za-z]+|.", number):
        text = run.group()
        if text.isdigit():
            out.append(rf"\d{{{len(text)}}}")
        elif text.isalpha():
            out.append(re.escape(text.upper()))
        else:
            out.append(re.escape(text))
    return "".join(out)


def _labelled_pattern(label: str) -> str:
    words = r"\s+".join(re.escape(w) for w in label.split())
    return rf"(?i:(?<![\w]){words}){_SEP}"


def _pattern_for(label: str | None, number: str) -> str | None:
    shape = _shape(number)
    if label:
        return rf"{_labelled_pattern(label)}(?P<number>{shape})(?![\w-])"
    if re.match(r"[A-Za-z]", number):
        return rf"(?<![\w-])(?P<number>{shape})(?![\w-])"
    return None


def propose_pattern(subject: str, body: str, known_number: str | None = None) -> ProposedPattern | None:
    """A pattern for this vendor's case numbers, from its first reply (subject first, then
    the reply text). With `known_number` (typed in by a technician) only that number is
    looked for; without it, the first labelled number wins. None when nothing safe is found."""
    for source, text in (("subject", subject), ("body", body)):
        if known_number:
            wanted = known_number.strip()
            for found in re.finditer(rf"(?<![\w-]){re.escape(wanted)}(?![\w-])", text, re.IGNORECASE):
                before = text[max(0, found.start() - 40) : found.start()]
                label = re.search(rf"(?P<label>{_LABEL_RE}){_SEP}$", before, re.IGNORECASE)
                regex = _pattern_for(label.group("label") if label else None, found.group())
                if regex:
                    return ProposedPattern(regex=regex, number=found.group().upper(), source=source)
            continue
        labelled = _GENERIC.search(text)
        if labelled:
            regex = _pattern_for(labelled.group("label"), labelled.group("number"))
            if regex:
                return ProposedPattern(regex=regex, number=labelled.group("number").upper(), source=source)
        prefixed = _PREFIXED.search(text)
        if prefixed:
            regex = _pattern_for(None, prefixed.group("number"))
            if regex:
                return ProposedPattern(regex=regex, number=prefixed.group("number").upper(), source=source)
    return None


def compile_pattern(regex: str, field_name: str = "case_number_pattern") -> re.Pattern[str]:
    """A pattern a person typed or we learned, checked: compiles, has a `number` group,
    is short, and does not match an empty text."""
    if len(regex) > MAX_PATTERN_LENGTH:
        raise MailInputError(field_name, f"longer than {MAX_PATTERN_LENGTH} characters")
    try:
        compiled = re.compile(regex)
    except re.error as exc:
        raise MailInputError(field_name, f"not a valid regular expression: {exc}") from None
    if "number" not in compiled.groupindex:
        raise MailInputError(field_name, "needs a named group (?P<number>...) around the case number")
    if compiled.search("") is not None:
        raise MailInputError(field_name, "matches an empty text")
    return compiled


def extract_case_numbers(patterns: Iterable[re.Pattern[str]], *texts: str) -> list[str]:
    """Every case number the patterns find in the texts, in order, upper-cased, unique."""
    seen: dict[str, None] = {}
    for text in texts:
        for pattern in patterns:
            for found in pattern.finditer(text):
                number = (found.group("number") or "").strip().upper()
                if number:
                    seen.setdefault(number, None)
    return list(seen)
