"""DKIM keys (RFC 6376 §3.6.1) at the selectors a domain is known to use, its mail
provider's, and a default list: is there a key, is it strong enough, is it well-formed."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hub.check.dns.client import Lookup, normalise
from hub.check.enums import CheckTarget
from hub.check.findings import Evaluation, Finding, evaluation, finding
from hub.check.kinds.base import CheckKind, DomainTarget, Params, Target
from hub.check.kinds.mail_role import sends_no_mail
from hub.check.kinds.tags import parse_tags
from hub.check.settings import PROVIDER_DKIM_SELECTORS

if TYPE_CHECKING:
    from hub.check.context import CheckContext

MIN_RSA_BITS = 1024  # RFC 8301 §3.2: verifiers MUST NOT accept shorter keys


class DkimParams(Params):
    selectors: list[str] = []
    # A MailProvider value: adds that provider's usual selectors.
    provider: str | None = None
    use_default_selectors: bool = True


@dataclass
class DkimData:
    domain: str
    selectors: dict[str, Lookup] = field(default_factory=dict)
    txt: Lookup | None = None  # the domain's own TXT (its SPF)


@dataclass
class DkimKey:
    selector: str
    record: str
    key_type: str = "rsa"
    bits: int | None = None
    revoked: bool = False
    errors: list[str] = field(default_factory=list)


def selector_list(params: DkimParams, defaults: list[str]) -> list[str]:
    names = list(params.selectors)
    if params.provider:
        names += PROVIDER_DKIM_SELECTORS.get(params.provider, ())
    if params.use_default_selectors:
        names += defaults
    return list(dict.fromkeys(s.strip().lower() for s in names if s.strip()))


def looks_like_key_record(text: str) -> bool:
    # A wildcard TXT (an SPF record at *.example.com) also answers selector names: only
    # records that claim to be DKIM keys are judged as such.
    pairs, _ = parse_tags(text)
    names = {name for name, _ in pairs}
    return "p" in names or any(name == "v" and value.upper() == "DKIM1" for name, value in pairs)


def parse_key(selector: str, text: str) -> DkimKey:
    pairs, errors = parse_tags(text)
    key = DkimKey(selector, text, errors=list(errors))
    tags = dict(pairs)
    if "v" in tags and (pairs[0][0] != "v" or tags["v"] != "DKIM1"):
        key.errors.append("'v=DKIM1', when present, must be the first tag")
    key.key_type = tags.get("k", "rsa").lower()
    if key.key_type not in ("rsa", "ed25519"):
        key.errors.append(f"unsupported key type k={key.key_type!r}")
    if "p" not in tags:
        key.errors.append("the required 'p' tag is missing")
        return key
    material = "".join(tags["p"].split())
    if material == "":
        key.revoked = True
        return key
    try:
        raw = base64.b64decode(material, validate=True)
    except (binascii.Error, ValueError):
        key.errors.append("p= is not valid base64")
        return key
    if key.key_type == "ed25519":
        if len(raw) != 32:
            key.errors.append(f"an Ed25519 key is 32 bytes, p= holds {len(raw)}")
        key.bits = 256
        return key
    # Imported here: a run that looks up no DKIM key does not load cryptography.
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        public = load_der_public_key(raw)
    except ValueError:
        key.errors.append("p= is not a DER-encoded public key")
        return key
    if not isinstance(public, rsa.RSAPublicKey):
        key.errors.append("k=rsa but p= holds another kind of key")
        return key
    key.bits = public.key_size
    return key


class DkimCheck(CheckKind[DkimParams, DkimData]):
    name = "dkim"
    target = CheckTarget.domain
    params_model = DkimParams
    codes = frozenset({"dkim_missing", "dkim_weak_key", "dkim_revoked", "dkim_syntax_error"})

    async def collect(self, ctx: CheckContext, target: str, params: DkimParams) -> DkimData:
        domain = normalise(target)
        names = selector_list(params, ctx.settings.dkim_default_selectors)
        txt, *answers = await asyncio.gather(
            ctx.dns.lookup(domain, "TXT"), *(ctx.dns.lookup(f"{s}._domainkey.{domain}", "TXT") for s in names)
        )
        return DkimData(domain, dict(zip(names, answers, strict=True)), txt)

    def params_for(self, target: Target, params: Mapping[str, Any]) -> dict[str, Any]:
        """The domain's known selectors after the check's own, and its mail provider's
        selectors unless the check names a provider."""
        merged = dict(params)
        if not isinstance(target, DomainTarget):
            return merged
        own = merged.get("selectors", [])
        if isinstance(own, list):  # anything else is left for validation to refuse
            merged["selectors"] = [*own, *target.dkim_selectors]
        if target.mail_provider in PROVIDER_DKIM_SELECTORS:
            merged.setdefault("provider", target.mail_provider)
        return merged

    def evaluate(self, data: DkimData, params: DkimParams, now: datetime) -> Evaluation:
        findings: list[Finding] = []
        unknown: list[str] = []
        usable: list[str] = []
        published = False
        for selector, lookup in data.selectors.items():
            name = f"{selector}._domainkey.{data.domain}"
            if lookup.failed:
                unknown.append(lookup.reason(name, "TXT"))
                continue
            for text in filter(looks_like_key_record, lookup.records):
                published = True
                key = parse_key(selector, text)
                evidence = {"selector": selector, "name": name, "record": text}
                if key.errors:
                    findings.append(
                        finding(
                            "dkim_syntax_error", f"DKIM key {name} is invalid: {key.errors[0]}", **evidence
                        )
                    )
                elif key.revoked:
                    findings.append(
                        finding("dkim_revoked", f"DKIM key {name} is revoked (empty p=)", **evidence)
                    )
                else:
                    usable.append(selector)
                    if key.key_type == "rsa" and key.bits is not None and key.bits < MIN_RSA_BITS:
                        findings.append(
                            finding(
                                "dkim_weak_key",
                                f"DKIM key {name} is RSA {key.bits} bits (receivers ignore keys under "
                                f"{MIN_RSA_BITS})",
                                bits=key.bits,
                                **evidence,
                            )
                        )
        only_revoked = not usable and not any(f.code == "dkim_syntax_error" for f in findings)
        if only_revoked and data.txt is not None and sends_no_mail(data.txt):
            # A domain that sends no mail needs no key: revoked keys are how it should look.
            return evaluation(findings, unknown, facts={"dkim_selectors_found": usable, "sends_mail": False})
        if only_revoked and not unknown:
            findings.append(
                finding(
                    "dkim_missing",
                    f"none of the {len(data.selectors)} selectors tried publishes a DKIM key",
                    selectors=list(data.selectors),
                    revoked_only=published,
                )
            )
        return evaluation(findings, unknown, facts={"dkim_selectors_found": usable})
