"""The wire side of the checks' DNS client: queries built by hand, many in flight over one
UDP socket per nameserver, answers matched back by query id and question, and a small
reader for the answer section.

Why not `dns.asyncquery.udp` per query: it opens a socket per query and parses every
answer into dnspython objects; profiling a bulk run showed those two as most of the CPU
(about 0.7 ms per lookup, so one process stopped near 1,000 lookups/s). Here a lookup is
a `sendto`, a dict lookup when the datagram arrives, and a read of the few record types
the checks ask for. Anything else (another type in the answer, a name needing escapes
in presentation form, a malformed message) goes through dnspython's parser, so the text
of every record is exactly what dnspython would print.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import weakref
from dataclasses import dataclass, field

import dns.exception
import dns.ipv6
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, CAA = 1, 2, 5, 6, 12, 15, 16, 28, 257
_CLASS_IN = 1
_QR, _TC = 0x8000, 0x0200
# EDNS(0) OPT record with a 1232-byte UDP payload (DNS flag day 2020): routine answers stay
# on UDP without IP fragmentation, TCP only when the server says it truncated.
EDNS_PAYLOAD = 1232
_OPT = b"\x00" + struct.pack("!HHIH", 41, EDNS_PAYLOAD, 0, 0)
# Bytes dnspython prints in a label without escaping (see dns.name._escapify).
_PLAIN = frozenset(range(0x21, 0x7F)) - frozenset(b'"().;\\@$')
_FAST_TYPES = frozenset({A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, CAA})
_ESCAPED = frozenset(b'"\\')


def _escapify(raw: bytes) -> str:
    """dnspython's `dns.rdata._escapify`: a quoted string's presentation form."""
    if _PRINTABLE.issuperset(raw):
        return raw.decode("ascii")
    return "".join(
        "\\" + chr(c) if c in _ESCAPED else chr(c) if 0x20 <= c < 0x7F else f"\\{c:03d}" for c in raw
    )


_PRINTABLE = frozenset(range(0x20, 0x7F)) - _ESCAPED


@dataclass(slots=True)
class Answer:
    """What the checks use of a response: the rcode, and the answer section as
    (owner, type, class, text) with owners lower-case without the final dot and texts as
    dnspython's `to_text()` (TXT: its strings joined and decoded)."""

    rcode: int
    truncated: bool = False
    records: list[tuple[str, int, int, str]] = field(default_factory=list)

    def find(self, owner: str, rdtype: int) -> list[str]:
        return [text for o, t, c, text in self.records if o == owner and t == rdtype and c == _CLASS_IN]


class _Unusual(Exception):
    """The fast reader declines; dnspython parses the message instead."""


def encode_name(name: str) -> bytes:
    """Wire form of a normalised (lower-case, no final dot) name."""
    if name.isascii() and "\\" not in name:
        labels = name.encode().split(b".") if name else []
        if all(0 < len(label) < 64 for label in labels) and len(name) < 254:
            return b"".join(bytes((len(label),)) + label for label in labels) + b"\x00"
    return dns.name.from_text(name).to_wire() or b""


def build_query(qid: int, question: bytes) -> bytes:
    """A recursion-desired query with EDNS; `question` is name + type + class."""
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1) + question + _OPT


def question_bytes(name: str, rdtype: int) -> bytes:
    return encode_name(name) + struct.pack("!HH", rdtype, _CLASS_IN)


def _read_name(wire: bytes, offset: int) -> tuple[str, int]:
    labels: list[str] = []
    end = -1
    jumps = 0
    while True:
        length = wire[offset]
        if length == 0:
            offset += 1
            break
        if length >= 0xC0:
            if end < 0:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | wire[offset + 1]
            jumps += 1
            if jumps > 64:
                raise _Unusual("compression loop")
            continue
        if length > 63:
            raise _Unusual("label type")
        label = wire[offset + 1 : offset + 1 + length]
        if len(label) != length or not _PLAIN.issuperset(label):
            raise _Unusual("label needs escaping")
        labels.append(label.decode("ascii"))
        offset += 1 + length
    return ".".join(labels), (end if end >= 0 else offset)


def _absolute(name: str) -> str:
    return name + "." if name else "."


# The hot path of every lookup (ADR 0002): one branch per record type it reads, no call per
# record; splitting it costs measurable time per answer.
def parse_fast(wire: bytes) -> Answer:  # noqa: C901
    _qid, flags, qdcount, ancount = struct.unpack_from("!HHHH", wire)
    if not flags & _QR:
        raise _Unusual("not a response")
    answer = Answer(flags & 0xF, bool(flags & _TC))
    offset = 12
    for _ in range(qdcount):
        _, offset = _read_name(wire, offset)
        offset += 4
    seen: set[tuple[str, int, int, str]] = set()
    for _ in range(ancount):
        owner, offset = _read_name(wire, offset)
        rdtype, rdclass, _ttl, rdlength = struct.unpack_from("!HHIH", wire, offset)
        offset += 10
        end = offset + rdlength
        if end > len(wire) or rdtype not in _FAST_TYPES:
            raise _Unusual("type")
        if rdtype == A:
            if rdlength != 4:
                raise _Unusual("A length")
            text = socket.inet_ntoa(wire[offset:end])
        elif rdtype == AAAA:
            if rdlength != 16:
                raise _Unusual("AAAA length")
            text = dns.ipv6.inet_ntoa(wire[offset:end])
        elif rdtype == TXT:
            parts = []
            at = offset
            while at < end:
                size = wire[at]
                parts.append(wire[at + 1 : at + 1 + size])
                at += 1 + size
            if at != end:
                raise _Unusual("TXT length")
            text = b"".join(parts).decode("utf-8", "replace")
        elif rdtype == SOA:
            mname, at = _read_name(wire, offset)
            rname, at = _read_name(wire, at)
            if at + 20 != end:
                raise _Unusual("SOA length")
            serial, refresh, retry, expire, minimum = struct.unpack_from("!IIIII", wire, at)
            text = f"{_absolute(mname)} {_absolute(rname)} {serial} {refresh} {retry} {expire} {minimum}"
        elif rdtype == CAA:
            if rdlength < 2 or offset + 2 + wire[offset + 1] > end:
                raise _Unusual("CAA length")
            flags, tag_length = wire[offset], wire[offset + 1]
            tag = wire[offset + 2 : offset + 2 + tag_length]
            if not tag.isalnum():  # dnspython refuses it: let it say so
                raise _Unusual("CAA tag")
            value = wire[offset + 2 + tag_length : end]
            text = f'{flags} {_escapify(tag)} "{_escapify(value)}"'
        elif rdtype == MX:
            (preference,) = struct.unpack_from("!H", wire, offset)
            target, after = _read_name(wire, offset + 2)
            if after != end:
                raise _Unusual("MX length")
            text = f"{preference} {_absolute(target)}"
        else:  # NS, CNAME, PTR
            target, after = _read_name(wire, offset)
            if after != end:
                raise _Unusual("name length")
            text = _absolute(target)
        if rdtype != TXT:
            text = text.lower()
        record = (owner.lower(), rdtype, rdclass, text)
        if record not in seen:  # dnspython's rrsets drop duplicate rdata too
            seen.add(record)
            answer.records.append(record)
        offset = end
    return answer


def from_message(message: dns.message.Message) -> Answer:
    answer = Answer(message.rcode(), bool(message.flags & _TC))
    for rrset in message.answer:
        owner = rrset.name.to_text().rstrip(".").lower() or ""
        for rd in rrset:
            if rrset.rdtype == dns.rdatatype.TXT:
                text = b"".join(rd.strings).decode("utf-8", "replace")
            else:
                text = rd.to_text().lower()
            answer.records.append((owner, int(rrset.rdtype), int(rrset.rdclass), text))
    return answer


def parse_answer(wire: bytes) -> Answer:
    """Raises dns.exception.DNSException (FormError...) for a message neither reader takes."""
    try:
        return parse_fast(wire)
    except (_Unusual, IndexError, struct.error):
        return from_message(dns.message.from_wire(wire))


class UdpMux:
    """Queries to one nameserver over one connected UDP socket. An answer is accepted only
    from that address (the socket is connected), with a pending query id, and with the
    question that query asked; anything else is dropped, as a spoofed or late answer.

    A plain non-blocking socket read by the loop's reader callback (no asyncio transport):
    a burst of answers is drained in one wake-up, and a client nobody closes releases its
    socket when collected instead of warning about an unclosed transport."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[int, tuple[bytes, asyncio.Future[bytes]]] = {}
        self.ignored = 0  # answers dropped: unknown id, wrong question, not a response

    def _open(self, loop: asyncio.AbstractEventLoop) -> socket.socket:
        self.close()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        weakref.finalize(self, sock.close)
        sock.setblocking(False)
        with contextlib.suppress(OSError):  # bursts of answers must not be dropped
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        sock.connect((self.host, self.port))
        loop.add_reader(sock.fileno(), self._readable, sock)
        self._sock, self._loop = sock, loop
        return sock

    def _readable(self, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # An ICMP error (port unreachable) on a connected socket: the server is not
                # there, so every query waiting on it fails now rather than at its timeout.
                for _, future in list(self._pending.values()):
                    if not future.done():
                        future.set_exception(exc)
                return
            self._received(data)

    def _received(self, data: bytes) -> None:
        if len(data) < 12:
            self.ignored += 1
            return
        entry = self._pending.get(int.from_bytes(data[:2], "big"))
        if entry is None:
            self.ignored += 1
            return
        question, future = entry
        # The question echoed back must be ours (case-insensitively: RFC 1035 §7.3, and
        # servers may randomise case); an answer to another question with our id is not.
        if not data[2] & 0x80 or data[12 : 12 + len(question)].lower() != question.lower():
            self.ignored += 1
            return
        if not future.done():
            future.set_result(data)

    async def query(self, question: bytes, seconds: float) -> bytes:
        """The raw answer within `seconds`; raises dns.exception.Timeout or OSError."""
        loop = asyncio.get_running_loop()
        sock = self._sock if self._loop is loop and self._sock is not None else self._open(loop)
        qid = random.getrandbits(16)
        while qid in self._pending:
            qid = random.getrandbits(16)
        future: asyncio.Future[bytes] = loop.create_future()
        self._pending[qid] = (question, future)
        timer = loop.call_later(seconds, _expire, future)
        try:
            try:
                sock.send(build_query(qid, question))
            except BlockingIOError:
                # The send buffer is full: wait for room rather than lose the query.
                await loop.sock_sendall(sock, build_query(qid, question))
            return await future
        finally:
            timer.cancel()
            del self._pending[qid]

    def close(self) -> None:
        if self._sock is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None


def _expire(future: asyncio.Future[bytes]) -> None:
    if not future.done():
        future.set_exception(dns.exception.Timeout())  # type: ignore[no-untyped-call]
