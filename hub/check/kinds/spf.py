"""SPF (RFC 7208): the record, its syntax, its `all`, and the DNS lookups its whole
include/redirect tree costs (§4.6.4: more than 10 is a permerror, as are more than 2
lookups that return no data).

The walk over the tree is one pure function used twice: `collect()` runs it repeatedly,
fetching whatever names it reports missing, until nothing is missing; `evaluate()` runs it
once over the fetched answers. So what is fetched and what is judged cannot drift apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from hub.check.dns.client import Lookup, normalise
from hub.check.enums import CheckTarget
from hub.check.findings import Evaluation, Finding, evaluation, finding
from hub.check.kinds.base import CheckKind, Params
from hub.check.kinds.spf_syntax import LOOKUP_MECHANISMS, SpfRecord, Term, is_spf, parsed_spf

if TYPE_CHECKING:
    from hub.check.context import CheckContext

LOOKUP_LIMIT = 10
VOID_LIMIT = 2
# Far beyond any legal tree: it only bounds the work an include loop can cause.
_MAX_DEPTH = 12


class SpfParams(Params):
    pass


@dataclass
class SpfData:
    domain: str
    answers: dict[tuple[str, str], Lookup] = field(default_factory=dict)


@dataclass
class _Walk:
    get: Callable[[str, str], Lookup | None]
    lookups: int = 0
    voids: int = 0
    missing: set[tuple[str, str]] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    records: dict[str, str] = field(default_factory=dict)
    stopped: bool = False  # the lookup limit was exceeded: nothing further matters

    def answer(self, name: str, rdtype: str) -> Lookup | None:
        found = self.get(name, rdtype)
        if found is None:
            self.missing.add((name, rdtype))
        elif found.failed:
            self.unknown.append(found.reason(name, rdtype))
        return found

    def count_lookup(self, where: str, term: str) -> bool:
        self.lookups += 1
        if self.lookups > LOOKUP_LIMIT:
            self.stopped = True
            self.findings.append(
                finding(
                    "spf_too_many_lookups",
                    f"the SPF record needs more than {LOOKUP_LIMIT} DNS lookups: receivers return "
                    f"permerror (RFC 7208 §4.6.4)",
                    limit=LOOKUP_LIMIT,
                    exceeded_at=f"{term} in {where}",
                    records=dict(self.records),
                )
            )
        return not self.stopped

    def void(self, name: str, rdtype: str) -> None:
        self.voids += 1
        if self.voids == VOID_LIMIT + 1:
            self.findings.append(
                finding(
                    "spf_too_many_void_lookups",
                    f"more than {VOID_LIMIT} SPF lookups return no data: receivers return permerror "
                    f"(RFC 7208 §4.6.4)",
                    limit=VOID_LIMIT,
                    exceeded_at=f"{rdtype} {name}",
                )
            )


def _record_at(walk: _Walk, name: str, via: str | None) -> SpfRecord | None:
    """The SPF record of `name`, or None (with the finding) when there is none to use."""
    txt = walk.answer(name, "TXT")
    if txt is None or txt.failed:
        return None
    texts = [t for t in txt.records if is_spf(t)]
    if not texts:
        if via is None:
            walk.findings.append(finding("spf_missing", f"{name} publishes no SPF record", domain=name))
        else:
            if txt.void:
                walk.void(name, "TXT")
            walk.findings.append(
                finding(
                    "spf_include_no_record",
                    f"{via} target {name} publishes no SPF record: receivers return permerror",
                    target=name,
                    via=via,
                )
            )
        return None
    if len(texts) > 1:
        walk.findings.append(
            finding(
                "spf_multiple_records",
                f"{name} publishes {len(texts)} SPF records: receivers return permerror (RFC 7208 §4.5)",
                domain=name,
                records=texts,
            )
        )
        return None
    record = parsed_spf(texts[0])
    walk.records[name] = texts[0]
    if record.errors:
        walk.findings.append(
            finding(
                "spf_syntax_error",
                f"SPF record of {name} is invalid: {record.errors[0]}",
                domain=name,
                record=texts[0],
                errors=list(record.errors),  # the parsed record is shared (cached)
            )
        )
        return None
    return record


def _check_void(walk: _Walk, name: str, rdtypes: tuple[str, ...]) -> None:
    """A mechanism's query is void when every type it could ask returns no data (an "a"
    on an IPv6-only host is not void, so AAAA is asked only when A is empty)."""
    for rdtype in rdtypes:
        answer = walk.answer(name, rdtype)
        if answer is None or not answer.void:
            return
    walk.void(name, rdtypes[-1] if len(rdtypes) == 1 else "/".join(rdtypes))


def _walk_term(walk: _Walk, name: str, term: Term, depth: int) -> Term | None:
    """Counts and follows one mechanism. Returns the included record's `all` when an include
    of a record ending in +all makes this include match every sender."""
    if term.name == "ptr":
        walk.findings.append(
            finding(
                "spf_ptr_mechanism",
                f"SPF record of {name} uses 'ptr' (RFC 7208 §5.5: do not use)",
                domain=name,
                term=term.raw,
            )
        )
    if term.name not in LOOKUP_MECHANISMS or not walk.count_lookup(name, term.raw):
        return None
    if term.has_macro or term.name == "ptr":
        return None  # depends on the sender: counted, but nothing to fetch ahead of time
    target = normalise(term.value) if term.value else name
    if term.name == "include":
        _, included_all = _walk_record(walk, target, f"include:{target}", depth + 1)
        if included_all is not None and included_all.qualifier == "+" and term.qualifier == "+":
            return included_all
    elif term.name == "a":
        _check_void(walk, target, ("A", "AAAA"))
    elif term.name == "mx":
        _check_void(walk, target, ("MX",))
    elif term.name == "exists":
        _check_void(walk, target, ("A",))
    return None


def _walk_record(walk: _Walk, name: str, via: str | None, depth: int) -> tuple[bool, Term | None]:
    """Walks one record and what it includes. Returns whether the record (and its redirect
    chain) could be read to the end, and the `all` its evaluation ends on, if any."""
    if depth > _MAX_DEPTH or walk.stopped:
        return False, None
    record = _record_at(walk, name, via)
    if record is None:
        return False, None
    for term in record.mechanisms:
        passed_all = _walk_term(walk, name, term, depth)
        if passed_all is not None and via is None:
            walk.findings.append(
                finding(
                    "spf_pass_all",
                    f"SPF of {name} includes {term.value}, whose record ends in +all: "
                    "anyone may send as the domain",
                    domain=name,
                    term=term.raw,
                )
            )
        if walk.stopped:
            return False, None
    if record.all_term is not None:
        return True, record.all_term
    redirect = record.redirect
    if redirect is None:
        return True, None
    if redirect.has_macro or not walk.count_lookup(name, redirect.raw):
        return False, None
    return _walk_record(walk, normalise(redirect.value or ""), f"redirect={redirect.value}", depth + 1)


def _all_findings(domain: str, record_all: Term | None) -> list[Finding]:
    if record_all is None:
        return [
            finding(
                "spf_no_all",
                f"SPF of {domain} does not end in 'all': unmatched senders get neutral",
                domain=domain,
            )
        ]
    code = {"+": "spf_pass_all", "?": "spf_neutral_all", "~": "spf_softfail_all"}.get(record_all.qualifier)
    if code is None:
        return []
    message = {
        "spf_pass_all": f"SPF of {domain} ends in '{record_all.raw}': anyone may send as the domain",
        "spf_neutral_all": f"SPF of {domain} ends in '?all': unmatched senders are neutral, not rejected",
        "spf_softfail_all": f"SPF of {domain} ends in '~all' (softfail)",
    }[code]
    return [finding(code, message, domain=domain, term=record_all.raw)]


def walk_spf(domain: str, get: Callable[[str, str], Lookup | None]) -> _Walk:
    walk = _Walk(get)
    complete, record_all = _walk_record(walk, normalise(domain), None, 0)
    # The verdict on `all` needs the record and its redirect chain read to the end; a
    # chain cut by a timeout is unknown, not "no all".
    if complete and not walk.missing:
        walk.findings.extend(_all_findings(normalise(domain), record_all))
    return walk


class SpfCheck(CheckKind[SpfParams, SpfData]):
    name = "spf"
    target = CheckTarget.domain
    params_model = SpfParams
    codes = frozenset(
        {
            "spf_missing",
            "spf_multiple_records",
            "spf_syntax_error",
            "spf_too_many_lookups",
            "spf_too_many_void_lookups",
            "spf_include_no_record",
            "spf_pass_all",
            "spf_neutral_all",
            "spf_no_all",
            "spf_softfail_all",
            "spf_ptr_mechanism",
        }
    )

    async def collect(self, ctx: CheckContext, target: str, params: SpfParams) -> SpfData:
        data = SpfData(normalise(target))
        # Each round resolves one more level of the tree; the walk's own limits bound it.
        for _ in range(_MAX_DEPTH + 2):
            missing = sorted(walk_spf(data.domain, lambda n, t: data.answers.get((n, t))).missing)
            if not missing:
                break
            answers = await asyncio.gather(*(ctx.dns.lookup(n, t) for n, t in missing))
            data.answers.update(zip(missing, answers, strict=True))
        return data

    def evaluate(self, data: SpfData, params: SpfParams, now: datetime) -> Evaluation:
        walk = walk_spf(data.domain, lambda n, t: data.answers.get((n, t)))
        unknown = list(dict.fromkeys(walk.unknown))
        if walk.missing:
            unknown.append(f"SPF tree not fully fetched: {sorted(walk.missing)[:3]}")
        return evaluation(
            walk.findings,
            unknown,
            facts={"spf_lookups": walk.lookups, "spf_void_lookups": walk.voids, "spf_records": walk.records},
        )
