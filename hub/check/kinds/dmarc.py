"""DMARC (RFC 7489): the policy record, its syntax and strength, and for every report
address outside the domain the §7.1 record in which the receiver agrees to get reports."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from hub.check.dns.client import Lookup, normalise
from hub.check.enums import CheckTarget
from hub.check.findings import Evaluation, Finding, evaluation, finding
from hub.check.kinds.base import CheckKind, Params
from hub.check.kinds.tags import parse_tags

if TYPE_CHECKING:
    from hub.check.context import CheckContext

# RFC 7489 §6.3-6.4: the record starts with the tag "v" (a tag name, any case) whose value
# is exactly "DMARC1" ("MUST match precisely"), then ";" or the end.
_VERSION = re.compile(r"^\s*[vV]\s*=\s*DMARC1\s*(;|$)")
# A TXT record at _dmarc that is not a DMARC record but was meant as one: it names DMARC
# (a misspelt or mis-cased version, out of order), or carries a policy (p=). Anything else
# there (a verification token, an SPF record put at the wrong name) is not DMARC at all.
# Receivers discard it (§6.6.3); the technician is told it is broken, not that none exists.
_ATTEMPT = re.compile(r"dmarc|(^|[;\s])p\s*=", re.IGNORECASE)
_VERSION_RUNS_ON = re.compile(r"^\s*[vV]\s*=\s*DMARC1\s+(\S.*)$", re.DOTALL)
# A value that runs on into the next tag: "p=reject rua=mailto:..." (a ';' left out).
_RUN_ON = re.compile(r"\s([A-Za-z][A-Za-z0-9_]*)\s*=")
_POLICIES = frozenset({"none", "quarantine", "reject"})
_URI = re.compile(r"^[a-z][a-z0-9+.\-]*:[^!]+(?:![0-9]+[kmgt]?)?$", re.IGNORECASE)
_FO = frozenset({"0", "1", "d", "s"})


def is_dmarc(text: str) -> bool:
    return _VERSION.match(text) is not None


def looks_like_dmarc(text: str) -> bool:
    """A record meant as DMARC that receivers will not read as one (see `_ATTEMPT`)."""
    return not is_dmarc(text) and _ATTEMPT.search(text) is not None


def why_not_dmarc(text: str) -> list[str]:
    """Why a record meant as DMARC is not one: the version tag first, then whatever else
    is wrong with its tags."""
    pairs, _ = parse_tags(text)
    runs_on = _VERSION_RUNS_ON.match(text)
    reasons: list[str] = []
    if runs_on:
        reasons.append(
            f"a ';' is missing after 'v=DMARC1' (the version runs on into {runs_on.group(1)[:40]!r})"
        )
    elif not pairs or pairs[0][0].lower() != "v":
        first = f"{pairs[0][0]}=" if pairs else text.strip()[:40]
        has_v = any(name.lower() == "v" for name, _ in pairs)
        reasons.append(
            f"'v=DMARC1' must be the first tag, but the record begins with {first!r}"
            if has_v
            else f"the record has no 'v=DMARC1' tag (it begins with {first!r})"
        )
    else:
        reasons.append(f"the version is {pairs[0][1]!r}; it must be exactly 'DMARC1'")
    rest = parse_dmarc(text).errors
    return reasons + [r for r in rest if "'v=DMARC1'" not in r and "'v=' and" not in r]


class DmarcParams(Params):
    pass


@dataclass
class DmarcData:
    domain: str
    # `_dmarc.<domain>`, then the organisational domain's when the first has none (§6.6.3).
    lookups: list[tuple[str, Lookup]] = field(default_factory=list)
    # `<policy domain>._report._dmarc.<report domain>` lookups, by report domain.
    authorisations: dict[str, Lookup] = field(default_factory=dict)


@dataclass
class DmarcRecord:
    tags: dict[str, str]
    errors: list[str]

    def uris(self, tag: str) -> list[str]:
        value = self.tags.get(tag, "")
        return [u.strip() for u in value.split(",") if u.strip()]


def organisational_guess(domain: str) -> str:
    # Without the public suffix list this is the last two labels: right for .com/.eu
    # style names; for example.co.uk it asks _dmarc.co.uk, finds nothing, and reports the
    # record missing only if the domain's own lookup found nothing either.
    return ".".join(domain.split(".")[-2:])


# One branch per tag RFC 7489 §6.3 defines, read in one pass: the tag table is the function.
def parse_dmarc(text: str) -> DmarcRecord:
    pairs, errors = parse_tags(text)
    tags = dict(pairs)
    if not pairs or pairs[0][0].lower() != "v":
        errors.append("'v=DMARC1' must be the first tag")
    for name, value in pairs:
        run_on = _RUN_ON.search(value)
        if run_on:
            errors.append(f"a ';' is missing between '{name}=' and '{run_on.group(1)}='")
    policy = tags.get("p")
    if policy is None:
        errors.append("the required 'p' tag is missing")
    elif policy.lower() not in _POLICIES:
        errors.append(f"p={policy!r} is not none, quarantine or reject")
    errors += _optional_tag_errors(tags)
    record = DmarcRecord({k.lower(): v for k, v in tags.items()}, errors)
    for tag in ("rua", "ruf"):
        for uri in record.uris(tag):
            if not _URI.match(uri):
                errors.append(f"{tag} entry {uri!r} is not a URI")
    return record


def _optional_tag_errors(tags: dict[str, str]) -> list[str]:
    """What is wrong with the optional tags' values (RFC 7489 §6.3)."""
    errors: list[str] = []
    if "sp" in tags and tags["sp"].lower() not in _POLICIES:
        errors.append(f"sp={tags['sp']!r} is not none, quarantine or reject")
    if "pct" in tags and not (tags["pct"].isdigit() and 0 <= int(tags["pct"]) <= 100):
        errors.append(f"pct={tags['pct']!r} is not an integer from 0 to 100")
    for tag in ("adkim", "aspf"):
        if tag in tags and tags[tag].lower() not in ("r", "s"):
            errors.append(f"{tag}={tags[tag]!r} is not r or s")
    if "ri" in tags and not tags["ri"].isdigit():
        errors.append(f"ri={tags['ri']!r} is not a number of seconds")
    if "fo" in tags and not all(part.strip().lower() in _FO for part in tags["fo"].split(":")):
        errors.append(f"fo={tags['fo']!r} is not a colon-separated list of 0, 1, d, s")
    return errors


def mailto_domain(uri: str) -> str | None:
    if not uri.lower().startswith("mailto:"):
        return None
    address = uri[len("mailto:") :].split("!", 1)[0]
    _, at, domain = address.rpartition("@")
    return normalise(domain) if at and domain else None


def is_external(policy_domain: str, report_domain: str) -> bool:
    """§7.1 applies when the report domain is not the policy domain's organisation; a
    subdomain (either way) shares it, anything else is treated as external."""
    p, r = normalise(policy_domain), normalise(report_domain)
    return not (p == r or p.endswith("." + r) or r.endswith("." + p))


def authorisation_name(policy_domain: str, report_domain: str) -> str:
    return f"{normalise(policy_domain)}._report._dmarc.{normalise(report_domain)}"


@dataclass
class Selected:
    """What the lookups found: the domain whose _dmarc holds the policy and its DMARC
    records; else the records meant as DMARC that are not (`broken`, at `domain`); and
    the reason the lookup failed, if it did."""

    domain: str | None = None
    records: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _selected(data: DmarcData) -> Selected:
    for name, lookup in data.lookups:
        if lookup.failed:
            return Selected(errors=[lookup.reason(f"_dmarc.{name}", "TXT")])
        records = [t for t in lookup.records if is_dmarc(t)]
        if records:
            return Selected(name, records)
        broken = [t for t in lookup.records if looks_like_dmarc(t)]
        if broken:
            return Selected(name, broken=broken)
    return Selected()


def _broken_finding(data: DmarcData, found: Selected) -> Finding:
    """A record meant as DMARC that receivers discard: reported as a syntax error (the
    technician must know one is published and wrong), saying what receivers do with it."""
    record = found.broken[0]
    reasons = why_not_dmarc(record)
    organisation = organisational_guess(data.domain)
    if found.domain != organisation:
        effect = f"they fall back to the policy of {organisation}, if it has one"
    else:
        effect = f"no DMARC policy applies to {data.domain}"
    return finding(
        "dmarc_syntax_error",
        f"_dmarc.{found.domain} has a broken DMARC record: {reasons[0]}. Receivers discard a record "
        f"that does not begin with 'v=DMARC1' (RFC 7489 §6.6.3): {effect}",
        record=record,
        errors=reasons,
        found_at=f"_dmarc.{found.domain}",
    )


def _invalid_finding(policy_domain: str, text: str, record: DmarcRecord) -> Finding:
    """A DMARC record with bad tags, with what receivers do about it (§6.6.3)."""
    policy = record.tags.get("p")
    if policy is None or policy.lower() not in _POLICIES:
        valid_rua = any(_URI.match(u) for u in record.uris("rua"))
        effect = (
            "receivers read it as p=none (RFC 7489 §6.6.3: a record without a valid p with a valid rua)"
            if valid_rua
            else "receivers apply no DMARC policy (RFC 7489 §6.6.3: no valid p and no valid rua)"
        )
    else:
        effect = "receivers may ignore the tags they cannot read"
    return finding(
        "dmarc_syntax_error",
        f"DMARC record of {policy_domain} is invalid: {record.errors[0]}; {effect}",
        record=text,
        errors=record.errors,
    )


def _external_findings(
    data: DmarcData, policy_domain: str, record: DmarcRecord
) -> tuple[list[Finding], list[str]]:
    findings: list[Finding] = []
    unknown: list[str] = []
    for tag, code in (("rua", "dmarc_rua_external_unauthorized"), ("ruf", "dmarc_ruf_external_unauthorized")):
        for uri in record.uris(tag):
            report_domain = mailto_domain(uri)
            if report_domain is None or not is_external(policy_domain, report_domain):
                continue
            lookup = data.authorisations.get(report_domain)
            name = authorisation_name(policy_domain, report_domain)
            if lookup is None or lookup.failed:
                unknown.append(lookup.reason(name, "TXT") if lookup else f"TXT {name}: not looked up")
            elif not any(is_dmarc(t) for t in lookup.records):
                findings.append(
                    finding(
                        code,
                        f"{tag} sends reports to {report_domain}, which has not authorised them "
                        f"(no v=DMARC1 record at {name}): they will not be delivered",
                        uri=uri,
                        authorisation_record=name,
                    )
                )
    return findings, unknown


class DmarcCheck(CheckKind[DmarcParams, DmarcData]):
    name = "dmarc"
    target = CheckTarget.domain
    params_model = DmarcParams
    codes = frozenset(
        {
            "dmarc_missing",
            "dmarc_multiple_records",
            "dmarc_syntax_error",
            "dmarc_policy_none",
            "dmarc_pct_partial",
            "dmarc_rua_missing",
            "dmarc_rua_external_unauthorized",
            "dmarc_ruf_external_unauthorized",
            "dmarc_sp_none",
        }
    )

    async def collect(self, ctx: CheckContext, target: str, params: DmarcParams) -> DmarcData:
        domain = normalise(target)
        data = DmarcData(domain)
        candidates = [domain]
        if organisational_guess(domain) != domain:
            candidates.append(organisational_guess(domain))
        for name in candidates:
            lookup = await ctx.dns.lookup(f"_dmarc.{name}", "TXT")
            data.lookups.append((name, lookup))
            if lookup.failed or any(is_dmarc(t) or looks_like_dmarc(t) for t in lookup.records):
                break
        found = _selected(data)
        policy_domain, records = found.domain, found.records
        if policy_domain is not None and len(records) == 1:
            record = parse_dmarc(records[0])
            report_domains = sorted(
                {
                    d
                    for tag in ("rua", "ruf")
                    for d in map(mailto_domain, record.uris(tag))
                    if d and is_external(policy_domain, d)
                }
            )
            answers = await asyncio.gather(
                *(ctx.dns.lookup(authorisation_name(policy_domain, d), "TXT") for d in report_domains)
            )
            data.authorisations = dict(zip(report_domains, answers, strict=True))
        return data

    def evaluate(self, data: DmarcData, params: DmarcParams, now: datetime) -> Evaluation:
        found = _selected(data)
        policy_domain, records = found.domain, found.records
        if found.errors:
            return evaluation([], found.errors)
        if found.broken:
            return evaluation([_broken_finding(data, found)])
        if policy_domain is None:
            return evaluation(
                [finding("dmarc_missing", f"no DMARC record at _dmarc.{data.domain}", domain=data.domain)]
            )
        if len(records) > 1:
            return evaluation(
                [
                    finding(
                        "dmarc_multiple_records",
                        f"_dmarc.{policy_domain} has {len(records)} DMARC records: receivers apply none",
                        records=records,
                    )
                ]
            )
        record = parse_dmarc(records[0])
        if record.errors:
            return evaluation([_invalid_finding(policy_domain, records[0], record)])
        tags = record.tags
        inherited = policy_domain != data.domain
        # A subdomain without its own record gets the organisation's `sp` (§6.6.3).
        policy = (tags.get("sp") if inherited else None) or tags["p"]
        findings: list[Finding] = []
        evidence = {"record": records[0], "found_at": f"_dmarc.{policy_domain}"}
        if policy.lower() == "none":
            findings.append(
                finding(
                    "dmarc_policy_none", "DMARC policy is none: spoofed mail is still delivered", **evidence
                )
            )
        else:
            pct = int(tags.get("pct", "100"))
            if pct < 100:
                findings.append(
                    finding(
                        "dmarc_pct_partial",
                        f"DMARC policy applies to only {pct}% of failing mail",
                        **evidence,
                    )
                )
        if not inherited and tags.get("sp", "").lower() == "none" and tags["p"].lower() != "none":
            findings.append(
                finding("dmarc_sp_none", "subdomains are exempt from the DMARC policy (sp=none)", **evidence)
            )
        if not record.uris("rua"):
            findings.append(
                finding(
                    "dmarc_rua_missing", "no aggregate report address (rua): nobody sees failures", **evidence
                )
            )
        external, unknown = _external_findings(data, policy_domain, record)
        return evaluation(findings + external, unknown)
