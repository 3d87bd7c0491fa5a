"""A mail world on loopback, for tests and the demo: a real IMAP server holding the hub's
cases mailbox, an SMTP server standing in for the vendors' mail servers, and the vendor
simulator between them.

    async with MailWorld.start() as world:
        sender = SmtpSender(world.smtp_settings())     # the hub sends to vendors here
        poller = ImapPoller(world.imap_settings())     # and polls their answers here
        ...
        await world.simulator.drain()                  # every scheduled answer delivered

The IMAP server is pymap (pure Python, in-memory `dict` backend), run as a subprocess
on an ephemeral port so that it cannot share an event loop, a warning filter or a crash
with the process under test. pymap is a development dependency: the demo needs it
installed (`pip install -e .[dev]`), and `LoopbackImapServer.start` says so if it is not.
Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from aiosmtpd.smtp import SMTP as SmtpServerProtocol
from imap_tools import MailBoxUnencrypted
from pydantic import SecretStr

from hub.mail.imap import ImapSettings
from hub.mail.simulator import DEFAULT_PERSONAS, VendorPersona, VendorSimulator
from hub.mail.smtp import SmtpSettings

LOOPBACK = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


class LoopbackImapServer:
    """pymap on 127.0.0.1, one user, messages in memory (gone when it stops)."""

    def __init__(self, username: str = "hub", password: str | None = None) -> None:
        self.username = username
        self.password = password or secrets.token_urlsafe(12)
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 15.0) -> None:
        if importlib.util.find_spec("pymap") is None:
            raise RuntimeError("the loopback IMAP server needs pymap: pip install -e '.[dev]'")
        for _ in range(3):  # a port picked free can be taken before pymap binds it
            self.port = _free_port()
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
            self._process = subprocess.Popen(  # noqa: S603 (our own interpreter, fixed arguments)
                [
                    sys.executable,
                    "-c",
                    "from pymap.main import main; main()",
                    "--no-service",
                    "admin",
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(self.port),
                    "dict",
                    # "=" form: a generated password may begin with "-", which argparse
                    # would otherwise read as an option and refuse to start.
                    f"--demo-user={self.username}",
                    f"--demo-password={self.password}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._log,  # a file: a pipe nobody reads would fill and block the server
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self._process.poll() is None:
                try:
                    socket.create_connection((LOOPBACK, self.port), timeout=0.5).close()
                    return
                except OSError:
                    time.sleep(0.05)
            why = self._stop_and_read_errors()
        raise RuntimeError(f"the loopback IMAP server (pymap) did not start: {why[-500:]}")

    def _stop_and_read_errors(self) -> str:
        log = self._log
        self._log = None
        self.stop()
        if log is None:
            return ""
        with log:
            log.seek(0)
            return log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        log, self._log = self._log, None
        if log is not None:
            log.close()

    def settings(self, **overrides: Any) -> ImapSettings:
        values: dict[str, Any] = {
            "host": LOOPBACK,
            "port": self.port,
            "username": self.username,
            "password": SecretStr(self.password),
            "security": "none",
            "timeout_seconds": 10,
        }
        return ImapSettings(**{**values, **overrides})

    # -- delivery and folder admin, as the mail server's own tools would do them ---------------
    def _box(self) -> MailBoxUnencrypted:
        return MailBoxUnencrypted(LOOPBACK, self.port, timeout=10).login(
            self.username, self.password, initial_folder=None
        )

    def append_sync(self, raw: bytes | Sequence[bytes], folder: str = "INBOX") -> None:
        """Deliver one message or several (one session) into a folder, created if needed."""
        box = self._box()
        try:
            if folder != "INBOX" and not box.folder.exists(folder):
                box.folder.create(folder)
            for item in [raw] if isinstance(raw, bytes) else raw:
                box.append(item, folder)
        finally:
            box.logout()

    async def append(self, raw: bytes, folder: str = "INBOX") -> None:
        await asyncio.to_thread(self.append_sync, raw, folder)

    def recreate_folder(self, folder: str) -> None:
        """Delete and create again: the folder gets a new UIDVALIDITY and is empty."""
        box = self._box()
        try:
            if box.folder.exists(folder):
                box.folder.delete(folder)
            box.folder.create(folder)
        finally:
            box.logout()

    def uids(self, folder: str = "INBOX") -> list[int]:
        box = self._box()
        try:
            box.folder.set(folder)
            return [int(u) for u in box.uids()]
        finally:
            box.logout()


@dataclass
class VendorSmtpSink:
    """The vendors' MX: every message the hub sends is kept and handed to the simulator."""

    simulator: VendorSimulator | None = None
    received: list[tuple[bytes, tuple[str, ...]]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd hook
        content = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        rcpts = tuple(envelope.rcpt_tos)
        self.received.append((content, rcpts))
        if self.simulator is not None:
            await self.simulator.receive(content, rcpts)
        return "250 2.0.0 accepted"


@dataclass
class MailWorld:
    imap: LoopbackImapServer
    sink: VendorSmtpSink
    simulator: VendorSimulator
    smtp_port: int
    _server: asyncio.AbstractServer

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls,
        personas: Sequence[VendorPersona] = DEFAULT_PERSONAS,
        *,
        time_scale: float = 0.001,
        seed: int = 7,
    ) -> AsyncIterator[MailWorld]:
        imap = LoopbackImapServer()
        await asyncio.to_thread(imap.start)
        server: asyncio.AbstractServer | None = None
        simulator = VendorSimulator(personas, imap.append, time_scale=time_scale, seed=seed)
        try:
            sink = VendorSmtpSink(simulator)
            loop = asyncio.get_running_loop()
            server = await loop.create_server(
                lambda: SmtpServerProtocol(sink, hostname="mx.vendors.example"), LOOPBACK, 0
            )
            port = int(server.sockets[0].getsockname()[1])
            yield cls(imap=imap, sink=sink, simulator=simulator, smtp_port=port, _server=server)
        finally:
            await simulator.cancel()
            if server is not None:
                server.close()
                await server.wait_closed()
            await asyncio.to_thread(imap.stop)

    def smtp_settings(self) -> SmtpSettings:
        return SmtpSettings(host=LOOPBACK, port=self.smtp_port, security="none", timeout_seconds=10)

    def imap_settings(self, **overrides: Any) -> ImapSettings:
        return self.imap.settings(**overrides)
