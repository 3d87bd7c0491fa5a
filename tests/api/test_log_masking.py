"""Capability tokens (calendar feeds, approval links) never reach a log line: not the
access log of the real server, not the hub's own error log (issue 11 §7.5)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn

from hub.app import create_app
from hub.kit.logmask import mask_capabilities
from tests.conftest import make_token

FEED = "hubcal_1a2b3c4d_" + "S" * 43


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        (
            f'GET /api/v1/calendar/{FEED}.ics HTTP/1.1" 200',
            'GET /api/v1/calendar/hubcal_1a2b3c4d_***.ics HTTP/1.1" 200',
        ),
        ("/api/v1/calendar/whatever-else.ics", "/api/v1/calendar/***.ics"),
        ("POST /api/v1/approvals/eyJyIjoiMSJ9.c2lnbmF0dXJl", "POST /api/v1/approvals/***"),
        ("/api/v1/approvals/eyJyIjoiMSJ9.c2ln?x=1", "/api/v1/approvals/***?x=1"),
        ("GET /api/v1/clients/1234 HTTP/1.1", "GET /api/v1/clients/1234 HTTP/1.1"),
    ],
)
def test_mask_capabilities(line: str, masked: str) -> None:
    assert mask_capabilities(line) == masked


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@asynccontextmanager
async def _serve(app: object) -> AsyncIterator[tuple[str, Captured]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="info", access_log=True, lifespan="off")  # type: ignore[arg-type]
    captured = Captured()
    captured.setFormatter(logging.Formatter("%(message)s"))
    access = logging.getLogger("uvicorn.access")  # configured by uvicorn.Config just now
    access.addHandler(captured)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}", captured
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 5)
        access.removeHandler(captured)
        sock.close()


async def test_the_access_log_of_the_real_server_masks_feed_and_link_tokens(runtime):
    app = create_app(runtime)
    token = await make_token(app)
    async with _serve(app) as (base, captured):
        # A wide timeout: the server shares a loaded machine with the rest of the suite.
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=auth, timeout=30) as http:
            c = (await http.post("/api/v1/clients", json={"name": "Alfa", "slug": "alfa"})).json()
            feed = (
                await http.post("/api/v1/calendar/feeds", json={"client_id": c["id"], "name": "x"})
            ).json()
            assert (await http.get(f"/api/v1/calendar/{feed['token']}.ics")).status_code == 200
            link = "eyJyIjoiMDAwMCJ9." + "A" * 43
            assert (await http.get(f"/api/v1/approvals/{link}")).status_code == 404
        for _ in range(100):  # the access log line is written after the response
            if len(captured.lines) >= 4:
                break
            await asyncio.sleep(0.01)
    text = "\n".join(captured.lines)
    assert "/calendar/" in text and "/approvals/" in text, text
    secret_part = feed["token"].split("_", 2)[2]
    assert secret_part not in text and link not in text and "A" * 43 not in text
    assert f"{feed['prefix']}_***.ics" in text


async def test_the_error_log_masks_a_token_in_the_path(runtime, caplog):
    app = create_app(runtime)

    async def boom(token: str) -> None:
        raise RuntimeError("bug")

    # First in the table: the API is a mount at /api/v1 (hub.app), which answers 404 for
    # a path of its own it does not know instead of passing it on to a route added later.
    app.router.add_api_route("/api/v1/approvals/{token}/boom", boom, include_in_schema=False)
    app.router.routes.insert(0, app.router.routes.pop())

    caplog.set_level(logging.ERROR, logger="hub.errors")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        r = await http.get("/api/v1/approvals/eyJyIjoiMSJ9.c2lnbmF0dXJlLXNlY3JldA/boom")
    assert r.status_code == 500
    assert "unhandled error" in caplog.text and "c2lnbmF0dXJlLXNlY3JldA" not in caplog.text
