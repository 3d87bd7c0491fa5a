"""`hub demo`'s checks against its loopback world, read back through the API as a
technician would: every status is there, each fault the demo promises is found where it
was planted (and nowhere it was not), and a second demo duplicates nothing."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from hub.db import session_scope
from hub.demo.checks import start_checks, stop_checks, world_plan
from hub.demo.dataset import load_demo
from hub.demo.world import DemoWorld
from hub.demo.zones import LISTED_CLIENT, REFUSING_ZONE, SPF_FAIL_DOMAIN, build_world
from hub.kit.time import today


async def _all(api: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    r = await api.get(path, params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"])
    return body["items"]  # type: ignore[no-any-return]


async def _latest_run(api: httpx.AsyncClient, check_id: str) -> dict[str, Any]:
    runs = await _all(api, f"/checks/{check_id}/runs")
    return runs[0]


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def _assert_free(port: int) -> None:
    """Both protocols: the DNS server held UDP and TCP on the same port."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.bind(("127.0.0.1", port))


async def _run_demo(app: Any) -> tuple[Any, DemoWorld, list[int]]:
    sessionmaker = app.state.runtime.sessionmaker
    async with session_scope(sessionmaker) as session:
        await load_demo(session)
    async with session_scope(sessionmaker, write=False) as session:
        plan = await world_plan(session, today())
    with DemoWorld.for_demo(plan) as world:
        checks = await start_checks(sessionmaker, world.plan, world.check_settings())
        ports = [_port(world.nameserver), _port(world.rdap_url)]
        assert world.running
    assert not world.running
    await stop_checks(sessionmaker, checks.ids)
    return checks, world, ports


async def test_the_demo_checks_show_every_promised_state(app: Any, api: httpx.AsyncClient) -> None:
    checks, _world, ports = await _run_demo(app)
    for port in ports:
        _assert_free(port)  # the world released its sockets when it stopped
    clients = {c["slug"]: c for c in await _all(api, "/clients")}
    every = await _all(api, "/checks")
    assert {c["id"] for c in every} == {str(i) for i in checks.ids} and checks.created == len(every)
    by_status: dict[str, list[dict[str, Any]]] = {}
    for check in every:
        by_status.setdefault(check["status"], []).append(check)
    assert set(by_status) == {"ok", "warn", "fail", "unknown"}
    # Most of the demo is healthy, as most of a well-run MSP's clients are.
    assert len(by_status["ok"]) > 3 * (len(every) - len(by_status["ok"]))
    assert all(not c["enabled"] for c in every), "paused once the world stopped"

    failing = await _all(api, "/checks", status="fail")
    assert {c["id"] for c in failing} == {c["id"] for c in by_status["fail"]}

    # A failing SPF: too many DNS lookups, on the one domain that piled up includes.
    colombo = clients["colombo-trasporti"]
    health = (await api.get(f"/clients/{colombo['id']}/health")).json()
    assert health["failing_domains"] == {"spf_too_many_lookups": 1}
    (bad,) = [d for d in health["domains"] if d["failing"]]
    assert bad["name"] == SPF_FAIL_DOMAIN and bad["status"] == "fail"
    spf_fail = [c for c in failing if c["kind"] == "spf"]
    assert len(spf_fail) == 1 and spf_fail[0]["client_id"] == colombo["id"]

    # A listed IP: the gateway of one client is on SpamCop; the Spamhaus zone's refusal
    # code is reported as that zone's error, never as a listing.
    dnsbl = {c["client_id"]: c for c in every if c["kind"] == "dnsbl"}
    listed = dnsbl[clients[LISTED_CLIENT]["id"]]
    assert listed["status"] == "fail"
    run = await _latest_run(api, listed["id"])
    assert [(f["code"], f["evidence"]["zone"]) for f in run["findings"]] == [
        ("dnsbl_listed", "bl.spamcop.net")
    ]
    assert REFUSING_ZONE in run["error"]
    clean = dnsbl[clients["conti-logistica"]["id"]]
    clean_run = await _latest_run(api, clean["id"])
    assert clean["status"] == "unknown" and clean_run["findings"] == []
    assert f"{REFUSING_ZONE} answered 127.255.255.254" in clean_run["error"]

    # An expiring domain, from the registry's RDAP answer; the date is stored on the domain.
    romano = clients["immobiliare-romano"]
    health = (await api.get(f"/clients/{romano['id']}/health")).json()
    romanocase = next(d for d in health["domains"] if d["name"] == "romanocase.com")
    assert "domain_expiring_30d" in romanocase["warnings"] and romanocase["status"] == "warn"
    (domain,) = await _all(api, "/domains", q="romanocase.com")
    assert domain["expiry_checked_at"] is not None

    # An outdated firewall: major release behind fails, minor behind warns, current is ok.
    rossi = clients["rossi-ferramenta"]
    (firmware,) = await _all(api, "/checks", client_id=rossi["id"], kind="firmware")
    assert firmware["status"] == "fail"
    assert [f["code"] for f in (await _latest_run(api, firmware["id"]))["findings"]] == [
        "firmware_outdated_major"
    ]
    firmware_states = {c["client_id"]: c["status"] for c in every if c["kind"] == "firmware"}
    assert firmware_states[clients["panificio-esposito"]["id"]] == "warn"
    assert firmware_states[clients["dentista-ricci"]["id"]] == "ok"

    # Healthy domains have nothing failing: the world plants only what it promises.
    all_failing = {c["target_ref"] for c in failing}
    for slug in ("studio-bianchi", "fondazione-costa", "marino-architetti", "conti-logistica"):
        health = (await api.get(f"/clients/{clients[slug]['id']}/health")).json()
        assert health["failing_domains"] == {}, slug
        assert not all_failing & {d["domain_id"] for d in health["domains"]}


async def test_a_second_demo_creates_no_check_twice_and_resumes_the_paused_ones(
    app: Any, api: httpx.AsyncClient
) -> None:
    first, _, _ = await _run_demo(app)
    second, _, _ = await _run_demo(app)
    assert second.created == 0 and second.resumed == len(first.ids) > 0
    assert sorted(second.ids) == sorted(first.ids)
    every = await _all(api, "/checks")
    assert len(every) == len(first.ids)
    assert len({(c["kind"], c["target_ref"]) for c in every}) == len(every)
    runs = await _all(api, f"/checks/{every[0]['id']}/runs")
    assert len(runs) == 2  # each demo ran it once


def test_a_world_that_cannot_start_leaves_nothing_running() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        world = DemoWorld.for_demo(build_world({}, today()), rdap_port=busy)
        with pytest.raises(OSError, match="in use"):
            world.start()
        assert not world.running
        _assert_free(_port(world.nameserver))  # the DNS server had started: it was stopped
