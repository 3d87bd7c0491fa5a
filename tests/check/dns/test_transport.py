"""The multiplexed UDP transport against real sockets on loopback: many queries in flight
on one socket each get their own answer, answers with the wrong id or question are
dropped, a silent server is a timeout, and the fast answer reader prints every record
exactly as dnspython does."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator

import dns.flags
import dns.message
import dns.rrset
import pytest

from hub.check.dns import wire
from hub.check.dns.client import DnsClient, Nameserver, parse_nameserver
from tests.check.dns_server import DnsTestServer


def _response(qname: str, rdtype: str, *answers: tuple[str, str, str], rcode: int = 0) -> dns.message.Message:
    query = dns.message.make_query(qname, rdtype)
    response = dns.message.make_response(query)
    response.set_rcode(rcode)
    for owner, kind, rdata in answers:
        response.answer.append(dns.rrset.from_text(owner.rstrip(".") + ".", 300, "IN", kind, rdata))
    return response


ANSWERS = {
    "A": _response("a.test", "A", ("a.test", "A", "192.0.2.1"), ("a.test", "A", "192.0.2.2")),
    "AAAA v4-mapped": _response("a.test", "AAAA", ("a.test", "AAAA", "::ffff:192.0.2.1")),
    "AAAA": _response("a.test", "AAAA", ("a.test", "AAAA", "2001:db8::25")),
    "TXT split, utf-8": _response(
        "t.test", "TXT", ("t.test", "TXT", '"v=spf1 " "ip4:192.0.2.0/24 -all" "é"')
    ),
    "TXT several": _response("t.test", "TXT", ("t.test", "TXT", '"one"'), ("t.test", "TXT", '"two"')),
    "MX": _response(
        "m.test", "MX", ("m.test", "MX", "10 MX1.Provider.test."), ("m.test", "MX", "20 mx2.m.test.")
    ),
    "null MX": _response("m.test", "MX", ("m.test", "MX", "0 .")),
    "CNAME chain": _response(
        "s._domainkey.c.test",
        "TXT",
        ("s._domainkey.c.test", "CNAME", "s-c._domainkey.p.test."),
        ("s-c._domainkey.p.test", "TXT", '"v=DKIM1; p=abc"'),
    ),
    "PTR": _response("1.2.0.192.in-addr.arpa", "PTR", ("1.2.0.192.in-addr.arpa", "PTR", "mx.c.test.")),
    "NS": _response("c.test", "NS", ("c.test", "NS", "ns1.c.test."), ("c.test", "NS", "ns2.c.test.")),
    "SOA": _response("c.test", "SOA", ("c.test", "SOA", "ns1.c.test. h.c.test. 1 2 3 4 5")),
    "CAA": _response("c.test", "CAA", ("c.test", "CAA", '0 issue "letsencrypt.org"')),
    "CAA critical, several, escapes": _response(
        "c.test",
        "CAA",
        ("c.test", "CAA", '128 tbs "Unknown"'),
        ("c.test", "CAA", r'0 iodef "mailto:Sec@C.test"'),
        ("c.test", "CAA", r'0 issue "ca.test; a=\"q\"\\ \233\009 x"'),
        ("c.test", "CAA", '0 issuewild ";"'),
    ),
    "SOA big numbers": _response(
        "c.test", "SOA", ("c.test", "SOA", "NS1.c.test. Host\\.Master.c.test. 4294967295 0 1 2 2147483648")
    ),
    "label needing escapes": _response("c.test", "MX", ("c.test", "MX", r"10 odd\.label.c.test.")),
    "NXDOMAIN": _response("gone.test", "TXT", rcode=3),
}


@pytest.mark.parametrize("label", sorted(ANSWERS))
def test_answer_reader_gives_exactly_what_dnspython_gives(label: str) -> None:
    message = ANSWERS[label]
    assert wire.parse_answer(message.to_wire()) == wire.from_message(message)


def test_truncated_flag_is_read() -> None:
    message = _response("big.test", "TXT")
    message.flags |= dns.flags.TC
    assert wire.parse_answer(message.to_wire()).truncated


async def test_many_concurrent_queries_on_one_socket_each_get_their_own_answer(
    dns_server: DnsTestServer,
) -> None:
    for i in range(600):
        dns_server.add(f"host{i}.test", "A", f"10.{i // 250}.{i % 250}.1")
    # 128 in flight at a time: more would overflow the test server's own receive buffer.
    client = DnsClient([parse_nameserver(dns_server.address)], timeout=2, concurrency=128)
    lookups = await asyncio.gather(*(client.lookup(f"host{i}.test", "A") for i in range(600)))
    assert [lk.records for lk in lookups] == [(f"10.{i // 250}.{i % 250}.1",) for i in range(600)]
    assert client.stats.queries == 600 and client.stats.timeouts == 0
    # One socket for the whole run: every query left from the same source port.
    assert len(client._muxes) == 1
    client.close()


class _RogueServer:
    """A UDP server on loopback whose replies are built by `reply(query) -> [datagrams]`."""

    def __init__(self, reply: Callable[[dns.message.Message], list[bytes]]) -> None:
        self.reply = reply
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            for datagram in self.reply(dns.message.from_wire(data)):
                self.sock.sendto(datagram, addr)

    def __enter__(self) -> _RogueServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def _answer(
    query: dns.message.Message, address: str, qid: int | None = None, qname: str | None = None
) -> bytes:
    response = dns.message.make_response(query)
    name = qname or query.question[0].name.to_text()
    if qname:
        response.question = [dns.rrset.RRset(dns.name.from_text(qname), 1, 1)]
    response.answer.append(dns.rrset.from_text(name, 300, "IN", "A", address))
    if qid is not None:
        response.id = qid
    return response.to_wire()


@pytest.fixture
def spoofing_server() -> Iterator[_RogueServer]:
    # Before the real answer: one with another id, one for another question with our id.
    def reply(query: dns.message.Message) -> list[bytes]:
        return [
            _answer(query, "203.0.113.66", qid=(query.id + 1) & 0xFFFF),
            _answer(query, "203.0.113.67", qname="evil.test."),
            _answer(query, "192.0.2.10"),
        ]

    with _RogueServer(reply) as server:
        yield server


async def test_answers_with_another_id_or_question_are_ignored(spoofing_server: _RogueServer) -> None:
    client = DnsClient([Nameserver("127.0.0.1", spoofing_server.port)], timeout=1, attempts=1)
    lookup = await client.lookup("real.test", "A")
    assert lookup.records == ("192.0.2.10",)
    # Both forgeries arrived before the answer (the same socket, in order) and were dropped.
    await asyncio.sleep(0.05)
    assert next(iter(client._muxes.values())).ignored == 2
    client.close()


async def test_only_forged_answers_is_a_timeout_not_an_answer() -> None:
    def reply(query: dns.message.Message) -> list[bytes]:
        return [_answer(query, "203.0.113.66", qid=(query.id + 7) & 0xFFFF)]

    with _RogueServer(reply) as server:
        client = DnsClient([Nameserver("127.0.0.1", server.port)], timeout=0.3, attempts=1)
        started = time.monotonic()
        lookup = await client.lookup("real.test", "A")
        client.close()
    assert lookup.failed and "timeout after 0.3s" in (lookup.error or "")
    assert time.monotonic() - started < 1.5


async def test_nothing_listening_fails_fast_instead_of_waiting_for_the_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = DnsClient([Nameserver("127.0.0.1", port)], timeout=5, attempts=1)
    started = time.monotonic()
    lookup = await client.lookup("real.test", "A")
    client.close()
    assert lookup.failed and "ConnectionRefusedError" in (lookup.error or "")
    assert time.monotonic() - started < 2


async def test_truncated_answers_among_many_go_to_tcp_and_the_rest_stay_on_udp(
    dns_server: DnsTestServer,
) -> None:
    for i in range(50):
        dns_server.add(f"n{i}.test", "TXT", f'"record {i}"')
    dns_server.truncate_names.update({"n7.test", "n21.test"})
    client = DnsClient([parse_nameserver(dns_server.address)], timeout=2)
    lookups = await asyncio.gather(*(client.lookup(f"n{i}.test", "TXT") for i in range(50)))
    client.close()
    assert [lk.records for lk in lookups] == [(f"record {i}",) for i in range(50)]
    assert client.stats.tcp_fallbacks == 2
    assert sorted(n for n, _, proto in dns_server.queries if proto == "tcp") == ["n21.test", "n7.test"]


async def test_query_limit_bounds_holders_and_survives_cancelled_waiters() -> None:
    from hub.check.dns.limit import FifoLimit

    limit = FifoLimit(3)
    held = peak = 0

    async def hold(seconds: float) -> None:
        nonlocal held, peak
        async with limit:
            held += 1
            peak = max(peak, held)
            await asyncio.sleep(seconds)
            held -= 1

    waiting = [asyncio.ensure_future(hold(0.05)) for _ in range(10)]
    await asyncio.sleep(0.01)
    for task in waiting[5:8]:  # waiters cancelled while queued
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    assert peak == 3 and held == 0
    await asyncio.wait_for(asyncio.gather(*(hold(0) for _ in range(6))), 1)  # no slot leaked
    assert limit._held == 0 and not limit._waiters
