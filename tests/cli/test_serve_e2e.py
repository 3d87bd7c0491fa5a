"""What a newcomer does first: `hub demo`, then the API over real HTTP, then Ctrl-C/SIGTERM.

The real `hub` executable runs as a subprocess on a free local port: it migrates, loads
the demo, prints the admin token alone on a stdout line and serves with uvicorn.
"""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from tests import conftest

HUB_EXE = Path(sys.executable).with_name("hub")
TOKEN_LINE = re.compile(r"^(hub_[0-9a-f]{8}_[A-Za-z0-9_-]{40,})$", re.MULTILINE)
WORLD_LINE = re.compile(
    r"demo world: DNS 127\.0\.0\.1:(\d+) \(UDP and TCP\), RDAP http://127\.0\.0\.1:(\d+)/"
)
# The demo runs its checks, syncs its vendors and runs its renewals before it serves; on
# two shared cores that takes a while.
STARTUP_TIMEOUT = 120.0
ZERO = Decimal(0)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_token(proc: subprocess.Popen[bytes], stdout: Path, stderr: Path) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        found = TOKEN_LINE.search(stdout.read_text(errors="replace"))
        if found:
            return found.group(1)
        if proc.poll() is not None:
            raise AssertionError(f"hub demo exited with {proc.returncode}:\n{stderr.read_text()}")
        time.sleep(0.05)
    raise AssertionError(f"no token on stdout after {STARTUP_TIMEOUT} s:\n{stderr.read_text()}")


def _wait_until_live(proc: subprocess.Popen[bytes], base_url: str, stderr: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with httpx.Client(base_url=base_url, timeout=2, trust_env=False) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"hub demo exited with {proc.returncode}:\n{stderr.read_text()}")
            try:
                if http.get("/livez").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise AssertionError(f"/livez did not answer within {STARTUP_TIMEOUT} s:\n{stderr.read_text()}")


def _port_is_free(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _sum(values: Any) -> Decimal:
    return sum((Decimal(v) for v in values), ZERO)


def _check_spend_totals(report: dict[str, Any]) -> None:
    """Per currency: totals are the sums of that currency's lines, and nothing else."""
    lines = report["lines"]
    by_currency: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        by_currency[line["currency"]].append(line)
    totals = {t["currency"]: t for t in report["totals"]}
    assert set(totals) == set(by_currency), report["client"]["slug"]
    for currency, mine in by_currency.items():
        total = totals[currency]
        where = f"{report['client']['slug']} {currency}"
        assert total["lines"] == len(mine), where
        assert Decimal(total["monthly"]) == _sum(line["monthly"] for line in mine), where
        assert Decimal(total["yearly"]) == _sum(line["yearly"] for line in mine), where
        assert _sum(total["by_payer"].values()) == Decimal(total["monthly"]), where
        assert _sum(total["by_category"].values()) == Decimal(total["monthly"]), where
        for payer, amount in total["by_payer"].items():
            assert Decimal(amount) == _sum(x["monthly"] for x in mine if x["payer"] == payer), where
        for category, amount in total["by_category"].items():
            assert Decimal(amount) == _sum(x["monthly"] for x in mine if x["category"] == category), where


def _csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_hub_demo_serves_the_demo_over_http_and_stops_cleanly_on_sigterm(
    database: conftest.TestDatabase, tmp_path: Path
) -> None:
    data_dir = tmp_path / "newcomer"
    port = _free_port()
    env = {
        **os.environ,
        # SQLite: nothing configured, exactly like a fresh clone (the file and the secret
        # key are created under the data directory). PostgreSQL: this test's database.
        "HUB_DATABASE_URL": database.url if database.kind == "postgresql" else "",
        "HUB_DATA_DIR": str(data_dir),
        # SQLite: none, as on a fresh clone. PostgreSQL refuses to start without one.
        "HUB_SECRET_KEY": conftest.TEST_KEY if database.kind == "postgresql" else "",
        "HUB_LOG_LEVEL": "info",
    }
    stdout_path, stderr_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            [str(HUB_EXE), "demo", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    try:
        token = _wait_for_token(proc, stdout_path, stderr_path)
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_live(proc, base_url, stderr_path)
        world = WORLD_LINE.search(stderr_path.read_text())
        assert world, stderr_path.read_text()
        world_ports = [int(world.group(1)), int(world.group(2))]
        assert not any(_port_is_free(p) for p in world_ports)  # the world serves beside the API
        if database.kind == "sqlite":
            assert (data_dir / "hub.db").is_file()
            assert stat.S_IMODE((data_dir / "secret.key").stat().st_mode) == 0o600
        assert stat.S_IMODE((data_dir / "demo-admin-token").stat().st_mode) == 0o600

        with httpx.Client(base_url=base_url, timeout=10, trust_env=False) as anon:
            docs = anon.get("/docs")
            assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
            schema = anon.get("/openapi.json")
            assert schema.status_code == 200
            assert "/api/v1/clients/{client_id}/spend" in schema.json()["paths"]
            assert anon.get("/api/v1/clients").status_code == 401
            assert anon.get("/api/v1/clients", headers={"Authorization": "Bearer hub_x"}).status_code == 401

        with httpx.Client(
            base_url=f"{base_url}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
            trust_env=False,
        ) as api:
            listed = api.get("/clients", params={"limit": 100})
            assert listed.status_code == 200, listed.text
            clients = listed.json()["items"]
            assert len(clients) == listed.json()["total"] == 12

            currencies: set[str] = set()
            for client in clients:
                spend = api.get(f"/clients/{client['id']}/spend")
                assert spend.status_code == 200, spend.text
                report = spend.json()
                assert report["client"]["id"] == client["id"] and report["lines"]
                _check_spend_totals(report)
                currencies |= {t["currency"] for t in report["totals"]}

                by_query = _csv_rows(api.get(f"/clients/{client['id']}/spend", params={"format": "csv"}))
                by_header = _csv_rows(
                    api.get(f"/clients/{client['id']}/spend", headers={"Accept": "text/csv"})
                )
                assert by_query == by_header
                assert [r["subscription_id"] for r in by_query] == [
                    line["subscription_id"] for line in report["lines"]
                ]
            assert {"EUR", "CHF", "USD"} <= currencies  # the demo does bill in several currencies

            # The demo's checks ran against its world before serving: faults are visible at once.
            failing = api.get("/checks", params={"status": "fail", "limit": 1000})
            assert failing.status_code == 200, failing.text
            assert {"spf", "dnsbl", "firmware"} <= {c["kind"] for c in failing.json()["items"]}
            assert all(c["enabled"] for c in failing.json()["items"])  # re-run while serving
            # The embedded worker runs them against the world too (not the system resolver).
            spf = next(c for c in failing.json()["items"] if c["kind"] == "spf")
            assert api.post(f"/checks/{spf['id']}/run").status_code == 202
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while (runs := api.get(f"/checks/{spf['id']}/runs").json())["total"] < 2:
                assert time.monotonic() < deadline, "the worker did not re-run the check"
                time.sleep(0.1)
            assert runs["items"][0]["status"] == "fail", runs["items"][0]
            assert [f["code"] for f in runs["items"][0]["findings"]] == ["spf_too_many_lookups"]

            # The demo's vendors were connected and synced, and its renewals ran, before serving.
            connections = api.get("/connections", params={"limit": 100})
            assert connections.status_code == 200, connections.text
            assert connections.json()["items"], "the demo connects to its simulated vendors"
            assert all(c["enabled"] and c["health"] == "ok" for c in connections.json()["items"])
            renewals = api.get("/renewals", params={"limit": 100})
            assert renewals.status_code == 200, renewals.text
            states = {r["state"] for r in renewals.json()["items"]}
            assert {"confirmed", "awaiting_approval", "escalated"} <= states

            upcoming = api.get("/renewals/upcoming", params={"within_days": 30})
            assert upcoming.status_code == 200, upcoming.text
            items = upcoming.json()["items"]
            assert items, "the demo always has something ending within 30 days"
            ends = [date.fromisoformat(item["ends_on"]) for item in items]
            assert ends == sorted(ends)
            assert all(0 <= item["days_left"] <= 30 for item in items)

        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        returncode = proc.wait(timeout=10)
        assert time.monotonic() - started < 5
        log = stderr_path.read_text()
        # uvicorn's graceful shutdown: the lifespan ran to its end (the engine was disposed).
        assert "Application shutdown complete" in log and "Finished server process" in log, log
        # One SIGTERM, one shutdown told (the demo world's simulators once told it 8 times).
        assert log.count("Shutting down") == 1 and log.count("Finished server process") == 1, log
        assert "Traceback" not in log, log
        # The demo world went down with the API: its ports are free again.
        assert "demo world stopped" in log, log
        assert all(_port_is_free(p) for p in world_ports), world_ports
        # uvicorn (>= 0.29) re-raises the signal it handled once shut down, so the process
        # ends "killed by SIGTERM" after a clean shutdown; anything else is a failure.
        assert returncode in (0, -signal.SIGTERM), (returncode, log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
