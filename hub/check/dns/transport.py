"""Many queries in flight to one nameserver over one connected UDP socket, answers matched
back by query id and question (the socket half of the checks' DNS client; messages are
built and read by `wire`).

Why not `dns.asyncquery.udp` per query: it opens a socket per query, and profiling a bulk
run showed that as much of the CPU; here a lookup is a `sendto` and a dict lookup when the
datagram arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import weakref

import dns.exception

from hub.check.dns.wire import build_query


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
