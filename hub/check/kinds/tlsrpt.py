"""SMTP TLS reporting (RFC 8460): senders report TLS failures only to domains that ask."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from hub.check.dns.client import Lookup, normalise
from hub.check.enums import CheckTarget
from hub.check.findings import Evaluation, evaluation, finding
from hub.check.kinds.base import CheckKind, Params
from hub.check.kinds.mail_role import accepts_no_mail
from hub.check.kinds.tags import parse_tags

if TYPE_CHECKING:
    from hub.check.context import CheckContext

_VERSION = re.compile(r"^\s*v\s*=\s*TLSRPTv1\s*(;|$)")


class TlsRptParams(Params):
    pass


@dataclass
class TlsRptData:
    domain: str
    lookup: Lookup
    mx: Lookup | None = None


def tlsrpt_errors(text: str) -> list[str]:
    pairs, errors = parse_tags(text)
    uris = [u.strip() for u in dict(pairs).get("rua", "").split(",") if u.strip()]
    if not uris:
        errors.append("the required 'rua' tag is missing or empty")
    errors += [
        f"rua entry {u!r} is neither mailto: nor https:"
        for u in uris
        if not u.startswith(("mailto:", "https:"))
    ]
    return errors


class TlsRptCheck(CheckKind[TlsRptParams, TlsRptData]):
    name = "tlsrpt"
    target = CheckTarget.domain
    params_model = TlsRptParams
    codes = frozenset({"tlsrpt_missing", "tlsrpt_syntax_error"})

    async def collect(self, ctx: CheckContext, target: str, params: TlsRptParams) -> TlsRptData:
        domain = normalise(target)
        policy, mx = await asyncio.gather(
            ctx.dns.lookup(f"_smtp._tls.{domain}", "TXT"), ctx.dns.lookup(domain, "MX")
        )
        return TlsRptData(domain, policy, mx)

    def evaluate(self, data: TlsRptData, params: TlsRptParams, now: datetime) -> Evaluation:
        name = f"_smtp._tls.{data.domain}"
        if data.lookup.failed:
            return evaluation([], [data.lookup.reason(name, "TXT")])
        records = [t for t in data.lookup.records if _VERSION.match(t)]
        if not records:
            if data.mx is not None and accepts_no_mail(data.mx):
                return evaluation([], facts={"accepts_mail": False})
            return evaluation([finding("tlsrpt_missing", f"no TLS-RPT record at {name}", name=name)])
        if len(records) > 1:
            # RFC 8460 §3: with more than one record senders assume there is none.
            return evaluation(
                [
                    finding(
                        "tlsrpt_syntax_error", f"{name} has {len(records)} TLS-RPT records", records=records
                    )
                ]
            )
        errors = tlsrpt_errors(records[0])
        if errors:
            return evaluation(
                [finding("tlsrpt_syntax_error", f"TLS-RPT record is invalid: {errors[0]}", record=records[0])]
            )
        return evaluation([])
