"""The checks tests' DNS server: the package's loopback server (shared with `hub demo`), and a
copy of it answering from a child process for tests that time answers."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from hub.demo.dns_server import DnsServer, DnsTestServer, Key

__all__ = ["DnsServer", "DnsTestServer", "Key", "answered_from_a_child_process"]


class _PortToPipe:
    """Stands in for the `threading.Event` the server sets once it listens: sends its port."""

    def __init__(self, server: DnsServer, fd: int) -> None:
        self._server, self._fd = server, fd

    def set(self) -> None:
        os.write(self._fd, str(self._server.port).encode() + b"\n")


@contextmanager
def answered_from_a_child_process(server: DnsServer) -> Iterator[str]:
    """Serves a snapshot of `server`'s records (timeouts, SERVFAILs included) from a forked
    child process and yields its address.

    The fixture's server is a thread of the test's process: while the code under test keeps
    that process busy, the server waits for the GIL and a query can miss a second-long
    timeout on a loaded machine. Tests that compare which names time out need a server
    that answers whatever the test process is doing. Queries are not recorded."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: serve until killed, never return into pytest
        try:
            os.close(read_end)
            asyncio.events._set_running_loop(None)  # the parent's loop is not ours (3.11)
            twin = server.snapshot()
            asyncio.run(twin.serve(_PortToPipe(twin, write_end)))  # type: ignore[arg-type]
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        with os.fdopen(read_end) as pipe:
            port = pipe.readline().strip()
        if not port:
            raise RuntimeError("the child DNS server did not start")
        yield f"{server.host}:{port}"
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
