"""A small authoritative DNS server on loopback: the checks tests' server and the demo
world's (so `hub demo` shows real check results without sending a query off the machine).

Real UDP and TCP on one 127.0.0.1 port (ephemeral unless chosen), run in its own thread and
event loop so async code, CLI commands (which start their own loop) and uvicorn can all
query it. Records come
from Python dicts or zone text; chosen names can time out (no answer), SERVFAIL, or be
truncated over UDP (the full answer only over TCP), and every query is recorded.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

Key = tuple[dns.name.Name, dns.rdatatype.RdataType]


def _name(text: str) -> dns.name.Name:
    return dns.name.from_text(text.lower())


@dataclass
class DnsServer:
    host: str = "127.0.0.1"
    # An authoritative server answers an alias with the target's data only when it holds
    # the target; False makes it answer with the CNAME alone, as NSD does out of zone.
    chase_cnames: bool = True
    port: int = 0
    records: dict[Key, dns.rrset.RRset] = field(default_factory=dict)
    timeout_names: set[str] = field(default_factory=set)
    servfail_names: set[str] = field(default_factory=set)
    truncate_names: set[str] = field(default_factory=set)
    queries: list[tuple[str, str, str]] = field(default_factory=list)
    # Tests count queries; a long-running demo server must not grow a list forever.
    record_queries: bool = True
    # Exceptions raised while answering: the fixture fails the test if any.
    errors: list[BaseException] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._existing: set[dns.name.Name] = set()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # --- data -------------------------------------------------------------------------

    def add(self, name: str, rdtype: str, *rdata: str, ttl: int = 300) -> None:
        owner = _name(name)
        kind = dns.rdatatype.from_text(rdtype)
        rrset = self.records.get((owner, kind)) or dns.rrset.RRset(owner, dns.rdataclass.IN, kind)
        rrset.update_ttl(ttl)
        for text in rdata:
            rrset.add(
                dns.rdata.from_text(dns.rdataclass.IN, kind, text, origin=dns.name.root, relativize=False),
                ttl,
            )
        with self._lock:
            self.records[(owner, kind)] = rrset
            node = owner
            while node != dns.name.root:
                self._existing.add(node)
                node = node.parent()

    def add_records(self, origin: str, records: Mapping[str, Iterable[str]]) -> None:
        """`{"@": ["MX 10 mx.example.test.", "TXT \\"v=spf1 -all\\""], "www": ["A 192.0.2.1"]}`:
        owner names relative to `origin`, each value "TYPE rdata"."""
        for owner, entries in records.items():
            name = origin if owner == "@" else f"{owner}.{origin}"
            for entry in entries:
                rdtype, _, rdata = entry.strip().partition(" ")
                self.add(name, rdtype, rdata.strip())

    def add_zone_text(self, origin: str, text: str) -> None:
        zone = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False)
        for name, ttl, rdata in zone.iterate_rdatas():
            self.add(name.to_text(), dns.rdatatype.to_text(rdata.rdtype), rdata.to_text(), ttl=ttl)

    def count(self, name: str, rdtype: str | None = None) -> int:
        wanted = name.lower().rstrip(".")
        return sum(1 for n, t, _ in self.queries if n == wanted and (rdtype is None or t == rdtype))

    def query_counts(self) -> Counter[tuple[str, str]]:
        return Counter((n, t) for n, t, _ in self.queries)

    def snapshot(self) -> DnsServer:
        """A server, not started, that answers as this one does now (records, timeouts,
        SERVFAILs, truncation) on a port of its own and records no queries."""
        twin = DnsServer(
            host=self.host,
            chase_cnames=self.chase_cnames,
            records=dict(self.records),
            timeout_names=set(self.timeout_names),
            servfail_names=set(self.servfail_names),
            truncate_names=set(self.truncate_names),
            record_queries=False,
        )
        twin._existing = set(self._existing)
        return twin

    # --- answers ----------------------------------------------------------------------

    def answer(self, wire: bytes, over_tcp: bool) -> bytes | None:
        try:
            return self._answer(wire, over_tcp)
        except Exception as exc:  # surfaced by the fixture instead of lost in the thread
            self.errors.append(exc)
            return None

    def _answer(self, wire: bytes, over_tcp: bool) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        question = query.question[0]
        qname, qtype = question.name, question.rdtype
        plain = qname.to_text().rstrip(".").lower()
        if self.record_queries:
            with self._lock:
                self.queries.append((plain, dns.rdatatype.to_text(qtype), "tcp" if over_tcp else "udp"))
        if plain in self.timeout_names:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if plain in self.servfail_names:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        if plain in self.truncate_names and not over_tcp:
            response.flags |= dns.flags.TC
            return response.to_wire()
        self._fill(response, _name(plain), qtype)
        limit = 65535 if over_tcp else max(512, query.payload if query.edns >= 0 else 512)
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.AA | dns.flags.TC
            return truncated.to_wire()

    def _fill(
        self, response: dns.message.Message, name: dns.name.Name, qtype: dns.rdatatype.RdataType
    ) -> None:
        current = name
        for _ in range(10):
            rrset = self.records.get((current, qtype))
            if rrset is not None:
                response.answer.append(rrset)
                return
            alias = self.records.get((current, dns.rdatatype.CNAME))
            if alias is None or qtype == dns.rdatatype.CNAME:
                break
            response.answer.append(alias)
            current = alias[0].target
            if not self.chase_cnames:
                return
        if current not in self._existing:
            response.set_rcode(dns.rcode.NXDOMAIN)

    # --- lifecycle --------------------------------------------------------------------

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> DnsServer:
        ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True, name="dns-server")
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("DNS server did not start")
        if self._startup_error is not None:
            self._thread.join(5)
            raise self._startup_error
        return self

    def stop(self) -> None:
        """Stops serving; both sockets are closed when this returns."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(5)

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self.serve(ready))
        except BaseException as exc:  # e.g. a chosen port already taken: raised by start()
            self._startup_error = exc
            ready.set()
        finally:
            loop.close()

    async def serve(self, ready: threading.Event) -> None:
        """Listens on the current event loop until `stop()`; sets `ready` (anything with a
        `set()`) once the port is bound. `start()` runs it in a thread of its own."""
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                reply = server.answer(data, over_tcp=False)
                if reply is not None:
                    self.transport.sendto(reply, addr)  # type: ignore[attr-defined]

        async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    length = int.from_bytes(await reader.readexactly(2), "big")
                    reply = server.answer(await reader.readexactly(length), over_tcp=True)
                    if reply is None:
                        continue
                    writer.write(len(reply).to_bytes(2, "big") + reply)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        chosen = self.port
        for _ in range(20):  # UDP and TCP need the same free port number
            udp, _protocol = await loop.create_datagram_endpoint(Udp, local_addr=(self.host, chosen))
            self.port = udp.get_extra_info("sockname")[1]
            try:
                tcp_server = await asyncio.start_server(tcp, self.host, self.port)
                break
            except OSError:
                udp.close()
                if chosen:
                    raise
                self.port = 0
        else:
            raise RuntimeError("no free port for UDP and TCP")
        ready.set()
        await self._stopping.wait()
        udp.close()
        tcp_server.close()
        await tcp_server.wait_closed()
        await asyncio.sleep(0)  # lets the UDP transport close its socket before the loop ends


# The name the checks tests have always used.
DnsTestServer = DnsServer
