"""Fixtures of the ISP lines' tests: a real TCP listener on loopback that a test opens and
closes to make a line answer or not, an ISP with a client account, and the checks'
loopback DNS server (tests/check)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from hub.runtime import HubRuntime
from tests import factories as f
from tests.check.conftest import check_settings, dns_server

__all__ = ["check_settings", "dns_server"]


@dataclass
class Listener:
    """A TCP listener on 127.0.0.1 that keeps its port across close/open."""

    port: int = 0
    accepted: int = 0
    _server: asyncio.Server | None = field(default=None, repr=False)

    async def open(self) -> None:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            writer.close()

        self._server = await asyncio.start_server(accept, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    server = Listener()
    await server.open()
    yield server
    await server.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def short_probe(runtime: HubRuntime) -> None:
    runtime.use_settings(line={"connect_timeout_seconds": 1.0})


@dataclass
class Isp:
    client: dict[str, Any]
    vendor: dict[str, Any]
    account: dict[str, Any]


async def isp(api: httpx.AsyncClient, **client: Any) -> Isp:
    c = await f.client(api, **client)
    v = await f.vendor(api, name=f"Fibra {c['slug']}", category="isp")
    a = await f.account(api, c["id"], v["id"], account_number=f"ISP-{c['slug']}")
    return Isp(c, v, a)


async def line(api: httpx.AsyncClient, owner: Isp, **kw: Any) -> dict[str, Any]:
    body = {
        "client_id": owner.client["id"],
        "vendor_account_id": owner.account["id"],
        "name": "Office fibre",
        "circuit_id": "0031-FTTH-000123",
        "technology": "ftth",
        "bandwidth_down_mbps": "1000",
        "bandwidth_up_mbps": "300",
        "address_blocks": ["203.0.113.8/30"],
        **kw,
    }
    r = await api.post("/lines", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]
