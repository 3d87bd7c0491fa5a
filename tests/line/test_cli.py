"""`hub lines add|list|show|probe` as an operator uses them, against a loopback port that
listens, then does not."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from hub.cli import app
from hub.models import Client, Vendor, VendorAccount
from hub.models.enums import VendorCategory
from hub.runtime import run_in_unit
from hub.settings import Settings

runner = CliRunner()


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_DATA_DIR": str(settings.data_dir),
        "HUB_SECRET_KEY": settings.secret_key.get_secret_value(),
        "HUB_LINE_CONNECT_TIMEOUT_SECONDS": "1",
    }.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    """A loopback port that accepts connections (the kernel completes them in the backlog)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def isp_account(settings: Settings) -> None:
    async def add(session: Any) -> None:
        client = Client(name="Rossi Srl", slug="rossi")
        vendor = Vendor(name="Fibra Nord", category=VendorCategory.isp)
        session.add_all([client, vendor])
        await session.flush()
        session.add(VendorAccount(client_id=client.id, vendor_id=vendor.id, account_number="ISP-0042"))

    run_in_unit(add, settings)


def test_add_list_show_and_probe_a_line(cli_env: None, settings: Settings, listening: socket.socket) -> None:
    isp_account(settings)
    port = listening.getsockname()[1]
    added = invoke(
        "lines", "add", "--client", "rossi", "--account", "ISP-0042", "--name", "Office fibre",
        "--circuit", "007-FTTH-1", "--technology", "ftth", "--down", "1000", "--up", "300",
        "--block", "203.0.113.8/30", "--probe", f"127.0.0.1:{port}", "--monthly-cost", "39.90",
        "--failures-for-down", "1",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "007-FTTH-1" in added.output and "203.0.113.9, 203.0.113.10" in added.output

    probed = invoke("lines", "probe", "007-FTTH-1", "--json")
    assert probed.exit_code == 0, probed.output
    result = json.loads(probed.stdout)
    assert result["state"] == "up" and result["results"][0]["target"] == f"127.0.0.1:{port}"

    listening.close()
    down = json.loads(invoke("lines", "probe", "007-FTTH-1", "--json").stdout)
    assert down["state"] == "down" and down["results"][0]["error"] == "connection refused"

    [row] = json.loads(invoke("lines", "list", "--client", "rossi", "--json").stdout)
    assert row["client"] == "rossi" and row["state"] == "down" and row["monthly_cost"] == "39.90"
    shown = json.loads(invoke("lines", "show", row["id"], "--json").stdout)
    assert [p["ok"] for p in shown["probes"]] == [False, True]
    assert {(c["kind"], c["address"]) for c in shown["checks"]} == {
        ("ptr", "203.0.113.9"),
        ("ptr", "203.0.113.10"),
    }
    table = invoke("lines", "list")
    assert table.exit_code == 0 and "rossi" in table.output and "down" in table.output


def test_bad_options_end_with_one_line_naming_the_problem(cli_env: None, settings: Settings) -> None:
    isp_account(settings)
    base = [
        "lines",
        "add",
        "--client",
        "rossi",
        "--account",
        "ISP-0042",
        "--name",
        "L",
        "--technology",
        "ftth",
    ]
    cases = [
        (["--circuit", "C", "--block", "10.0.0.0/8"], "address_blocks.0"),
        (["--circuit", "C", "--probe", "no-port"], "host:port"),
        (["--circuit", "C", "--account", "NOPE"], "no vendor account(s) numbered 'NOPE'"),
    ]
    for extra, says in cases:
        r = invoke(*base, *extra)
        assert r.exit_code == 1 and says in r.stderr and "Traceback" not in r.output, (extra, r.output)
    missing = invoke("lines", "show", "NO-SUCH-CIRCUIT")
    assert missing.exit_code == 1 and "no line with id or circuit id" in missing.stderr


def test_import_lines_from_csv_all_or_nothing(cli_env: None, settings: Settings, tmp_path: Any) -> None:
    isp_account(settings)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "client;isp_account;name;circuit_id;technology;address_blocks;monthly_cost\n"
        "rossi;ISP-0042;Office;C-1;ftth;203.0.113.8/29;89,90\n"
        "rossi;ISP-0042;Store;C-2;smoke;10.0.0.0/8;1.234\n"
        "rossi;NOPE;Depot;C-3;fwa;;\n"
    )
    refused = invoke("lines", "import", str(bad))
    assert refused.exit_code == 1
    for expected in (
        "bad.csv:3: [monthly_cost]",
        "bad.csv:3: [technology]",
        "bad.csv:4: [isp_account]",
        "nothing was imported",
    ):
        assert expected in refused.stderr, refused.stderr
    assert json.loads(invoke("lines", "list", "--json").stdout) == []

    good = tmp_path / "good.csv"
    good.write_text(
        "Client;ISP account;Name;Circuit ID;Technology;Bandwidth down Mbps;Address blocks;"
        "Probe targets;Monthly cost\n"
        "rossi;ISP-0042;Office;C-1;ftth;1000;203.0.113.8/30 2001:db8::25;127.0.0.1:9,443;89,90\n"
        "rossi;ISP-0042;Backup;C-2;fwa;100,5;;;\n"
    )
    assert invoke("lines", "import", str(good), "--dry-run").exit_code == 0
    assert json.loads(invoke("lines", "list", "--json").stdout) == []
    done = invoke("lines", "import", str(good))
    assert done.exit_code == 0 and "2 line(s) imported" in done.stdout
    rows = {r["circuit_id"]: r for r in json.loads(invoke("lines", "list", "--json").stdout)}
    assert rows["C-1"]["monthly_cost"] == "89.90" and rows["C-1"]["address_blocks"] == [
        "203.0.113.8/30",
        "2001:db8::25/128",
    ]
    assert rows["C-1"]["probe_targets"] == [{"host": "127.0.0.1", "ports": [9, 443]}]
    assert rows["C-2"]["bandwidth_down_mbps"] == "100.5"
