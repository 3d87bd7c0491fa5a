"""A UDP + TCP DNS proxy on loopback that holds every answer for a fixed delay: a real
network's round trip in front of a loopback server.

    python -m tests.bench.delay_proxy --upstream 127.0.0.1:5300 --delay-ms 20 --port-file P

UDP queries go upstream over one socket under fresh query ids (clients may reuse ids; the
proxy maps them back); answers are sent to the client `delay` after they arrive. TCP
connections are piped, the server-to-client direction delayed by the same amount.
Prints the port it listens on to --port-file once ready.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path


class UdpProxy:
    def __init__(self, upstream: tuple[str, int], delay: float) -> None:
        self.upstream = upstream
        self.delay = delay
        self.pending: dict[int, tuple[tuple[str, int], bytes]] = {}
        self.next_id = 0
        self.front: asyncio.DatagramTransport | None = None
        self.back: asyncio.DatagramTransport | None = None

    def from_client(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 12 or self.back is None:
            return
        for _ in range(65536):
            self.next_id = (self.next_id + 1) & 0xFFFF
            if self.next_id not in self.pending:
                break
        self.pending[self.next_id] = (addr, data[:2])
        self.back.sendto(self.next_id.to_bytes(2, "big") + data[2:])

    def from_server(self, data: bytes) -> None:
        entry = self.pending.pop(int.from_bytes(data[:2], "big"), None)
        if entry is None or self.front is None:
            return
        addr, original_id = entry
        asyncio.get_running_loop().call_later(self.delay, self.front.sendto, original_id + data[2:], addr)


class _Front(asyncio.DatagramProtocol):
    def __init__(self, proxy: UdpProxy) -> None:
        self.proxy = proxy

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.proxy.from_client(data, addr)


class _Back(asyncio.DatagramProtocol):
    def __init__(self, proxy: UdpProxy) -> None:
        self.proxy = proxy

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.proxy.from_server(data)


async def _pipe_tcp(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream: tuple[str, int],
    delay: float,
) -> None:
    loop = asyncio.get_running_loop()
    try:
        server_reader, server_writer = await asyncio.open_connection(*upstream)
    except OSError:
        client_writer.close()
        return
    held: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def upward() -> None:
        while data := await client_reader.read(65536):
            server_writer.write(data)
            await server_writer.drain()
        server_writer.close()

    async def downward() -> None:
        while data := await server_reader.read(65536):
            held.put_nowait((loop.time() + delay, data))
        held.put_nowait((loop.time() + delay, b""))

    async def release() -> None:
        while True:
            due, data = await held.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            if not data:
                break
            client_writer.write(data)
            await client_writer.drain()
        client_writer.close()

    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        await asyncio.gather(upward(), downward(), release())


async def serve(upstream: tuple[str, int], delay: float, port: int, port_file: Path | None) -> None:
    loop = asyncio.get_running_loop()
    proxy = UdpProxy(upstream, delay)
    front, _ = await loop.create_datagram_endpoint(lambda: _Front(proxy), local_addr=("127.0.0.1", port))
    port = front.get_extra_info("sockname")[1]
    back, _ = await loop.create_datagram_endpoint(lambda: _Back(proxy), remote_addr=upstream)
    proxy.front, proxy.back = front, back  # type: ignore[assignment]
    for sock in (front.get_extra_info("socket"), back.get_extra_info("socket")):
        with contextlib.suppress(OSError):
            import socket

            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    tcp = await asyncio.start_server(lambda r, w: _pipe_tcp(r, w, upstream, delay), "127.0.0.1", port)
    if port_file:
        port_file.write_text(str(port), encoding="utf-8")  # noqa: ASYNC240 (once, at start-up)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    tcp.close()
    front.close()
    back.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the server")
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path)
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    try:
        import uvloop  # in uvicorn[standard]: a cheaper loop keeps the proxy out of the figures

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve((host, int(port)), args.delay_ms / 1000, args.port, args.port_file))


if __name__ == "__main__":
    main()
