"""Printers simulated by snmpsim, the SNMP agent simulator, serving the `.snmprec` recordings in
`fixtures/` on UDP loopback ports.

snmpsim (a subprocess, shared by every simulator of a test process because it is slow to start
and holds no state) picks the recording from the community name: `fixtures/agents/<community>.
snmprec`. Each simulated printer gets its own UDP port on 127.0.0.1, a small relay in front of
snmpsim that records every request and applies the shared fault plan, so the conformance suite's
faults have SNMP meanings:

  * hang         -> the datagram is dropped (the agent never answers);
  * latency      -> the answer is held back that long;
  * any status   -> the agent answers with an error-status instead of data: 401/403 become
                    authorizationError, everything else genErr (how an agent reports a failure);
  * malformed    -> the answer is bytes that are not BER (the manager discards them, then times out).

The conformance suite's `http` client is unused: the endpoint's base_url says where the first agent
listens (`snmp://127.0.0.1:PORT`), and `config()` lists every printer's own port. A wrong community
is passed through to snmpsim, which answers nothing, as a real SNMPv2c agent does.

Printers (community -> what it shows):
  * hp-m404dn-7Qx2: mono laser, serial in Printer-MIB, firmware in entPhysicalSoftwareRev;
  * kyo-m6635-Ve8n: colour MFP, one marker row per engine (mono/colour split), CMYK toners with one
    low and one empty, a waste toner box nearly full;
  * epson-wf-C5790-Lk3d: inkjet on hrDeviceIndex 2 with -3 (some remaining), -2 (unknown) and -1
    levels and an unknown max capacity;
  * brother-hl-l6400-Gt5r: no prtGeneralSerialNumber (noSuchObject): serial from ENTITY-MIB;
    counter in sheets; waste toner receptacle with 4 % space left;
  * slow-laser-Wd9k (fixtures/slow, its own snmpsim): answers sysDescr after 1.5 s (`delay`
    variation module).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
from pyasn1.codec.ber import decoder, encoder
from pyasn1.error import PyAsn1Error
from pysnmp.proto import api as snmp_api
from starlette.types import ASGIApp

from hub.sdk.testing.faults import Fault, RecordedRequest
from hub.sdk.testing.simulator import Endpoint, Mode, Simulator

FIXTURES = Path(__file__).parent / "fixtures"
AGENTS = FIXTURES / "agents"
SLOW = FIXTURES / "slow"

MONO_LASER = "hp-m404dn-7Qx2"
COLOUR_MFP = "kyo-m6635-Ve8n"
SPECIAL_LEVELS = "epson-wf-C5790-Lk3d"
NO_PRT_SERIAL = "brother-hl-l6400-Gt5r"
SLOW_AGENT = "slow-laser-Wd9k"
DEFAULT_PRINTERS = (MONO_LASER, COLOUR_MFP, SPECIAL_LEVELS, NO_PRT_SERIAL)
WRONG_COMMUNITY = "not-the-community-3Jr8"

_PDU_NAMES = {
    "GetRequestPDU": "get",
    "GetNextRequestPDU": "getnext",
    "GetBulkRequestPDU": "getbulk",
    "SetRequestPDU": "set",
}
_AUTHORIZATION_ERROR, _GEN_ERR = 16, 5


# -- snmpsim, one process per data directory per test process -------------------------------
@dataclass
class _Responder:
    process: subprocess.Popen[bytes]
    port: int
    workdir: Path


_responders: dict[Path, _Responder] = {}


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # Linux: snmpsim is killed if the test process dies without running atexit.
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _command_responder() -> str:
    found = Path(sys.executable).parent / "snmpsim-command-responder"
    return str(found) if found.exists() else (shutil.which("snmpsim-command-responder") or str(found))


async def _responder(data_dir: Path) -> int:
    """The UDP port of the snmpsim serving `data_dir`, started on first use."""
    running = _responders.get(data_dir)
    if running is not None and running.process.poll() is None:
        return running.port
    workdir = Path(tempfile.mkdtemp(prefix="snmpsim-"))
    log = workdir / "snmpsim.log"
    for _ in range(3):
        port = _free_udp_port()
        with log.open("wb") as out:
            # A plain Popen, not asyncio's: the process outlives this event loop (it is shared by
            # the simulators of later tests, each on its own loop).
            process = subprocess.Popen(  # noqa: S603, ASYNC220 - fixed argv, our own files
                [
                    _command_responder(),
                    f"--data-dir={data_dir}",
                    f"--cache-dir={workdir / 'cache'}",
                    f"--agent-udpv4-endpoint=127.0.0.1:{port}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # snmpsim refuses to run as root unless told; it binds a loopback high port only.
                env={**os.environ, "SNMPSIM_ALLOW_ROOT": "true"},
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            if b"Listening at UDP/IPv4 endpoint" in log.read_bytes():
                _responders[data_dir] = _Responder(process, port, workdir)
                return port
            await asyncio.sleep(0.05)
        process.kill()
        process.wait()
    raise RuntimeError(f"snmpsim did not start; see {log}")


@atexit.register
def _stop_responders() -> None:
    for running in _responders.values():
        if running.process.poll() is None:
            running.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                running.process.wait(5)
        shutil.rmtree(running.workdir, ignore_errors=True)
    _responders.clear()


# -- the relay: one UDP port per printer, fault plan and recording ---------------------------
def _describe(datagram: bytes) -> tuple[str, str]:
    """(method, path) of an SNMP request for the fault plan: reads are GET, sets PUT."""
    try:
        version = int(snmp_api.decodeMessageVersion(datagram))
        module = snmp_api.PROTOCOL_MODULES[version]
        message, _ = decoder.decode(datagram, asn1Spec=module.Message())
        pdu = module.apiMessage.get_pdu(message)
    except (PyAsn1Error, KeyError, ValueError):
        return "GET", "/snmp/undecodable"
    kind = _PDU_NAMES.get(type(pdu).__name__, type(pdu).__name__)
    return ("PUT" if kind == "set" else "GET"), f"/snmp/{kind}"


def _error_answer(datagram: bytes, status: int) -> bytes | None:
    """The Response an agent sends when it fails the request with `status` (same request-id)."""
    try:
        version = int(snmp_api.decodeMessageVersion(datagram))
        module = snmp_api.PROTOCOL_MODULES[version]
        message, _ = decoder.decode(datagram, asn1Spec=module.Message())
        response = module.apiMessage.get_response(message)
        pdu = module.apiMessage.get_pdu(response)
        module.apiPDU.set_error_status(pdu, status)
        module.apiPDU.set_error_index(pdu, 1)
        encoded: bytes = encoder.encode(response)
        return encoded
    except (PyAsn1Error, KeyError, ValueError):
        return None


class _Upstream(asyncio.DatagramProtocol):
    def __init__(self, deliver: Any) -> None:
        self.deliver = deliver

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.deliver(data)


class _Relay(asyncio.DatagramProtocol):
    """One printer's address: forwards to snmpsim, applying the simulator's fault plan."""

    def __init__(self, sim: PrinterSnmpSimulator, upstream_port: int) -> None:
        self.sim = sim
        self.upstream_port = upstream_port
        self.transport: Any = None
        self.upstreams: dict[Any, Any] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        task = asyncio.ensure_future(self._handle(data, addr))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _handle(self, data: bytes, client: Any) -> None:
        method, path = _describe(data)
        fault = self.sim.choose_fault(method, path)
        status: int | None = None
        if fault is not None:
            if fault.latency:
                await asyncio.sleep(fault.latency)
            if fault.hang:
                self.sim.record(method, path, None)
                return
            if fault.malformed:
                self.sim.record(method, path, 200)
                self._answer(b"\x30\x03not snmp", client)
                return
            if fault.status is not None:
                status = fault.status
        self.sim.record(method, path, status or 200)
        if status is not None:
            answer = _error_answer(data, _AUTHORIZATION_ERROR if status in (401, 403) else _GEN_ERR)
            if answer is not None:
                self._answer(answer, client)
            return
        upstream = self.upstreams.get(client)
        if upstream is None:
            loop = asyncio.get_running_loop()
            upstream, _ = await loop.create_datagram_endpoint(
                lambda: _Upstream(lambda reply: self._answer(reply, client)),
                remote_addr=("127.0.0.1", self.upstream_port),
            )
            self.upstreams[client] = upstream
        upstream.sendto(data)

    def _answer(self, data: bytes, client: Any) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, client)

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for upstream in self.upstreams.values():
            upstream.close()
        if self.transport is not None:
            self.transport.close()


def _same(relay: _Relay) -> _Relay:
    return relay


class PrinterSnmpSimulator(Simulator):
    """A site's printers as SNMP v2c agents (snmpsim recordings behind per-printer relays)."""

    slug: ClassVar[str] = "printer_snmp"
    data_paths: ClassVar[str] = r"^/snmp/"

    def __init__(
        self,
        *,
        printers: Sequence[str] = DEFAULT_PRINTERS,
        site: str = "acme-hq",
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.printers = tuple(printers)
        self.site = site
        self.timeout = timeout
        self._requests: list[RecordedRequest] = []
        self._ports: dict[str, int] = {}
        self._http_timeout = 1.0

    # -- the fault plan over UDP ---------------------------------------------------------
    def choose_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults.faults:
            if fault.matches(method, path) and fault.take():
                return fault
        return None

    def record(self, method: str, path: str, status: int | None) -> None:
        self._requests.append(RecordedRequest(method, path, "", {}, b"", status))

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._requests

    def build_app(self) -> ASGIApp:
        raise NotImplementedError("printer_snmp simulates SNMP agents over UDP, not an HTTP API")

    @asynccontextmanager
    async def serve(self, mode: Mode = "asgi", *, http_timeout: float = 10.0) -> AsyncIterator[Endpoint]:
        """Both modes are real UDP on loopback: SNMP has no in-process transport to stand in."""
        del mode
        self._http_timeout = http_timeout
        loop = asyncio.get_running_loop()
        relays: list[_Relay] = []
        try:
            for community in self.printers:
                data_dir = SLOW if (SLOW / f"{community}.snmprec").exists() else AGENTS
                upstream = await _responder(data_dir)
                relay = _Relay(self, upstream)
                await loop.create_datagram_endpoint(
                    functools.partial(_same, relay), local_addr=("127.0.0.1", 0)
                )
                relays.append(relay)
                assert relay.transport is not None
                self._ports[community] = int(relay.transport.get_extra_info("sockname")[1])
            first = next(iter(self._ports.values()), 0)
            async with httpx.AsyncClient(timeout=http_timeout) as unused:
                yield Endpoint(f"snmp://127.0.0.1:{first}", unused)
        finally:
            for relay in relays:
                relay.close()

    # -- how the adapter is configured against it ----------------------------------------
    def port(self, community: str) -> int:
        return self._ports[community]

    def config(self, base_url: str, *, valid_credentials: bool = True) -> dict[str, Any]:
        del base_url  # every printer has its own port, known once serving
        # Quick timeouts: loopback agents answer in milliseconds, and the suite's hang check
        # passes a short http_timeout that stands for the SNMP one here.
        timeout = self.timeout if self.timeout is not None else min(self._http_timeout, 1.0)
        return {
            "site": self.site,
            "targets": [
                {
                    "host": "127.0.0.1",
                    "port": port,
                    "community": community if valid_credentials else WRONG_COMMUNITY,
                    "label": community.rsplit("-", 1)[0],
                }
                for community, port in self._ports.items()
            ],
            "timeout": timeout,
            "retries": 1,
            "max_repetitions": self.page_size or 25,
        }

    def invalid_configs(self, base_url: str) -> list[dict[str, Any]]:
        target = {"host": "127.0.0.1", "port": 16100, "community": "public"}
        return [
            {"site": "acme-hq", "targets": []},
            {"targets": [target]},
            {"site": "acme-hq", "targets": [{**target, "community": ""}]},
            {"site": "acme-hq", "targets": [{"host": "127.0.0.1", "port": 16100}]},
            {"site": "acme-hq", "targets": [{**target, "port": 70000}]},
            {"site": "acme-hq", "targets": [{**target, "host": "snmp://printer.example:161"}]},
            {"site": "acme-hq", "targets": [target, target]},
            {"site": "acme-hq", "targets": [target], "timeout": 0},
            {"site": "acme-hq", "targets": [target], "retries": -1},
            {"site": "acme-hq", "targets": [target], "version": "1"},
        ]


__all__ = [
    "COLOUR_MFP",
    "DEFAULT_PRINTERS",
    "MONO_LASER",
    "NO_PRT_SERIAL",
    "SLOW_AGENT",
    "SPECIAL_LEVELS",
    "WRONG_COMMUNITY",
    "PrinterSnmpSimulator",
]
