"""What the checks' processes load, seen from a fresh interpreter: a `--workers` process
runs its domain and DNSBL jobs without the ORM or SQLAlchemy (a spawned worker pays for
every import in every bulk run), the engine needs neither an HTTP client, and `hub check`
itself does not load the ORM models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.check.dns_server import DnsTestServer
from tests.check.world import publish

ROOT = Path(__file__).resolve().parents[2]

LOADED = """
import json, sys
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "httpx")
                        or m == "hub.models" or m.startswith("hub.models."))))
"""

# The body of each worker process, run here in one process with a list for its queue.
WORKER = """
import json, sys
from hub.check.settings import CheckSettings
from hub.check.workers import DnsblJob, DomainJob, run_dnsbl_job, run_domain_job

class Out(list):
    def put(self, message):
        self.append(message)

settings = CheckSettings(dns_nameservers=[sys.argv[1]], dns_timeout=0.3, dns_attempts=1)
dumped = settings.model_dump(mode="json")
out = Out()
run_domain_job(DomainJob(dumped, ["example.test"], {}, rdap=False), out)
run_dnsbl_job(DnsblJob(dumped, ["192.0.2.1"], [{"zone": "bl.test"}], [None], [None]), out)
print(json.dumps([kind for kind, _ in out]))
"""


def _run(code: str, *args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_worker_process_runs_its_jobs_without_the_orm(dns_server: DnsTestServer) -> None:
    publish(dns_server, "example.test")
    messages, loaded = _run(WORKER + LOADED, dns_server.address)
    assert [m for m in messages if m != "tick"] == ["line", "done", "results", "done"]
    assert [m for m in loaded if m.split(".")[0] != "httpx"] == []


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("hub.check.engine", set()),
        # `hub check` starts without an HTTP client (made when RDAP first needs it) or SQLAlchemy.
        ("hub.check.cli", set()),
    ],
)
def test_importing_loads_neither_the_orm_nor_more_than_allowed(module: str, allowed: set[str]) -> None:
    (loaded,) = _run(f"import {module}\n" + LOADED)
    assert [m for m in loaded if m.split(".")[0] not in allowed] == []
