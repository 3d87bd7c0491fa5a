"""Facts sync writes beyond the first ones, against the real simulators over loopback:
a FortiGate with a self-signed certificate (reached through the run's own TLS client) gives
its newest firmware and its licence seats in use; a printer's page counters feed the
pay-per-print usage of its plan."""

from __future__ import annotations

import tempfile
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from adapters.fortinet_fortios import spec as fortios_spec
from adapters.fortinet_fortios.simulator import FortiosSimulator
from hub.connection.opener import HttpClients, hub_client
from hub.kit.time import today
from hub.models import Subscription
from hub.models.sync import VendorRecord
from hub.runtime import HubRuntime
from hub.sdk.registry import Registry
from tests import factories as f
from tests.adapters.test_fortinet_fortios import _self_signed, serve_tls
from tests.sync.helpers import sync_now


@pytest.fixture
def fortios_registry(runtime: HubRuntime) -> Registry:
    runtime.adapters = Registry({"fortinet_fortios": fortios_spec}, {})
    return runtime.adapters


async def test_a_self_signed_fortigate_syncs_its_latest_firmware_and_seats_used_over_the_runs_tls_client(
    app, api, runtime, fortios_registry
):
    made: list[httpx.AsyncClient] = []

    def spy(verify: Any = True, timeout: float | None = None) -> httpx.AsyncClient:
        client = hub_client(verify, timeout)
        if verify is not True:
            made.append(client)
        return client

    runtime.http = HttpClients(spy)
    sim = FortiosSimulator()
    with tempfile.TemporaryDirectory() as tmp:
        cert, key, _pem = _self_signed(Path(tmp))
        async with serve_tls(sim, cert, key) as base_url:
            client = await f.client(api, name="Acme")
            vendor = await f.vendor(api, name="Fortinet", category="firewall")
            account = await f.account(api, client["id"], vendor["id"])
            asset = await f.asset(
                api, client["id"], kind="firewall", manufacturer="Fortinet", serial=sim.serial, model="FG-60F"
            )
            sub = await f.subscription(api, account["id"], product="VDOM licence", quantity=10)
            async with app.state.runtime.sessionmaker() as session:
                await session.execute(
                    update(Subscription)
                    .where(Subscription.id == uuid.UUID(sub["id"]))
                    .values(external_id=f"{sim.serial}:vdom")
                )
                await session.commit()
            r = await api.post(
                "/connections",
                json={
                    "name": "FW",
                    "adapter_slug": "fortinet_fortios",
                    "client_id": client["id"],
                    "config": {**sim.config(base_url), "verify_tls": False},
                },
            )
            assert r.status_code == 201, r.text
            conn = await sync_now(app, api, r.json()["id"])
    assert conn["health"] == "ok", conn
    # The box was reached through a client of the run, closed when the run ended.
    assert made and all(c.is_closed for c in made)
    assert not runtime.http.shared().is_closed
    async with app.state.runtime.sessionmaker() as session:
        firmware = (
            await session.execute(select(VendorRecord.payload).where(VendorRecord.kind == "firmware"))
        ).scalar_one()
    got = (await api.get(f"/assets/{asset['id']}")).json()
    assert firmware["latest_version"] and got["firmware_latest"] == firmware["latest_version"]
    assert got["firmware_version"] == firmware["current_version"]
    synced = (await api.get(f"/subscriptions/{sub['id']}")).json()
    assert (synced["seats_used"], synced["quantity"]) == (1, 10)  # seats used written, seats paid kept


# --- pay-per-print ----------------------------------------------------------------------

HP = "hp-m404dn-7Qx2"  # recorded: serial PHBBB12345, lifetime impressions 48213
HP_SERIAL, HP_COUNT = "PHBBB12345", 48213


@pytest.fixture
def printer_registry(runtime: HubRuntime) -> Registry:
    from adapters.printer_snmp import spec as printer_spec

    runtime.adapters = Registry({"printer_snmp": printer_spec}, {})
    return runtime.adapters


async def _print_world(api: httpx.AsyncClient, **allowance: Any) -> dict[str, Any]:
    client = await f.client(api, name="Print Co")
    vendor = await f.vendor(api, name="Managed Print Ltd", category="printer")
    account = await f.account(api, client["id"], vendor["id"])
    printer = await f.asset(api, client["id"], kind="printer", manufacturer="HP", serial=HP_SERIAL)
    start = (today() - timedelta(days=40)).isoformat()
    sub = await f.subscription(
        api,
        account["id"],
        kind="plan",
        product="Managed print, 3,000 pages a term",
        starts_on=start,
        ends_on=(today() + timedelta(days=325)).isoformat(),
        print_allowance={
            "asset_id": printer["id"],
            "allowance_pages": 3000,
            "price_per_page": "0.0120",
            **allowance,
        },
    )
    return {"client": client, "printer": printer, "sub": sub}


async def _set_baseline(app: Any, sub_id: str, total: int) -> None:
    async with app.state.runtime.sessionmaker() as session:
        sub = await session.get(Subscription, uuid.UUID(sub_id))
        assert sub is not None and sub.print_allowance is not None
        sub.print_allowance = {
            **sub.print_allowance,
            "term_start_reading": {**sub.print_allowance["term_start_reading"], "total": total},
        }
        await session.commit()


async def test_page_counters_synced_from_the_printer_give_the_plans_usage_and_overage(
    app, api, runtime, printer_registry
):
    from adapters.printer_snmp.simulator import PrinterSnmpSimulator

    # One capability at a time: the simulator's UDP relay opens one upstream socket per
    # client address and races (leaking one) when two reads start from it at once.
    runtime.use_settings(sync={"concurrency": 1})

    sim = PrinterSnmpSimulator(printers=[HP])
    w = await _print_world(api)
    before = (await api.get(f"/subscriptions/{w['sub']['id']}/print-usage")).json()
    assert before["status"] == "no_reading" and before["pages_used"] is None
    async with sim.serve("socket") as endpoint:
        r = await api.post(
            "/connections",
            json={
                "name": "Printers",
                "adapter_slug": "printer_snmp",
                "client_id": w["client"]["id"],
                "config": sim.config(endpoint.base_url),
            },
        )
        assert r.status_code == 201, r.text
        conn_id = r.json()["id"]
        assert (await sync_now(app, api, conn_id))["health"] == "ok"
        # The first reading of the term is the start: nothing printed since.
        first = (await api.get(f"/subscriptions/{w['sub']['id']}/print-usage")).json()
        assert first["start"]["count"] == first["latest"]["count"] == HP_COUNT
        assert (first["pages_used"], first["status"], Decimal(first["overage_cost"])) == (0, "within", 0)
        # Had the term started 3,500 pages ago, the next sync keeps that start (once per term).
        await _set_baseline(app, w["sub"]["id"], HP_COUNT - 3500)
        await sync_now(app, api, conn_id)
    usage = (await api.get(f"/subscriptions/{w['sub']['id']}/print-usage")).json()
    assert usage["start"] == {
        "count": HP_COUNT - 3500,
        "read_at": usage["start"]["read_at"],
        "source": "synced",
    }
    assert (usage["pages_used"], usage["allowance_pages"], usage["overage_pages"]) == (3500, 3000, 500)
    assert Decimal(usage["overage_cost"]) == Decimal("6.0000")  # 500 x 0.0120, exact
    assert (usage["currency"], usage["status"]) == (w["sub"]["currency"], "over")
    assert usage["serial"] == HP_SERIAL and usage["counter"] == "total"
    # A meter reading entered by hand wins over the synced one, and a later edit of the
    # plan keeps sync's reading.
    sub = (await api.get(f"/subscriptions/{w['sub']['id']}")).json()
    r = await api.patch(
        f"/subscriptions/{w['sub']['id']}",
        json={
            "version": sub["version"],
            "print_allowance": {
                "asset_id": w["printer"]["id"],
                "allowance_pages": 3000,
                "price_per_page": "0.0125",
                "start_count": HP_COUNT - 3001,
            },
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["print_allowance"]["term_start_reading"]["total"] == HP_COUNT - 3500
    manual = (await api.get(f"/subscriptions/{w['sub']['id']}/print-usage")).json()
    assert manual["start"]["source"] == "manual"
    assert (manual["pages_used"], manual["overage_pages"]) == (3001, 1)
    assert Decimal(manual["overage_cost"]) == Decimal("0.0125")


async def test_a_subscription_that_is_no_print_plan_says_so(api):
    client = await f.client(api, name="Plain")
    vendor = await f.vendor(api, name="Some ISP", category="isp")
    account = await f.account(api, client["id"], vendor["id"])
    sub = await f.subscription(api, account["id"])
    r = await api.get(f"/subscriptions/{sub['id']}/print-usage")
    assert r.status_code == 200 and r.json()["status"] == "not_a_print_plan"
    assert (await api.get(f"/subscriptions/{uuid.uuid4()}/print-usage")).status_code == 404


def test_the_firmware_check_prefers_the_vendors_latest_over_the_table():
    import asyncio

    from hub.check.kinds.firmware import FirmwareCheck, FirmwareParams, FirmwareRelease

    check = FirmwareCheck()
    table = [FirmwareRelease(manufacturer="Fortinet", latest="7.2.8")]
    synced = FirmwareParams(manufacturer="Fortinet", version="7.2.8", latest="7.4.3", table=table)
    data = asyncio.run(check.collect(None, "fw", synced))  # type: ignore[arg-type]
    assert (data.latest, data.source) == ("7.4.3", "vendor")
    without = asyncio.run(check.collect(None, "fw", synced.model_copy(update={"latest": None})))  # type: ignore[arg-type]
    assert (without.latest, without.source) == ("7.2.8", "table")
