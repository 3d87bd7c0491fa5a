"""DNS messages for the checks' DNS client, built and read by hand: queries (header,
question, EDNS) and a small reader for the answer section of the few record types the
checks ask for.

Why not dnspython's parser for every answer: profiling a bulk run showed parsing into
dnspython objects as much of the CPU (with a socket per query, about 0.7 ms per lookup, so
one process stopped near 1,000 lookups/s). Anything the fast reader declines (another type
in the answer, a name needing escapes in presentation form, a malformed message) goes
through dnspython's parser, so the text of every record is exactly what dnspython would
print.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import dns.ipv6
import dns.message
import dns.name
import dns.rdatatype

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, CAA = 1, 2, 5, 6, 12, 15, 16, 28, 257
_CLASS_IN = 1
_QR, _TC = 0x8000, 0x0200
# EDNS(0) OPT record with a 1232-byte UDP payload (DNS flag day 2020): routine answers stay
# on UDP without IP fragmentation, TCP only when the server says it truncated.
EDNS_PAYLOAD = 1232
_OPT = b"\x00" + struct.pack("!HHIH", 41, EDNS_PAYLOAD, 0, 0)
# Bytes dnspython prints in a label without escaping (see dns.name._escapify).
_PLAIN = frozenset(range(0x21, 0x7F)) - frozenset(b'"().;\\@$')
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


def _rdata_a(wire: bytes, offset: int, end: int) -> str:
    if end - offset != 4:
        raise _Unusual("A length")
    return socket.inet_ntoa(wire[offset:end])


def _rdata_aaaa(wire: bytes, offset: int, end: int) -> str:
    if end - offset != 16:
        raise _Unusual("AAAA length")
    return dns.ipv6.inet_ntoa(wire[offset:end])


def _rdata_txt(wire: bytes, offset: int, end: int) -> str:
    parts = []
    at = offset
    while at < end:
        size = wire[at]
        parts.append(wire[at + 1 : at + 1 + size])
        at += 1 + size
    if at != end:
        raise _Unusual("TXT length")
    return b"".join(parts).decode("utf-8", "replace")


def _rdata_soa(wire: bytes, offset: int, end: int) -> str:
    mname, at = _read_name(wire, offset)
    rname, at = _read_name(wire, at)
    if at + 20 != end:
        raise _Unusual("SOA length")
    serial, refresh, retry, expire, minimum = struct.unpack_from("!IIIII", wire, at)
    return f"{_absolute(mname)} {_absolute(rname)} {serial} {refresh} {retry} {expire} {minimum}"


def _rdata_caa(wire: bytes, offset: int, end: int) -> str:
    if end - offset < 2 or offset + 2 + wire[offset + 1] > end:
        raise _Unusual("CAA length")
    flags, tag_length = wire[offset], wire[offset + 1]
    tag = wire[offset + 2 : offset + 2 + tag_length]
    if not tag.isalnum():  # dnspython refuses it: let it say so
        raise _Unusual("CAA tag")
    value = wire[offset + 2 + tag_length : end]
    return f'{flags} {_escapify(tag)} "{_escapify(value)}"'


def _rdata_mx(wire: bytes, offset: int, end: int) -> str:
    (preference,) = struct.unpack_from("!H", wire, offset)
    target, after = _read_name(wire, offset + 2)
    if after != end:
        raise _Unusual("MX length")
    return f"{preference} {_absolute(target)}"


def _rdata_name(wire: bytes, offset: int, end: int) -> str:
    """NS, CNAME and PTR: one name."""
    target, after = _read_name(wire, offset)
    if after != end:
        raise _Unusual("name length")
    return _absolute(target)


# The record types the fast reader takes, each with the reader of its data in
# presentation form; any other type goes to dnspython.
_RDATA_READERS: dict[int, Callable[[bytes, int, int], str]] = {
    A: _rdata_a,
    AAAA: _rdata_aaaa,
    TXT: _rdata_txt,
    SOA: _rdata_soa,
    CAA: _rdata_caa,
    MX: _rdata_mx,
    NS: _rdata_name,
    CNAME: _rdata_name,
    PTR: _rdata_name,
}


def parse_fast(wire: bytes) -> Answer:
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
        reader = _RDATA_READERS.get(rdtype)
        if end > len(wire) or reader is None:
            raise _Unusual("type")
        text = reader(wire, offset, end)
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
