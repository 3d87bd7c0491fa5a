"""NSD (Debian's `nsd` package) serving a benchmark world on 127.0.0.1:<port>, run as a
foreground process in a temporary directory, with its query counter read through
nsd-control. Falls back to the dnspython test server when NSD cannot be installed or run.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.message
import dns.query

from tests.bench.checks_world import World, write_zone_files
from tests.check.dns_server import DnsTestServer


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return int(port)
    raise RuntimeError("no free port")


def ensure_tools() -> list[str]:
    """Installs nsd and dnsperf from the Debian archive when missing; returns notes."""
    missing = [
        p for p, exe in (("nsd", "nsd"), ("dnsperf", "dnsperf")) if not shutil.which(exe, path=_path())
    ]
    if not missing:
        return []
    notes = [f"installing {', '.join(missing)} with apt-get"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
    done = subprocess.run(
        ["apt-get", "install", "-y", "-q", *missing], check=False, env=env, capture_output=True
    )
    if done.returncode != 0:
        notes.append(f"apt-get failed: {done.stderr.decode()[-300:]}")
    return notes


def _path() -> str:
    return os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


@dataclass
class AuthServer:
    """Whichever server is running: `kind` is "nsd" or "dnspython"."""

    kind: str
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    fallback: DnsTestServer | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def queries(self) -> int:
        """Queries answered so far (UDP + TCP)."""
        if self.fallback is not None:
            return len(self.fallback.queries)
        out = subprocess.run(
            [_exe("nsd-control"), "-c", str(self.workdir / "nsd.conf"), "stats_noreset"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        match = re.search(r"^num\.queries=(\d+)", out, re.MULTILINE)
        return int(match.group(1)) if match else -1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.fallback is not None:
            self.fallback.stop()


def _exe(name: str) -> str:
    return shutil.which(name, path=_path()) or name


NSD_CONF = """\
server:
    ip-address: 127.0.0.1@{port}
    port: {port}
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{dir}/zones"
    pidfile: "{dir}/nsd.pid"
    database: ""
    zonelistfile: "{dir}/zone.list"
    xfrdfile: "{dir}/xfrd.state"
    xfrdir: "{dir}"
    logfile: "{dir}/nsd.log"
    verbosity: 1
    hide-version: yes
    # Debian's NSD limits answers per client /24 by default: loopback is one client.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    tcp-count: 1000
    round-robin: no
remote-control:
    control-enable: yes
    # A unix socket: no TLS keys to generate for nsd-control.
    control-interface: "{dir}/nsd.ctl"
pattern:
    name: "bench"
    zonefile: "%s.zone"
"""


def start_nsd(world: World, workdir: Path) -> AuthServer:
    workdir.mkdir(parents=True, exist_ok=True)
    zones = write_zone_files(world, workdir / "zones")
    port = free_port()
    conf = NSD_CONF.format(port=port, dir=workdir)
    conf += "".join(f'zone:\n    name: "{origin}"\n    include-pattern: "bench"\n' for origin, _ in zones)
    (workdir / "nsd.conf").write_text(conf, encoding="utf-8")
    check = subprocess.run(
        [_exe("nsd-checkconf"), str(workdir / "nsd.conf")], capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        raise RuntimeError(f"nsd-checkconf: {check.stderr.strip()[-500:]}")
    log = (workdir / "nsd.stderr").open("wb")
    process = subprocess.Popen(
        [_exe("nsd"), "-d", "-c", str(workdir / "nsd.conf")],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    server = AuthServer("nsd", port, workdir, process=process)
    probe = dns.message.make_query(world.domains[0].name, "SOA")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nsd exited: {(workdir / 'nsd.stderr').read_text()[-800:]}")
        try:
            answer = dns.query.udp(probe, "127.0.0.1", port=port, timeout=0.5)
            if answer.answer:
                return server
        except (OSError, dns.exception.Timeout):
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError("nsd did not answer within 120 s")


def start_fallback(world: World) -> AuthServer:
    server = DnsTestServer(chase_cnames=False)
    for rows in world.zones.values():
        for owner, rdtype, rdata in rows:
            server.add(owner, rdtype, rdata)
    server.start()
    return AuthServer("dnspython", server.port, Path("."), fallback=server)


def start_server(world: World, workdir: Path) -> AuthServer:
    notes = ensure_tools()
    try:
        server = start_nsd(world, workdir)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
        server = start_fallback(world)
        notes.append(f"NSD could not be used ({exc}); serving with the dnspython test server instead")
    server.notes = notes
    return server


def dnsperf(
    server: AuthServer, names: list[tuple[str, str]], workdir: Path, seconds: int = 5
) -> dict[str, float]:
    """The server's own capacity for this query mix: dnsperf with enough outstanding queries."""
    if not shutil.which("dnsperf", path=_path()):
        return {}
    data = workdir / "dnsperf.txt"
    data.write_text("".join(f"{n} {t}\n" for n, t in names), encoding="utf-8")
    done = subprocess.run(
        [
            _exe("dnsperf"),
            "-s",
            "127.0.0.1",
            "-p",
            str(server.port),
            "-d",
            str(data),
            "-l",
            str(seconds),
            "-c",
            "4",
            "-q",
            "500",
            "-T",
            "1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    qps = re.search(r"Queries per second:\s+([\d.]+)", done.stdout)
    lost = re.search(r"Queries lost:\s+(\d+)", done.stdout)
    return {"qps": float(qps.group(1)) if qps else 0.0, "lost": float(lost.group(1)) if lost else -1}
