"""Domain registration expiry over RDAP (RFC 9083), the server found through the IANA
bootstrap file (RFC 9224) unless a base URL is configured."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hub.check.dns.client import normalise
from hub.check.enums import CheckTarget
from hub.check.findings import Evaluation, evaluation, finding
from hub.check.kinds.base import CheckKind, Params, TargetUpdate, expiry_fact

if TYPE_CHECKING:
    from hub.check.context import CheckContext

_BOOTSTRAP_MEMO = "rdap:bootstrap"
# Registry RDAP servers rate-limit per client address; a handful in flight per server is
# what they tolerate.
_PER_SERVER = 4


class RdapParams(Params):
    warn_days: int = 30
    error_days: int = 7


@dataclass
class RdapData:
    domain: str
    expires: datetime | None = None
    url: str | None = None
    registrar: str | None = None
    status: list[str] = field(default_factory=list)
    error: str | None = None


def base_for(bootstrap: dict[str, Any], domain: str) -> str | None:
    """The RDAP base for the longest matching label suffix, https preferred (RFC 9224 §4)."""
    labels = normalise(domain).split(".")
    best: tuple[int, str] | None = None
    for entry in bootstrap.get("services", []):
        suffixes, urls = entry[0], entry[1]
        for suffix in suffixes:
            suffix_labels = normalise(suffix).split(".")
            if labels[-len(suffix_labels) :] == suffix_labels and (
                best is None or len(suffix_labels) > best[0]
            ):
                chosen = next((u for u in urls if u.startswith("https://")), urls[0] if urls else None)
                if chosen:
                    best = (len(suffix_labels), chosen)
    return best[1] if best else None


def expiry_from(payload: dict[str, Any]) -> datetime | None:
    events = {
        e.get("eventAction"): e.get("eventDate") for e in payload.get("events", []) if isinstance(e, dict)
    }
    # Some registries only publish the registrar's view.
    text = events.get("expiration") or events.get("registrar expiration")
    if not text:
        return None
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def registrar_from(payload: dict[str, Any]) -> str | None:
    for entity in payload.get("entities", []):
        if "registrar" in entity.get("roles", []):
            for item in (entity.get("vcardArray") or [None, []])[1]:
                if item and item[0] == "fn":
                    return str(item[3])
    return None


async def _bootstrap(ctx: CheckContext) -> dict[str, Any]:
    async with ctx.memo_lock(_BOOTSTRAP_MEMO):
        if _BOOTSTRAP_MEMO not in ctx.memo:
            response = await ctx.http.get(ctx.settings.rdap_bootstrap_url)
            response.raise_for_status()
            ctx.memo[_BOOTSTRAP_MEMO] = response.json()
    return dict(ctx.memo[_BOOTSTRAP_MEMO])


async def fetch(ctx: CheckContext, domain: str) -> RdapData:
    import httpx  # loaded by ctx.http already; not at import, for `hub check --no-rdap`

    data = RdapData(normalise(domain))
    try:
        base = ctx.settings.rdap_base_url or base_for(await _bootstrap(ctx), data.domain)
    except (httpx.HTTPError, ValueError) as exc:
        data.error = f"RDAP bootstrap {ctx.settings.rdap_bootstrap_url}: {type(exc).__name__}: {exc}"
        return data
    if base is None:
        data.error = f"no RDAP service for .{data.domain.rsplit('.', 1)[-1]} in the bootstrap file"
        return data
    data.url = f"{base.rstrip('/')}/domain/{data.domain}"
    limit = ctx.memo.setdefault(f"rdap:limit:{urlsplit(base).netloc}", asyncio.Semaphore(_PER_SERVER))
    try:
        async with limit:
            response = await ctx.http.get(data.url, headers={"Accept": "application/rdap+json"})
        if response.status_code == 404:
            data.error = f"{data.url}: the registry has no record of the domain"
            return data
        response.raise_for_status()
        payload = response.json()
        data.expires = expiry_from(payload)
    except (httpx.HTTPError, ValueError) as exc:
        data.error = f"{data.url}: {type(exc).__name__}: {exc}"
        return data
    data.registrar = registrar_from(payload)
    data.status = [str(s) for s in payload.get("status", [])]
    if data.expires is None:
        data.error = f"{data.url}: no expiration event in the answer"
    return data


class DomainExpiryCheck(CheckKind[RdapParams, RdapData]):
    name = "domain_expiry"
    target = CheckTarget.domain
    params_model = RdapParams
    codes = frozenset({"domain_expired", "domain_expiring_7d", "domain_expiring_30d"})

    def target_update(self, result: Evaluation) -> TargetUpdate:
        """The registration expiry, and when it was last read (only when it was)."""
        expires = expiry_fact(result)
        return TargetUpdate(expires_on=expires, checked=expires is not None)

    async def collect(self, ctx: CheckContext, target: str, params: RdapParams) -> RdapData:
        return await fetch(ctx, target)

    def evaluate(self, data: RdapData, params: RdapParams, now: datetime) -> Evaluation:
        if data.error or data.expires is None:
            return evaluation([], [data.error or "no expiry date"])
        facts = {
            "expires_on": data.expires.date().isoformat(),
            "registrar": data.registrar,
            "rdap_url": data.url,
        }
        left = data.expires - now
        evidence = {"expires": data.expires.isoformat(), "rdap_url": data.url, "registrar": data.registrar}
        if left <= timedelta(0):
            found = finding("domain_expired", f"{data.domain} expired on {data.expires:%Y-%m-%d}", **evidence)
        elif left < timedelta(days=params.error_days):
            found = finding(
                "domain_expiring_7d", f"{data.domain} expires on {data.expires:%Y-%m-%d}", **evidence
            )
        elif left < timedelta(days=params.warn_days):
            found = finding(
                "domain_expiring_30d", f"{data.domain} expires on {data.expires:%Y-%m-%d}", **evidence
            )
        else:
            return evaluation([], facts=facts)
        return evaluation([found], facts=facts)
