"""`hub check` commands end to end against the loopback DNS and RDAP servers."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from hub.check.cli import app
from tests.check.dns_server import DnsTestServer
from tests.check.http_server import RdapTestServer, rdap_domain
from tests.check.world import STRONG_KEY, publish, txt

runner = CliRunner()


def _soon(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_domain_report_shows_each_finding_for_a_technician(dns_server: DnsTestServer) -> None:
    publish(dns_server, "client.test", {("@", "TXT"): [txt("v=spf1 mx +all")], ("_dmarc", "TXT"): []})
    result = runner.invoke(app, ["domain", "client.test", "--nameserver", dns_server.address, "--no-rdap"])
    assert result.exit_code == 0, result.output
    for expected in ("client.test", "FAIL", "spf_pass_all", "critical", "dmarc_missing", "SPF", "DMARC"):
        assert expected in result.output


def test_domain_json_lists_codes_and_evidence(dns_server: DnsTestServer, tmp_path: Path) -> None:
    publish(dns_server, "client.test", {("selector1._domainkey", "TXT"): []})
    with RdapTestServer() as rdap:
        rdap.domains["client.test"] = rdap_domain("client.test", _soon(3))
        result = runner.invoke(
            app,
            [
                "domain",
                "client.test",
                "-n",
                dns_server.address,
                "--json",
                "--rdap-base",
                rdap.base_url,
                "--dkim-selector",
                "custom",
            ],
        )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["findings"] == ["dkim_missing", "domain_expiring_7d"]
    assert "custom" in payload["checks"]["dkim"]["findings"][0]["evidence"]["selectors"]
    assert payload["status"] == "fail"


def test_domains_writes_one_line_per_domain(dns_server: DnsTestServer, tmp_path: Path) -> None:
    publish(dns_server, "good.test")
    publish(dns_server, "bad.test", {("@", "TXT"): [], ("_dmarc", "TXT"): [txt("v=DMARC1; p=none")]})
    publish(dns_server, "custom-dkim.test", {("selector1._domainkey", "TXT"): []})
    dns_server.add("k9._domainkey.custom-dkim.test", "TXT", txt("v=DKIM1; p="))
    domains = tmp_path / "domains.txt"
    domains.write_text("good.test\nbad.test\n# comment\ncustom-dkim.test\nnot a domain\n")
    selectors = tmp_path / "selectors.json"
    selectors.write_text(json.dumps({"custom-dkim.test": ["k9"]}))
    out = tmp_path / "out.jsonl"
    with RdapTestServer() as rdap:
        rdap.domains = {
            name: rdap_domain(name, _soon(400)) for name in ("good.test", "bad.test", "custom-dkim.test")
        }
        rdap.domains["bad.test"] = rdap_domain("bad.test", _soon(-2))
        result = runner.invoke(
            app,
            [
                "domains",
                str(domains),
                "--nameserver",
                dns_server.address,
                "--out",
                str(out),
                "--dkim-selectors",
                str(selectors),
                "--rdap-base",
                rdap.base_url,
            ],
        )
    assert result.exit_code == 0, result.output
    lines = {line["domain"]: line for line in map(json.loads, out.read_text().splitlines())}
    assert lines["good.test"]["findings"] == []
    assert lines["bad.test"]["findings"] == [
        "spf_missing",
        "dmarc_policy_none",
        "dmarc_rua_missing",
        "domain_expired",
    ]
    assert lines["custom-dkim.test"]["findings"] == ["dkim_revoked", "dkim_missing"]
    assert lines["not a domain"]["error"]
    assert "3 domains" in result.stderr


def test_a_plain_list_of_selectors_applies_to_every_domain(dns_server: DnsTestServer, tmp_path: Path) -> None:
    # Two domains signing only with a selector the defaults do not guess.
    for name in ("k9-one.test", "k9-two.test"):
        publish(dns_server, name, {("selector1._domainkey", "TXT"): []})
        dns_server.add(f"k9._domainkey.{name}", "TXT", txt(f"v=DKIM1; k=rsa; p={STRONG_KEY}"))
    domains = tmp_path / "domains.txt"
    domains.write_text("k9-one.test\nk9-two.test\n")
    selectors = tmp_path / "selectors.txt"
    out = tmp_path / "out.jsonl"

    def findings(selector_lines: str) -> dict[str, list[str]]:
        selectors.write_text(selector_lines)
        args = ["domains", str(domains), "-n", dns_server.address, "--out", str(out), "--no-rdap"]
        result = runner.invoke(app, [*args, "--dkim-selectors", str(selectors)])
        assert result.exit_code == 0, result.output
        return {line["domain"]: line["findings"] for line in map(json.loads, out.read_text().splitlines())}

    assert findings("# selectors we use everywhere\nnot-k9\n") == {
        "k9-one.test": ["dkim_missing"],
        "k9-two.test": ["dkim_missing"],
    }
    assert findings("# selectors we use everywhere\nk9\n") == {"k9-one.test": [], "k9-two.test": []}


def test_a_selectors_file_that_is_not_one_names_the_line(tmp_path: Path) -> None:
    domains = tmp_path / "domains.txt"
    domains.write_text("example.test\n")
    selectors = tmp_path / "selectors.txt"
    selectors.write_text("selector1\nexample.test s1\nnot_a_domain! s2\n")
    args = ["domains", str(domains), "-n", "127.0.0.1:9", "--out", str(tmp_path / "o"), "--no-rdap"]
    result = runner.invoke(app, [*args, "--dkim-selectors", str(selectors)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{selectors}:3: 'not_a_domain!' is not a domain name" in " ".join(result.stderr.split())


def test_dnsbl_command_writes_listings_and_zone_errors(dns_server: DnsTestServer, tmp_path: Path) -> None:
    dns_server.add("99.2.0.192.zen.bl.test", "A", "127.0.0.2")
    dns_server.add("99.2.0.192.refusing.bl.test", "A", "127.255.255.254")
    zones = tmp_path / "zones.json"
    zones.write_text(
        json.dumps(
            [
                {"zone": "zen.bl.test", "kind": "ip", "codes": {"127.0.0.2": "SBL"}, "note": "ignored"},
                {
                    "zone": "refusing.bl.test",
                    "kind": "ip",
                    "codes": {"127.0.0.2": "listed"},
                    "errors": {"127.255.255.254": "public resolver"},
                },
                {"zone": "dbl.bl.test", "kind": "domain", "codes": {"127.0.1.2": "spam domain"}},
            ]
        )
    )
    ips = tmp_path / "ips.txt"
    ips.write_text("192.0.2.99\n192.0.2.1\n192.0.2.99\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["dnsbl", str(ips), "--zones", str(zones), "--nameserver", dns_server.address, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines == [
        {"ip": "192.0.2.99", "listed": {"zen.bl.test": ["127.0.0.2"]}, "errors": ["refusing.bl.test"]},
        {"ip": "192.0.2.1", "listed": {}, "errors": ["refusing.bl.test"]},
    ]


def test_bad_nameserver_is_a_usage_error() -> None:
    result = runner.invoke(app, ["domain", "client.test", "--nameserver", "dns.example:53", "--no-rdap"])
    assert result.exit_code == 2


def test_module_runs_as_a_script_before_registration() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hub.check.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert "domains" in done.stdout and "dnsbl" in done.stdout


def test_domains_split_over_worker_processes_write_the_same_lines(
    dns_server: DnsTestServer, tmp_path: Path
) -> None:
    names = [publish(dns_server, f"w{i}.test") for i in range(4)]
    publish(dns_server, "w-bad.test", {("@", "TXT"): []})
    domains = tmp_path / "domains.txt"
    domains.write_text("\n".join([*names, "w-bad.test"]))
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out-{workers}.jsonl"
        args = ["domains", str(domains), "--nameserver", dns_server.address, "--out", str(out), "--no-rdap"]
        result = runner.invoke(app, [*args, "--workers", workers])
        assert result.exit_code == 0, result.output
        assert f"{workers} worker" in result.stderr
        outputs.append(sorted(out.read_text().splitlines()))
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[1][0]) == {"domain": "w-bad.test", "findings": ["spf_missing"], "unknown": []}


def test_workers_forked_by_the_command_line_write_the_same_lines(
    dns_server: DnsTestServer, tmp_path: Path
) -> None:
    """`hub check domains` as a user runs it: a process with no other thread, whose
    workers are forked (this test's process runs the DNS server in a thread, so the
    in-process runs above spawn theirs)."""
    names = [publish(dns_server, f"f{i}.test") for i in range(6)]
    publish(dns_server, "f-bad.test", {("@", "TXT"): []})
    domains = tmp_path / "domains.txt"
    domains.write_text("\n".join([*names, "f-bad.test"]))
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out-{workers}.jsonl"
        args = ["domains", str(domains), "--nameserver", dns_server.address, "--out", str(out), "--no-rdap"]
        done = subprocess.run(
            [sys.executable, "-m", "hub.check.cli", *args, "--workers", workers],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "7 domains in" in done.stderr and f"{workers} worker" in done.stderr
        outputs.append(sorted(out.read_text().splitlines()))
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[1][0]) == {"domain": "f-bad.test", "findings": ["spf_missing"], "unknown": []}


def test_workers_are_forked_only_from_a_process_without_other_threads() -> None:
    code = """
import threading
from hub.check.workers import _fork_is_safe
alone = _fork_is_safe()
stop = threading.Event()
threading.Thread(target=stop.wait).start()
print(alone, _fork_is_safe())
stop.set()
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["True", "False"], done.stderr


def test_dnsbl_refusal_seen_by_one_worker_makes_the_zone_unknown_in_all(
    dns_server: DnsTestServer, tmp_path: Path
) -> None:
    # Targets are dealt round-robin: the listed address goes to the first worker, the one
    # the zone refuses to the second. The listing must not survive the refusal.
    dns_server.add("1.2.0.192.zen.bl.test", "A", "127.0.0.2")
    dns_server.add("2.2.0.192.zen.bl.test", "A", "127.255.255.254")
    zones = tmp_path / "zones.json"
    zones.write_text(json.dumps([{"zone": "zen.bl.test", "codes": {"127.0.0.2": "SBL"}}]))
    ips = tmp_path / "ips.txt"
    ips.write_text("192.0.2.1\n192.0.2.2\n")
    out = tmp_path / "out.jsonl"
    args = ["dnsbl", str(ips), "--zones", str(zones), "--nameserver", dns_server.address, "--out", str(out)]
    result = runner.invoke(app, [*args, "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {"ip": "192.0.2.1", "listed": {}, "errors": ["zen.bl.test"]},
        {"ip": "192.0.2.2", "listed": {}, "errors": ["zen.bl.test"]},
    ]
