"""The Pax8 simulator of the lost-response storm, served by uvicorn in its own process on a
loopback port (so that the hub's workers and the harness do not share its CPU or GIL).

Faults apply to the real order only (`POST /v1/orders` with no query string; the dry run
`?isMock=true` and every read are answered normally): by default 20 % are applied and
their answer replaced by a 502 ("commit, then drop the response"), 10 % answered 503 and
5 % 429 before anything is stored, 5 % answered after `slow_seconds`. On stop the process
sends back what the vendor saw: orders per (subscription, term), early renewals, the
faults it injected and every subscription's end date.
"""

from __future__ import annotations

import multiprocessing as mp
import re
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

ORDER_PATH = r"^/v1/orders$"
STORM_RATES: dict[int | str, float] = {"commit_then_fail": 0.20, 503: 0.10, 429: 0.05, "slow": 0.05}


@dataclass(frozen=True)
class SimSub:
    id: str
    company_id: str
    company_name: str
    product: str
    quantity: int
    partner_cost: Decimal
    currency: str
    ends_on: date


@dataclass
class SimReport:
    """What the vendor saw, read after the simulator stopped."""

    orders_per_term: dict[tuple[str, date], int]
    early_renewals: list[tuple[str, date]]
    injected: dict[int | str, int]
    requests: int
    real_order_posts: int
    mock_order_posts: int
    ends_on: dict[str, date] = field(default_factory=dict)
    # "METHOD /path" (ids as {id}, "?query" kept as "?") -> requests seen
    by_endpoint: dict[str, int] = field(default_factory=dict)

    def duplicates(self) -> list[tuple[str, date]]:
        return [key for key, n in self.orders_per_term.items() if n > 1]

    def orders_for(self, sub_id: str) -> int:
        return sum(n for (sid, _), n in self.orders_per_term.items() if sid == sub_id)


def _serve(
    sock: socket.socket,
    scale: tuple[int, int],
    ends_within_days: int,
    rates: dict[int | str, float],
    slow_seconds: float,
    seed: int,
    modes: dict[str, Any],
    conn: Any,
    stop: Any,
) -> None:
    import uvicorn

    from adapters.pax8.simulator import Pax8Simulator
    from hub.sdk.testing import RandomFaults

    sim = Pax8Simulator(scale=scale, ends_within_days=ends_within_days, activation_seconds=0, **modes)
    sim.faults.random = RandomFaults(
        dict(rates), seed=seed, method="POST", path=ORDER_PATH, query=r"^$", latency=slow_seconds
    )
    subs = [
        SimSub(
            s.id,
            s.company_id,
            sim.companies[s.company_id].name,
            s.product_name,
            s.quantity,
            s.partner_cost,
            s.currency,
            s.commitment_end,
        )
        for s in (sim.subscriptions[i] for i in sim._sub_order)
        if s.commitment_end is not None
    ]
    server = uvicorn.Server(
        uvicorn.Config(
            sim.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1, backlog=4096
        )
    )
    threading.Thread(target=lambda: (stop.wait(), setattr(server, "should_exit", True)), daemon=True).start()
    conn.send(subs)
    server.run(sockets=[sock])
    posts = [r for r in sim.requests if r.method == "POST" and r.path == "/v1/orders"]
    conn.send(
        SimReport(
            orders_per_term=dict(sim.orders_per_term),
            early_renewals=list(sim.early_renewals),
            injected=dict(sim.faults.random.hits),
            requests=len(sim.requests),
            real_order_posts=sum(1 for r in posts if "isMock" not in r.query),
            mock_order_posts=sum(1 for r in posts if "isMock" in r.query),
            ends_on={s.id: s.commitment_end for s in sim.subscriptions.values() if s.commitment_end},
            by_endpoint=dict(Counter(_endpoint(r.method, r.path, r.query) for r in sim.requests)),
        )
    )


_ID = re.compile(r"/[0-9a-fA-F-]{8,}(?=/|$)")


def _endpoint(method: str, path: str, query: str) -> str:
    return f"{method} {_ID.sub('/{id}', path)}" + ("?" if query else "")


class SimProcess:
    """`with SimProcess(...) as sim:` serves the simulator; `sim.subs` lists its
    commitments, `sim.base_url` its address; `sim.stop()` returns the SimReport."""

    def __init__(
        self,
        scale: tuple[int, int],
        *,
        ends_within_days: int = 10,
        rates: dict[int | str, float] | None = None,
        slow_seconds: float = 1.0,
        seed: int = 6,
        modes: dict[str, Any] | None = None,
    ) -> None:
        """`modes`: the Pax8 simulator's forgetful behaviours (`keep_order_email=False`,
        `provisioning_delay=s`, `order_list_lag=s`)."""
        ctx = mp.get_context("spawn")
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = ctx.Event()
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_serve,
            args=(
                self._sock,
                scale,
                ends_within_days,
                STORM_RATES if rates is None else rates,
                slow_seconds,
                seed,
                dict(modes or {}),
                child,
                self._stop,
            ),
            daemon=True,
        )
        self.subs: list[SimSub] = []
        self.report: SimReport | None = None

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    def __enter__(self) -> SimProcess:
        self._process.start()
        if not self._conn.poll(120):
            self._process.kill()
            raise RuntimeError("the Pax8 simulator process did not start")
        self.subs = self._conn.recv()
        return self

    def stop(self) -> SimReport:
        if self.report is None:
            self._stop.set()
            if not self._conn.poll(60):
                raise RuntimeError("the Pax8 simulator process sent no report")
            self.report = self._conn.recv()
            self._process.join(30)
        assert self.report is not None
        return self.report

    def __exit__(self, *exc: object) -> None:
        try:
            if self.report is None and self._process.is_alive():
                self._stop.set()
                self._process.join(30)
        finally:
            if self._process.is_alive():
                self._process.kill()
                self._process.join(10)
            self._sock.close()
