"""`hub serve --workers N`: N API processes on PostgreSQL; refused, in one line, on SQLite.

The real `hub` executable on a free local port against this test's database (SQLite or
PostgreSQL, whichever the run uses): each database gets the answer it should.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from hub.settings import Settings
from tests.cli.test_serve_e2e import _free_port

HUB_EXE = Path(sys.executable).with_name("hub")
STARTUP_TIMEOUT = 90.0


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DATABASE_URL=settings.database_url,
        HUB_DATA_DIR=str(settings.data_dir),
        HUB_SECRET_KEY=settings.secret_key.get_secret_value(),
        HUB_LOG_LEVEL="warning",
    )
    return env


def _api_processes(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """uvicorn's children that serve (multiprocessing's resource tracker aside)."""
    out = []
    for child in psutil.Process(proc.pid).children():
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                out.append(child)
        except psutil.NoSuchProcess:
            continue
    return out


def test_serve_with_several_workers_runs_that_many_processes_or_refuses_sqlite(
    settings: Settings, tmp_path: Path
) -> None:
    port = _free_port()
    stderr = tmp_path / "stderr"
    with stderr.open("wb") as err:
        proc = subprocess.Popen(
            [
                str(HUB_EXE),
                "serve",
                "--workers",
                "2",
                "--no-worker",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=_env(settings),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        if settings.is_sqlite:
            assert proc.wait(timeout=60) == 2
            message = stderr.read_text()
            assert "--workers 2" in message and "PostgreSQL" in message
            assert "Traceback" not in message
            return
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        answered = 0
        with httpx.Client(base_url=base, timeout=5, trust_env=False) as http:
            while answered < 20:
                assert proc.poll() is None, stderr.read_text()
                assert time.monotonic() < deadline, f"not serving:\n{stderr.read_text()}"
                try:
                    response = http.get("/readyz")
                except httpx.TransportError:
                    time.sleep(0.1)
                    continue
                assert response.status_code == 200, response.text
                answered += 1
        while len(_api_processes(proc)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_api_processes(proc)) == 2
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, stderr.read_text()
