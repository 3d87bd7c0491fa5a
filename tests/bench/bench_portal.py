"""The client portal's page on the large seed: time to render `/portal` for a client
admin of `bench-large-client` (300 subscriptions), one request at a time, and the page's
weight (HTML, stylesheet and script).

    python -m tests.bench.bench_portal [--scale large|small] [--requests 200] [--warmup 10]
                                       [--data-dir DIR (reuse a seeded one)]

Targets (issue 13): p95 < 150 ms, page weight < 200 KB. The app runs in process
(httpx's ASGI transport, no socket): the figures are the hub's own time per page,
middleware, session check, queries and template included.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from hub.auth import users
from hub.auth.principal import CLI
from hub.models import Client
from hub.models.enums import Role
from hub.runtime import HubRuntime
from hub.settings import Settings
from tests.bench.bench_api import BENCH_SLUG, REPO, base_env
from tests.web.conftest import PASSWORD, csrf_of

P95_TARGET_MS = 150.0
WEIGHT_TARGET = 200_000
EMAIL = "bench-portal@client.example"


def seed(data_dir: Path, scale: str) -> None:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "hub.cli", "seed", "--scale", scale],
        env=base_env(data_dir, None),
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"seeded ({scale}) in {time.perf_counter() - started:.0f} s", file=sys.stderr)


async def measure(data_dir: Path, requests: int, warmup: int) -> int:
    from hub.app import create_app

    settings = Settings(database_url=f"sqlite+aiosqlite:///{data_dir / 'hub.db'}", data_dir=data_dir)
    async with HubRuntime.open(settings) as runtime, runtime.unit_of_work() as session:
        client_id = (await session.execute(select(Client.id).where(Client.slug == BENCH_SLUG))).scalar_one()
        if await users.by_email(session, EMAIL) is None:
            user = await users.create_user(
                session, CLI, email=EMAIL, name="Bench", role=Role.client_admin, client_id=client_id
            )
            users.set_password(user, PASSWORD, runtime.now())
    app = create_app(settings=settings)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))  # type: ignore[arg-type]
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://hub.test") as web,
    ):
        token = csrf_of((await web.get("/sign-in")).text)
        signed = await web.post("/sign-in", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token})
        assert signed.status_code == 303 and signed.headers["location"] == "/portal", signed.text[:300]
        for _ in range(warmup):
            assert (await web.get("/portal")).status_code == 200
        times, cpu = [], []
        html = ""
        for _ in range(requests):
            started, started_cpu = time.perf_counter(), time.process_time()
            page = await web.get("/portal")
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            assert page.status_code == 200
            html = page.text
        assets = ["/static/hub.css", *(s.split('"')[0] for s in html.split('<script src="')[1:])]
        weight = len(html.encode())
        for asset in assets:
            weight += len((await web.get(asset)).content)
    times.sort()
    cpu.sort()
    p50 = statistics.median(times)
    p95 = times[int(len(times) * 0.95) - 1]
    cpu95 = cpu[int(len(cpu) * 0.95) - 1]
    rows = html.count("<tr>")
    print(f"portal page: {requests} requests, {rows} table rows")
    print(
        f"  p50 {p50:.1f} ms   p95 {p95:.1f} ms   max {times[-1]:.1f} ms"
        f"   (target p95 < {P95_TARGET_MS:.0f} ms)"
    )
    # On a shared machine the wall time includes waiting for a core; the process's own CPU
    # time per page does not (the database is SQLite, in process: its work is counted).
    print(f"  CPU per page: p50 {statistics.median(cpu):.1f} ms   p95 {cpu95:.1f} ms")
    print(f"  load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(
        f"  weight {weight / 1000:.1f} KB (HTML {len(html.encode()) / 1000:.1f} KB"
        f" + {len(assets)} assets; target < 200 KB)"
    )
    return 0 if p95 < P95_TARGET_MS and weight < WEIGHT_TARGET else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=["large", "small"], default="large")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--data-dir", type=Path, help="a data dir seeded already (skips seeding)")
    args = parser.parse_args()
    if args.data_dir:
        return asyncio.run(measure(args.data_dir, args.requests, args.warmup))
    with tempfile.TemporaryDirectory(prefix="hub-bench-portal-") as tmp:
        seed(Path(tmp), args.scale)
        return asyncio.run(measure(Path(tmp), args.requests, args.warmup))


if __name__ == "__main__":
    sys.exit(main())
