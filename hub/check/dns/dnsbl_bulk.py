"""DNSBL over many targets without an asyncio task per lookup: `hub check dnsbl`, and the
`dnsbl` check kind (one target). The hub's only DNSBL path.

A profile of a general path (a check per target over `DnsClient.lookup`, now kept only
as a test oracle in tests/check/dns/dnsbl_oracle.py) at ~10,000 lookups/s showed most of
the CPU in the machinery around each lookup, not in DNS: a task, a shield,
a semaphore, a timer and a future per lookup, the query packet built per lookup. Here:

- every query packet is built once, up front: only the 2-byte id is put in front of a
  precomputed header + question + EDNS tail when it is sent (a retransmission reuses it);
- one sender loop (`_pump`) keeps a bounded window of queries in flight, writing with
  `sock.send` on one connected UDP socket per nameserver;
- one reader callback per socket drains every waiting datagram and reads only the header,
  the question (it must be ours, byte for byte but for case) and the answer's A records
  (their 4 bytes); anything else (a CNAME, a truncated answer, an owner that is not a
  compression pointer to the question, a second question) goes to the general path
  (`DnsClient.lookup`, which parses with dnspython, follows aliases and falls back to TCP),
  so the rare answer is read exactly as before;
- deadlines sit in one FIFO (every query waits the same timeout, so it is sorted by
  construction) swept by one periodic timer, instead of a timer per query.

The semantics are those of the oracle's `DnsblRun`: per zone, the first `budget` targets
(in input order) are asked and the rest are reported as "query budget exhausted"; a `rate` spaces
the zone's queries; the first refusal-code answer makes the zone an error for the whole run
(its queue is dropped: a refusing zone gets no more queries) and never a listing;
timeouts and network errors are retried over `attempts` x nameservers, SERVFAIL/REFUSED
from a nameserver is final for that nameserver; what is left unanswered makes that zone
unknown for that target.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import socket
import struct
from collections.abc import Callable, Sequence
from typing import Literal

import dns.exception
import dns.rcode

from hub.check.dns import wire
from hub.check.dns.client import (
    DnsClient,
    DnsStats,
    Lookup,
    Nameserver,
    normalise,
)
from hub.check.dns.dnsbl_zones import IPV4_CANONICAL, DnsblResult, Zone, apply_refusals
from hub.check.settings import CheckSettings

# Header after the id: RD set, one question, no answers or authority, one additional (OPT).
_HEADER_TAIL = struct.pack("!HHHHH", 0x0100, 1, 0, 0, 1)
_OPT = wire.build_query(0, b"")[12:]
# An answer record the fast reader takes: owner = compression pointer to the question at
# offset 12, type A, class IN (then TTL, and RDLENGTH 4).
_A_RECORD = b"\xc0\x0c\x00\x01\x00\x01"
_RDLENGTH_4 = b"\x00\x04"
_QDCOUNT_1 = b"\x00\x01"
# How often deadlines are checked: a timeout is noticed at most this late.
_SWEEP_SECONDS = 0.02
_PROGRESS_EVERY = 256


class BulkDnsbl:
    """One run over many targets and zones. `run()` returns the results in target order
    and the zones that refused (for merging the runs of several processes)."""

    def __init__(
        self,
        dns_client: DnsClient,
        zones: Sequence[Zone],
        window: int = 256,
        budgets: Sequence[int | None] | None = None,
        rates: Sequence[float | None] | None = None,
    ) -> None:
        if not zones:
            raise ValueError("no zone")
        self.dns = dns_client
        self.zones = list(zones)
        self.nameservers: list[Nameserver] = list(dns_client.nameservers)
        self.timeout = dns_client.timeout
        self.window = max(1, min(window, 8192))
        # Per-zone overrides (a worker process gets its share of a budget and of a rate).
        self.budgets = list(budgets) if budgets is not None else [z.budget for z in self.zones]
        self.rates = list(rates) if rates is not None else [z.rate for z in self.zones]
        # The order a query tries nameservers in: every one, `attempts` times.
        self._tries = [n for _ in range(dns_client.attempts) for n in range(len(self.nameservers))]
        self.ignored = 0  # datagrams dropped: unknown id, wrong question, wrong server

    async def run(
        self, targets: Sequence[str], on_progress: Callable[[int], None] | None = None
    ) -> tuple[list[DnsblResult], dict[str, str]]:
        unique = list(dict.fromkeys(t.strip() for t in targets if t.strip()))
        self._setup(unique, on_progress)
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._done: asyncio.Future[None] = loop.create_future()
        self._sweep_handle: asyncio.TimerHandle | None = None
        try:
            self._open(loop)
            self._targets_finished(0)
            if self._remaining:
                self._pump()
                self._sweep_handle = loop.call_later(_SWEEP_SECONDS, self._sweep)
                await self._done
        finally:
            self._close()
        self._flush_progress()
        refused = {self.zones[z].zone: reason for z, reason in enumerate(self._refused) if reason}
        for result in self._results:  # zone order, whatever order the answers came in
            if len(result.listed) > 1:
                result.listed = {z.zone: result.listed[z.zone] for z in self.zones if z.zone in result.listed}
        return apply_refusals(self._results, self.zones, refused), refused

    # -- set-up -----------------------------------------------------------------------------

    def _setup(self, targets: list[str], on_progress: Callable[[int], None] | None) -> None:
        self._results = [DnsblResult(t) for t in targets]
        self._on_progress = on_progress
        self._progress = 0
        self._refused: list[str | None] = [None] * len(self.zones)
        self._classified: dict[tuple[int, tuple[str, ...]], tuple[str, dict[str, str]]] = {}
        # Per query i: its target, zone, question (lower-case wire), packet after the id,
        # index into self._tries, and (rarely) the errors so far and the servers that
        # answered with an error rcode.
        self.q_target: list[int] = []
        self.q_zone: list[int] = []
        self.q_question: list[bytes] = []
        self.q_tail: list[bytes] = []
        self.q_name: list[str] = []
        self.q_try: list[int] = []
        self.q_errors: dict[int, list[str]] = {}
        self.q_answered: dict[int, set[int]] = {}
        self._per_target = [0] * len(targets)
        # Queries not yet sent, one FIFO per zone, served round-robin. A zone's first query
        # goes alone (`_probe`): the rest wait for its answer, so a zone that answers only
        # refusals (a public resolver to Spamhaus, an exhausted quota) costs one query,
        # not a window's worth.
        self._queues: list[collections.deque[int]] = [collections.deque() for _ in self.zones]
        self._probe = [-2] * len(self.zones)  # -2: not started, -1: open, i: query i in flight
        self._rr = 0
        self._rate_next = [0.0] * len(self.zones)
        self._retry: collections.deque[int] = collections.deque()
        asked = [0] * len(self.zones)
        bases = [self._base(z) for z in self.zones]
        # A zone's part of every question, built once: its name in wire form (with the root
        # label), type A, class IN. An IPv4 target's reversed octets are built once too.
        suffixes = [wire.question_bytes(base, wire.A).lower() for base in bases]
        for t, target in enumerate(targets):
            reversed_v4 = None
            if IPV4_CANONICAL.fullmatch(target):
                octets = target.split(".")[::-1]
                reversed_v4 = ".".join(octets)
                prefix = b"".join(bytes((len(o),)) + o.encode() for o in octets)
            for z, zone in enumerate(self.zones):
                if reversed_v4 is not None:
                    if zone.kind != "ip":
                        continue  # an IP against a domain zone: not applicable
                    name = f"{reversed_v4}.{bases[z]}"
                    question = prefix + suffixes[z]
                else:
                    generic = zone.query_name(target)
                    if generic is None:
                        continue
                    name, question = generic, b""
                budget = self.budgets[z]
                if budget is not None and asked[z] >= budget:
                    self._results[t].errors[zone.zone] = f"query budget of {zone.budget} exhausted"
                    continue
                asked[z] += 1
                if not question:
                    try:
                        question = wire.question_bytes(name, wire.A).lower()
                    except (dns.exception.DNSException, ValueError) as exc:
                        self._results[t].errors[zone.zone] = f"invalid name: {exc}"
                        continue
                i = len(self.q_target)
                self.q_target.append(t)
                self.q_zone.append(z)
                self.q_question.append(question)
                self.q_tail.append(_HEADER_TAIL + question + _OPT)
                self.q_name.append(name)
                self.q_try.append(0)
                self._per_target[t] += 1
                self._queues[z].append(i)
        self._remaining = len(self.q_target)
        # Query ids: a shuffled pool, reused first-in first-out (an id comes back into use
        # as late as possible, so a late answer finds it free or asking another question).
        # Four windows' worth of random distinct ids is plenty (and costs far less than
        # shuffling all 65,536).
        pool = random.sample(range(65536), min(65536, max(4 * self.window, 4096)))
        self._free = collections.deque(pool)
        self._slot = [-1] * 65536  # id -> query in flight
        self._token = [0] * 65536  # id -> which send of it (to match the deadline entry)
        self._sends = 0
        self._deadlines: collections.deque[tuple[float, int, int]] = collections.deque()
        self._inflight = 0
        self._blocked = False
        self._rate_handle: asyncio.TimerHandle | None = None
        self._fallbacks: set[asyncio.Future[None]] = set()

    @staticmethod
    def _base(zone: Zone) -> str:
        return f"{zone.dqs_key}.{normalise(zone.zone)}" if zone.dqs_key else normalise(zone.zone)

    def _open(self, loop: asyncio.AbstractEventLoop) -> None:
        self._socks: list[socket.socket] = []
        for n, ns in enumerate(self.nameservers):
            sock = socket.socket(socket.AF_INET6 if ":" in ns.host else socket.AF_INET, socket.SOCK_DGRAM)
            self._socks.append(sock)
            sock.setblocking(False)
            with contextlib.suppress(OSError):  # a burst of answers must not be dropped
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
            sock.connect((ns.host, ns.port))  # answers only from that address reach us
            loop.add_reader(sock.fileno(), self._readable, n)

    def _close(self) -> None:
        for handle in (self._sweep_handle, self._rate_handle):
            if handle is not None:
                handle.cancel()
        for task in self._fallbacks:
            task.cancel()
        for sock in getattr(self, "_socks", []):
            if not self._loop.is_closed():
                self._loop.remove_reader(sock.fileno())
                if self._blocked:
                    self._loop.remove_writer(sock.fileno())
            sock.close()
        self._socks = []

    # -- sending ----------------------------------------------------------------------------

    def _next(self, now: float) -> int:
        """The next query to send, or -1."""
        if self._retry:
            return self._retry.popleft()
        queues, probe, refused, rates = self._queues, self._probe, self._refused, self.rates
        count = len(queues)
        for step in range(count):
            z = (self._rr + step) % count
            queue = queues[z]
            if not queue or probe[z] >= 0:
                continue
            if refused[z]:
                while queue:  # the zone refused: no more queries to it this run
                    self._finish(queue.popleft())
                continue
            rate = rates[z]
            if rate:
                if now < self._rate_next[z]:
                    continue
                self._rate_next[z] = max(now, self._rate_next[z]) + 1.0 / rate
            i = queue.popleft()
            if probe[z] == -2:
                probe[z] = i
            self._rr = z + 1
            return i
        return -1

    def _pump(self) -> None:
        if self._blocked:
            return
        now = self._loop.time()
        deadline = now + self.timeout
        free, slot, token, deadlines = self._free, self._slot, self._token, self._deadlines
        tails, tries, q_try, socks = self.q_tail, self._tries, self.q_try, self._socks
        stats = self.dns.stats
        while self._inflight < self.window:
            i = self._next(now)
            if i < 0:
                break
            qid = free.popleft()
            n = tries[q_try[i]]
            try:
                socks[n].send(qid.to_bytes(2, "big") + tails[i])
            except BlockingIOError:
                # The send buffer is full: wait until the socket is writable again.
                free.appendleft(qid)
                self._retry.appendleft(i)
                self._blocked = True
                self._loop.add_writer(socks[n].fileno(), self._writable, n)
                break
            except OSError as exc:
                free.append(qid)
                self._failed(i, f"{type(exc).__name__} from {self.nameservers[n]}: {exc}")
                continue
            self._sends += 1
            slot[qid] = i
            token[qid] = self._sends
            deadlines.append((deadline, qid, self._sends))
            self._inflight += 1
            stats.queries += 1
        self._schedule_rated(now)

    def _schedule_rated(self, now: float) -> None:
        """A rate-limited zone with queries waiting gets a wake-up at its next slot."""
        if self._rate_handle is not None or self._inflight >= self.window:
            return
        waits = [
            self._rate_next[z]
            for z, queue in enumerate(self._queues)
            if queue and self.rates[z] and self._probe[z] < 0 and not self._refused[z]
        ]
        if waits:
            self._rate_handle = self._loop.call_at(max(min(waits), now), self._rate_wake)

    def _rate_wake(self) -> None:
        self._rate_handle = None
        self._pump()

    def _writable(self, n: int) -> None:
        self._loop.remove_writer(self._socks[n].fileno())
        self._blocked = False
        self._pump()

    # -- receiving --------------------------------------------------------------------------

    def _readable(self, n: int) -> None:
        sock = self._socks[n]
        slot, token, free, tries, q_try = self._slot, self._token, self._free, self._tries, self.q_try
        q_question = self.q_question
        while True:
            try:
                data = sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                # An ICMP error (port unreachable) on the connected socket: every query in
                # flight to this server failed; each goes on to its next try.
                self._socket_failed(n, exc)
                break
            if len(data) < 12:
                self.ignored += 1
                continue
            i = slot[(data[0] << 8) | data[1]]
            if i < 0 or tries[q_try[i]] != n:
                self.ignored += 1
                continue
            question = q_question[i]
            end = 12 + len(question)
            # Ours only if it is a response to exactly our question (case-insensitively:
            # RFC 1035 §7.3, and servers may randomise case).
            if not data[2] & 0x80 or data[4:6] != _QDCOUNT_1 or data[12:end].lower() != question:
                self.ignored += 1
                continue
            qid = (data[0] << 8) | data[1]
            slot[qid] = -1
            token[qid] = 0
            free.append(qid)
            self._inflight -= 1
            self._answer(i, n, data, end)
        self._pump()

    def _answer(self, i: int, n: int, data: bytes, offset: int) -> None:
        z = self.q_zone[i]
        if self._probe[z] == i:
            self._probe[z] = -1  # the zone answered: open it to the rest of its queries
        rcode = data[3] & 0x0F
        ancount = (data[6] << 8) | data[7]
        if data[2] & 0x02:  # truncated: the general path retries over TCP
            self._fallback(i)
            return
        if rcode == 0 or rcode == 3:
            if ancount == 0:
                self._finish(i)  # NXDOMAIN or NODATA: not listed
                return
            if rcode == 3:
                self._fallback(i)  # records with NXDOMAIN: let the general reader judge
                return
            answers: list[bytes] = []
            for _ in range(ancount):
                if (
                    data[offset : offset + 6] != _A_RECORD
                    or data[offset + 10 : offset + 12] != _RDLENGTH_4
                    or offset + 16 > len(data)
                ):
                    self._fallback(i)  # an alias, another type, a spelt-out owner
                    return
                answers.append(data[offset + 12 : offset + 16])
                offset += 16
            self._listed(i, tuple(dict.fromkeys(socket.inet_ntoa(a) for a in answers)))
            return
        # SERVFAIL, REFUSED...: an answer; asking the same server again will not help.
        self.q_answered.setdefault(i, set()).add(n)
        self._failed(i, f"{_rcode_text(rcode)} from {self.nameservers[n]}")

    def _socket_failed(self, n: int, exc: OSError) -> None:
        reason = f"{type(exc).__name__} from {self.nameservers[n]}: {exc}"
        slot, token = self._slot, self._token
        for _, qid, send in list(self._deadlines):
            i = slot[qid]
            if token[qid] == send and i >= 0 and self._tries[self.q_try[i]] == n:
                slot[qid] = -1
                token[qid] = 0
                self._free.append(qid)
                self._inflight -= 1
                self._failed(i, reason)

    def _sweep(self) -> None:
        self._sweep_handle = None
        now = self._loop.time()
        deadlines, slot, token = self._deadlines, self._slot, self._token
        while deadlines and deadlines[0][0] <= now:
            _, qid, send = deadlines.popleft()
            if token[qid] != send:
                continue  # answered (or failed) already
            i = slot[qid]
            slot[qid] = -1
            token[qid] = 0
            self._free.append(qid)
            self._inflight -= 1
            self.dns.stats.timeouts += 1
            n = self._tries[self.q_try[i]]
            self._failed(i, f"timeout after {self.timeout:g}s from {self.nameservers[n]}")
        self._pump()
        self._flush_progress()
        if not self._done.done():
            self._sweep_handle = self._loop.call_later(_SWEEP_SECONDS, self._sweep)

    # -- outcomes ---------------------------------------------------------------------------

    def _failed(self, i: int, reason: str) -> None:
        """This try of query i failed: the next one, or the zone is unknown for the target."""
        z = self.q_zone[i]
        if self._probe[z] == i:
            self._probe[z] = -1  # no answer to the first query: the zone is not held back
        errors = self.q_errors.setdefault(i, [])
        errors.append(reason)
        answered = self.q_answered.get(i, ())
        k = self.q_try[i] + 1
        while k < len(self._tries) and self._tries[k] in answered:
            k += 1
        if k < len(self._tries):
            self.q_try[i] = k
            self._retry.append(i)
            return
        zone = self.zones[self.q_zone[i]].zone
        self._results[self.q_target[i]].errors[zone] = "; ".join(dict.fromkeys(errors))
        self._finish(i)

    def _listed(self, i: int, answers: tuple[str, ...]) -> None:
        z = self.q_zone[i]
        if self._refused[z]:
            self._finish(i)
            return
        key = (z, answers)
        verdict = self._classified.get(key)
        if verdict is None:
            verdict = self._classified[key] = self.zones[z].classify(answers)
        self._judge(i, verdict)
        self._finish(i)

    def _judge(self, i: int, verdict: tuple[Literal["listed", "error"] | str, dict[str, str]]) -> None:
        z = self.q_zone[i]
        zone = self.zones[z]
        kind, detail = verdict
        result = self._results[self.q_target[i]]
        if kind == "error":
            answer, reason = next(iter(detail.items()))
            refusal = self._refused[z] = f"{zone.zone} answered {answer}: {reason}"
            result.errors[zone.zone] = refusal
            return
        result.listed[zone.zone] = sorted(detail)
        result.meanings[zone.zone] = dict(detail)

    def _fallback(self, i: int) -> None:
        """An answer the fast reader does not take: the general path asks again and reads it
        (aliases followed, TCP on truncation), exactly as the oracle's `DnsblRun` would."""
        task = asyncio.ensure_future(self._general(i))
        self._fallbacks.add(task)
        task.add_done_callback(self._fallbacks.discard)

    async def _general(self, i: int) -> None:
        lookup: Lookup = await self.dns.lookup(self.q_name[i], "A")
        z = self.q_zone[i]
        if lookup.failed:
            zone = self.zones[z].zone
            self._results[self.q_target[i]].errors[zone] = lookup.error or "lookup failed"
        elif not lookup.void and not self._refused[z]:
            self._judge(i, self.zones[z].classify(lookup.records))
        self._finish(i)
        self._pump()

    def _finish(self, i: int) -> None:
        self._remaining -= 1
        t = self.q_target[i]
        self._per_target[t] -= 1
        if self._per_target[t] == 0:
            self._targets_finished(1)
        if self._remaining == 0 and not self._done.done():
            self._done.set_result(None)

    def _targets_finished(self, count: int) -> None:
        if count == 0:  # at the start: targets with nothing to ask are done already
            count = sum(1 for left in self._per_target if left == 0)
        self._progress += count
        if self._progress >= _PROGRESS_EVERY:
            self._flush_progress()

    def _flush_progress(self) -> None:
        if self._progress and self._on_progress is not None:
            self._on_progress(self._progress)
        self._progress = 0


def _rcode_text(rcode: int) -> str:
    try:
        return dns.rcode.to_text(dns.rcode.Rcode(rcode))
    except ValueError:
        return f"RCODE{rcode}"


async def bulk_dnsbl(
    dns_client: DnsClient,
    targets: Sequence[str],
    zones: Sequence[Zone],
    window: int = 256,
    on_progress: Callable[[int], None] | None = None,
    budgets: Sequence[int | None] | None = None,
    rates: Sequence[float | None] | None = None,
) -> tuple[list[DnsblResult], dict[str, str]]:
    """Every target against every zone; results in target order, and the refused zones."""
    return await BulkDnsbl(dns_client, zones, window, budgets, rates).run(targets, on_progress)


async def run_dnsbl(
    settings: CheckSettings,
    targets: Sequence[str],
    zones: Sequence[Zone],
    on_progress: Callable[[int], None] | None = None,
    budgets: Sequence[int | None] | None = None,
    rates: Sequence[float | None] | None = None,
) -> tuple[list[DnsblResult], dict[str, str], DnsStats]:
    """`hub check dnsbl` in one process: results in target order, refused zones, counters."""
    client = DnsClient.from_settings(settings)
    try:
        results, refused = await bulk_dnsbl(
            client, targets, zones, settings.dnsbl_window, on_progress, budgets, rates
        )
    finally:
        client.close()
    return results, refused, client.stats
