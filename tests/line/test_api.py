"""ISP lines through the API: the rules of a line, what a client user sees of it, and the
PTR and block-list checks its public addresses get and lose."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from hub.models.enums import Role
from hub.runtime import HubRuntime
from tests.conftest import client_for, make_token
from tests.line.conftest import isp, line

ZONES = [{"zone": "bl.test", "kind": "ip", "codes": {"127.0.0.2": "listed"}}]


async def checks_of(api: httpx.AsyncClient, line_id: str) -> set[tuple[str, str]]:
    r = await api.get(f"/lines/{line_id}/checks")
    assert r.status_code == 200, r.text
    return {(c["kind"], c["target_ref"]) for c in r.json()}


async def test_a_line_is_created_with_its_cost_in_the_clients_currency_and_read_back(
    api: httpx.AsyncClient,
) -> None:
    owner = await isp(api, default_currency="CHF")
    made = await line(
        api,
        owner,
        monthly_cost="89.90",
        contract_ref="CTR-7",
        notes="call the NOC, not sales",
        probe_targets=[{"host": "203.0.113.9", "ports": [443, 443, 22]}],
    )
    assert made["circuit_id"] == "0031-FTTH-000123"  # a string: the leading zeros stay
    assert made["cost_currency"] == "CHF" and made["monthly_cost"] == "89.90"
    assert made["probe_targets"] == [{"host": "203.0.113.9", "ports": [443, 22]}]
    assert made["state"] == "unknown" and made["checked_addresses"] == ["203.0.113.9", "203.0.113.10"]
    listed = (await api.get("/lines", params={"client_id": owner.client["id"], "q": "ftth-000"})).json()
    assert [i["id"] for i in listed["items"]] == [made["id"]]


async def test_a_client_user_sees_its_line_without_cost_contract_notes_or_probe_setup(
    app: Any, api: httpx.AsyncClient
) -> None:
    owner = await isp(api)
    other = await isp(api)
    mine = await line(api, owner, monthly_cost="50.00", contract_ref="CTR-1", notes="internal")
    theirs = await line(api, other, circuit_id="OTHER-1")
    token = await make_token(app, Role.client_viewer, client_id=uuid.UUID(owner.client["id"]))
    async with client_for(app, token) as viewer:
        seen = (await viewer.get(f"/lines/{mine['id']}")).json()
        listed = (await viewer.get("/lines")).json()
        asking_for_other = (await viewer.get("/lines", params={"client_id": other.client["id"]})).json()
        foreign = await viewer.get(f"/lines/{theirs['id']}")
        probes = await viewer.get(f"/lines/{mine['id']}/probes")
        refused = await viewer.post(f"/lines/{mine['id']}/probe")
    assert seen["circuit_id"] == "0031-FTTH-000123" and seen["address_blocks"] == ["203.0.113.8/30"]
    for hidden in ("monthly_cost", "cost_currency", "contract_ref", "notes", "probe_targets"):
        assert hidden not in seen
    assert [i["id"] for i in listed["items"]] == [mine["id"]]
    assert asking_for_other["items"] == []
    assert foreign.status_code == 404
    assert probes.status_code == 200 and probes.json()["items"] == []
    assert refused.status_code == 403


async def test_bad_input_is_a_422_naming_the_field(api: httpx.AsyncClient) -> None:
    owner = await isp(api)
    stranger = await isp(api)
    base = {
        "client_id": owner.client["id"],
        "vendor_account_id": owner.account["id"],
        "name": "L",
        "circuit_id": "C-1",
        "technology": "fttc",
    }
    cases = [
        ({"address_blocks": ["203.0.113.9/29"]}, "address_blocks", "host bits"),
        ({"address_blocks": ["10.0.0.0/8"]}, "address_blocks", "private"),
        ({"address_blocks": ["203.0.113.0/29", "203.0.113.4/30"]}, "address_blocks", "overlap"),
        ({"probe_targets": [{"host": "203.0.113.9", "ports": [0]}]}, "probe_targets", ""),
        ({"probe_targets": [{"host": "not a host!", "ports": [443]}]}, "probe_targets", ""),
        ({"bandwidth_down_mbps": "-5"}, "bandwidth_down_mbps", ""),
        ({"monthly_cost": "12,50 EUR"}, "monthly_cost", ""),
        ({"technology": "carrier_pigeon"}, "technology", ""),
        ({"vendor_account_id": stranger.account["id"]}, "vendor_account_id", "no vendor account"),
    ]
    for extra, field, says in cases:
        r = await api.post("/lines", json={**base, **extra})
        assert r.status_code == 422, (extra, r.text)
        assert field in r.text and says in r.text, (extra, r.text)
    await line(api, owner, circuit_id="C-1")
    again = await api.post("/lines", json=base)
    assert again.status_code == 409 and "C-1" in again.text


async def test_the_addresses_get_ptr_and_block_list_checks_that_follow_the_blocks(
    runtime: HubRuntime, api: httpx.AsyncClient
) -> None:
    runtime.use_settings(line={"dnsbl_zones": ZONES})
    owner = await isp(api)
    made = await line(api, owner, address_blocks=["203.0.113.8/30", "2001:db8:1::/48"])
    assert await checks_of(api, made["id"]) == {
        (kind, a) for kind in ("ptr", "dnsbl") for a in ("203.0.113.9", "203.0.113.10")
    }
    dnsbl = [c for c in (await api.get("/checks", params={"kind": "dnsbl"})).json()["items"]]
    assert {z["zone"] for c in dnsbl for z in c["params"]["zones"]} == {"bl.test"}

    r = await api.patch(
        f"/lines/{made['id']}", json={"version": made["version"], "address_blocks": ["198.51.100.7"]}
    )
    assert r.status_code == 200, r.text
    assert await checks_of(api, made["id"]) == {("ptr", "198.51.100.7"), ("dnsbl", "198.51.100.7")}
    remaining = (await api.get("/checks", params={"client_id": owner.client["id"], "limit": 100})).json()
    assert {c["target_ref"] for c in remaining["items"]} == {"198.51.100.7"}

    assert (await api.delete(f"/lines/{made['id']}")).status_code == 204
    gone = (await api.get("/checks", params={"client_id": owner.client["id"]})).json()
    assert gone["total"] == 0


async def test_an_address_shared_by_two_lines_keeps_its_checks_while_one_line_has_it(
    api: httpx.AsyncClient,
) -> None:
    owner = await isp(api)
    first = await line(api, owner, circuit_id="A", address_blocks=["198.51.100.7"])
    second = await line(api, owner, circuit_id="B", address_blocks=["198.51.100.7"])
    assert await checks_of(api, second["id"]) == {("ptr", "198.51.100.7")}
    assert (await api.delete(f"/lines/{first['id']}")).status_code == 204
    assert await checks_of(api, second["id"]) == {("ptr", "198.51.100.7")}


async def test_an_isp_account_with_a_line_cannot_be_deleted(api: httpx.AsyncClient) -> None:
    owner = await isp(api)
    await line(api, owner)
    r = await api.delete(f"/vendor-accounts/{owner.account['id']}")
    assert r.status_code == 409 and "1 ISP lines" in r.text
