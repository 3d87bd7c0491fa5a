"""DNS lookups for the checks: configurable nameservers and ports, a per-query timeout,
TCP fallback on truncation, a per-run cache shared by every check, bounded concurrency.

Lookups return a `Lookup` (never raise): NXDOMAIN and NODATA are answers the checks judge
(an SPF "void lookup" is either), while timeouts, SERVFAIL and network errors are `error`
with a reason, which the checks turn into `unknown`, never into a failure.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field
from typing import Literal

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.reversename

from hub.check.dns import wire
from hub.check.dns.limit import FifoLimit
from hub.check.dns.transport import UdpMux
from hub.check.settings import CheckSettings

Outcome = Literal["ok", "nxdomain", "nodata", "error"]

# Longest alias chain followed; real chains are 1-3 (a provider's DKIM CNAME), loops are not.
_MAX_CNAME_CHAIN = 8


@dataclass(frozen=True, slots=True)
class Lookup:
    """One (name, type) lookup. `records` are presentation text, except TXT which is the
    decoded concatenation of the record's strings (how SPF, DMARC and DKIM read TXT)."""

    outcome: Outcome
    records: tuple[str, ...] = ()
    # Alias names followed from the queried name, in order.
    cnames: tuple[str, ...] = ()
    error: str | None = None

    @property
    def void(self) -> bool:
        return self.outcome in ("nxdomain", "nodata")

    @property
    def failed(self) -> bool:
        return self.outcome == "error"

    def reason(self, name: str, rdtype: str) -> str:
        return f"{rdtype} {name}: {self.error or self.outcome}"


@dataclass(frozen=True, slots=True)
class Nameserver:
    host: str
    port: int = 53

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_nameserver(text: str) -> Nameserver:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 address."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else 53
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = int(port_text)
    else:
        host, port = text, 53
    ipaddress.ip_address(host)  # a nameserver is an address: resolving it would need DNS
    if not 1 <= port <= 65535:
        raise ValueError(f"port out of range in {text!r}")
    return Nameserver(host, port)


def system_nameservers() -> list[Nameserver]:
    return [Nameserver(str(ns)) for ns in dns.resolver.Resolver().nameservers]


def normalise(name: str) -> str:
    return name.strip().rstrip(".").lower()


def reverse_name(address: str) -> str:
    return normalise(dns.reversename.from_address(address).to_text())


@dataclass
class DnsStats:
    queries: int = 0
    tcp_fallbacks: int = 0
    cache_hits: int = 0
    timeouts: int = 0


@dataclass
class DnsClient:
    nameservers: list[Nameserver]
    timeout: float = 2.0
    attempts: int = 2
    concurrency: int = 256
    stats: DnsStats = field(default_factory=DnsStats)

    def __post_init__(self) -> None:
        if not self.nameservers:
            raise ValueError("no nameserver configured")
        self._limit = FifoLimit(self.concurrency)
        # One task per (name, type): concurrent checks asking the same question (a mail
        # provider's SPF include for 500 clients) share one query and its answer.
        # A finished lookup replaces its task: a run over 10,000 domains keeps ~300,000
        # answers, and a small frozen Lookup costs far less memory than a Task.
        self._cache: dict[tuple[str, str], asyncio.Task[Lookup] | Lookup] = {}
        self._muxes: dict[Nameserver, UdpMux] = {}

    @classmethod
    def from_settings(cls, settings: CheckSettings) -> DnsClient:
        """The client the settings describe (no nameserver configured: the system's)."""
        nameservers = [parse_nameserver(ns) for ns in settings.dns_nameservers] or system_nameservers()
        return cls(
            nameservers,
            timeout=settings.dns_timeout,
            attempts=settings.dns_attempts,
            concurrency=settings.dns_concurrency,
        )

    async def lookup(self, name: str, rdtype: str) -> Lookup:
        key = (normalise(name), rdtype.upper())
        cached = self._cache.get(key)
        if isinstance(cached, Lookup):
            self.stats.cache_hits += 1
            return cached
        if cached is None:
            cached = asyncio.ensure_future(self._resolve(key[0], key[1], 0))
            self._cache[key] = cached
            cached.add_done_callback(lambda task: self._settle(key, task))
        else:
            self.stats.cache_hits += 1
        # Shielded: one caller giving up must not cancel the answer others wait for.
        return await asyncio.shield(cached)

    def _settle(self, key: tuple[str, str], task: asyncio.Task[Lookup]) -> None:
        if task.cancelled() or task.exception() is not None:
            self._cache.pop(key, None)  # let the next caller try again
        else:
            self._cache[key] = task.result()

    async def addresses(self, name: str) -> tuple[list[str], list[Lookup]]:
        """A and AAAA of a name, and both lookups (for the evidence and the errors)."""
        v4, v6 = await asyncio.gather(self.lookup(name, "A"), self.lookup(name, "AAAA"))
        return [*v4.records, *v6.records], [v4, v6]

    async def _resolve(self, name: str, rdtype: str, depth: int) -> Lookup:
        try:
            question = wire.question_bytes(name, dns.rdatatype.from_text(rdtype))
        except (dns.exception.DNSException, ValueError) as exc:
            return Lookup("error", error=f"invalid name: {exc}")
        response = await self._exchange(name, question)
        if isinstance(response, str):
            return Lookup("error", error=response)
        records, cnames_found = _follow_aliases(response, name, int(dns.rdatatype.from_text(rdtype)))
        cnames = tuple(cnames_found)
        if records is not None:
            return Lookup("ok", tuple(records), cnames)
        if response.rcode == dns.rcode.NXDOMAIN:
            return Lookup("nxdomain", cnames=cnames)
        if cnames and depth < _MAX_CNAME_CHAIN:
            # An authoritative server does not chase an alias out of its zones: ask for the
            # target ourselves (through the cache: the target is often shared).
            target = await self.lookup(cnames[-1], rdtype)
            return Lookup(target.outcome, target.records, cnames + target.cnames, target.error)
        if cnames:
            return Lookup("error", cnames=cnames, error="CNAME chain too long")
        return Lookup("nodata")

    async def _exchange(self, name: str, question: bytes) -> wire.Answer | str:
        errors: list[str] = []
        answered: set[Nameserver] = set()
        for _attempt in range(self.attempts):
            for ns in self.nameservers:
                if ns in answered:
                    continue
                answer = await self._ask(question, ns)
                if isinstance(answer, str):
                    errors.append(answer)  # timeouts and network errors are worth a retry
                    continue
                rcode = answer.rcode
                if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                    return answer
                # SERVFAIL/REFUSED are answers: asking the same server again will not help.
                errors.append(f"{dns.rcode.to_text(dns.rcode.Rcode(rcode))} from {ns}")
                answered.add(ns)
        return "; ".join(dict.fromkeys(errors))

    def _mux(self, ns: Nameserver) -> UdpMux:
        mux = self._muxes.get(ns)
        if mux is None:
            mux = self._muxes[ns] = UdpMux(ns.host, ns.port)
        return mux

    async def _ask(self, question: bytes, ns: Nameserver) -> wire.Answer | str:
        async with self._limit:
            self.stats.queries += 1
            try:
                try:
                    raw = await self._mux(ns).query(question, self.timeout)
                    answer = wire.parse_answer(raw)
                    if not answer.truncated:
                        return answer
                except dns.message.Truncated:
                    pass
                self.stats.tcp_fallbacks += 1
                return await self._ask_tcp(question, ns)
            except dns.exception.Timeout:
                self.stats.timeouts += 1
                return f"timeout after {self.timeout:g}s from {ns}"
            except (OSError, EOFError, dns.exception.DNSException) as exc:
                return f"{type(exc).__name__} from {ns}: {exc}"

    async def _ask_tcp(self, question: bytes, ns: Nameserver) -> wire.Answer:
        qname, _ = dns.name.from_wire(question, 0)
        rdtype = int.from_bytes(question[-4:-2], "big")
        query = dns.message.make_query(
            qname, dns.rdatatype.RdataType(rdtype), use_edns=0, payload=wire.EDNS_PAYLOAD
        )
        response = await dns.asyncquery.tcp(query, ns.host, timeout=self.timeout, port=ns.port)
        return wire.from_message(response)

    def close(self) -> None:
        for mux in self._muxes.values():
            mux.close()
        self._muxes.clear()


def _follow_aliases(response: wire.Answer, qname: str, rdtype: int) -> tuple[list[str] | None, list[str]]:
    name = qname
    chain: list[str] = []
    for _ in range(_MAX_CNAME_CHAIN + 1):
        records = response.find(name, rdtype)
        if records or rdtype == wire.CNAME:
            return (records or None), chain
        alias = response.find(name, wire.CNAME)
        if not alias:
            return None, chain
        name = normalise(alias[0])
        chain.append(name)
    return None, chain
