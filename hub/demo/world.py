"""The demo world: the loopback services `hub demo` runs beside the API so that the demo's
checks (and, later, its vendor adapters) talk to something real without a packet leaving
the machine.

One place starts every service, records where it listens and stops them all. Each service
runs in its own thread and event loop, so the world outlives the short `asyncio.run` calls
of the CLI and serves uvicorn's loop too. A service is anything with `start()`, `stop()`
and `addresses`; vendor simulators are ASGI apps added with `AsgiService`:

    world = DemoWorld.for_demo(plan)
    world.add(AsgiService("vendor.acme", acme_simulator_app()))
    with world:
        world.addresses["vendor.acme"]  # {"url": "http://127.0.0.1:PORT"}

Ports are ephemeral unless chosen, so two demos (or tests) never collide.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import uvicorn

from hub.check.settings import CheckSettings
from hub.demo.dns_server import DnsServer
from hub.demo.rdap import rdap_app
from hub.demo.zones import WorldPlan

LOOPBACK = "127.0.0.1"
DNS = "dns"
RDAP = "rdap"


class Service(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    @property
    def addresses(self) -> dict[str, str]: ...


class DnsService:
    """The authoritative DNS server (UDP and TCP on one port) holding the world's zones."""

    def __init__(self, plan: WorldPlan, *, port: int = 0, name: str = DNS) -> None:
        self.name = name
        # Queries are not recorded: the demo server may run for days.
        self.server = DnsServer(host=LOOPBACK, port=port, record_queries=False)
        for owner, rdtype, rdata in plan.records:
            self.server.add(owner, rdtype, rdata)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    @property
    def addresses(self) -> dict[str, str]:
        return {"nameserver": self.server.address}


THREAD_PREFIX = "demo-"


class QuietWorldServers(logging.Filter):
    """Drops the routine lines (start, "Shutting down", "Finished server process") the demo
    world's own uvicorn servers write: uvicorn logs every server through one process-wide
    logger, which the served API sets to INFO, so one SIGTERM printed the shutdown once per
    simulator. Their warnings and errors still get through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not (record.threadName or "").startswith(THREAD_PREFIX)


def quiet_world_servers() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, QuietWorldServers) for f in logger.filters):
        logger.addFilter(QuietWorldServers())


class AsgiService:
    """An ASGI app served by uvicorn on a loopback port, in a thread of its own."""

    def __init__(self, name: str, app: Any, *, port: int = 0) -> None:
        self.name = name
        self.app = app
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def start(self) -> None:
        # Bound here, before the thread starts: the port is known (and taken) at once.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, self.port))
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self.port = sock.getsockname()[1]
        # log_config=None: the world must not reconfigure the process's logging (the API's).
        config = uvicorn.Config(
            self.app, log_config=None, access_log=False, lifespan="off", server_header=False
        )
        quiet_world_servers()
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve(sock)), daemon=True, name=f"{THREAD_PREFIX}{self.name}"
        )
        self._thread.start()
        for _ in range(500):
            if self._server.started or not self._thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not self._server.started:
            self.stop()
            raise RuntimeError(f"demo service {self.name} did not start")

    async def _serve(self, sock: socket.socket) -> None:
        assert self._server is not None
        await self._server.serve(sockets=[sock])

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def addresses(self) -> dict[str, str]:
        return {"url": self.url}


class DemoWorld:
    def __init__(self, plan: WorldPlan | None = None) -> None:
        # What the world serves (the demo's checks are made from it too).
        self.plan = plan or WorldPlan()
        self.services: dict[str, Service] = {}
        self._started: list[Service] = []

    @classmethod
    def for_demo(cls, plan: WorldPlan, *, dns_port: int = 0, rdap_port: int = 0) -> DemoWorld:
        world = cls(plan)
        world.add(DnsService(plan, port=dns_port))
        world.add(AsgiService(RDAP, rdap_app(plan.expiries), port=rdap_port))
        return world

    def add(self, service: Service) -> Service:
        if service.name in self.services:
            raise ValueError(f"the demo world already has a service named {service.name!r}")
        if self._started:
            raise RuntimeError("add services before the world starts")
        self.services[service.name] = service
        return service

    def start(self) -> DemoWorld:
        """Starts every service; if one fails, those already started are stopped."""
        try:
            for service in self.services.values():
                service.start()
                self._started.append(service)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        while self._started:
            self._started.pop().stop()

    def __enter__(self) -> DemoWorld:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return bool(self._started)

    @property
    def addresses(self) -> dict[str, dict[str, str]]:
        return {name: service.addresses for name, service in self.services.items()}

    @property
    def nameserver(self) -> str:
        return self.addresses[DNS]["nameserver"]

    @property
    def rdap_url(self) -> str:
        return self.addresses[RDAP]["url"]

    def check_settings(self) -> CheckSettings:
        """The user's check settings (environment) with the world's overrides."""
        return CheckSettings(**self.check_overrides())

    def check_overrides(self) -> dict[str, Any]:
        """The check settings that aim the engine at this world. Everything else (timeouts,
        concurrency, DKIM selectors...) stays as the user configured it."""
        return {
            "dns_nameservers": [self.nameserver],
            "rdap_base_url": f"{self.rdap_url}/rdap/",
            "rdap_bootstrap_url": f"{self.rdap_url}/dns.json",
        }

    def environment(self) -> dict[str, str]:
        """The same, as the `HUB_` variables a process reads (the served API's worker reads
        its check settings from the environment at every run)."""
        values = self.check_overrides()
        return {
            "HUB_DNS_NAMESERVERS": ",".join(values["dns_nameservers"]),
            "HUB_RDAP_BASE_URL": values["rdap_base_url"],
            "HUB_RDAP_BOOTSTRAP_URL": values["rdap_bootstrap_url"],
        }


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[dict[str, str | None]]:
    """Sets environment variables for the duration, then restores what was there (yields
    the previous values: the caller can tell the user what was overridden)."""
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield previous
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


__all__ = ["AsgiService", "DemoWorld", "DnsService", "Service", "environment"]
