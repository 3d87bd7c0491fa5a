"""`hub demo`'s vendor side, read back through the API as a technician would: every
simulated vendor is connected and synced (healthy, tenants mapped to the demo clients,
licences, seats, firmware, warranties and DNS records in), the differences the demo
plants are flagged, the three renewals end as promised with one order for the confirmed
one, reminders are queued, and a second demo duplicates nothing and orders nothing."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from hub.demo import live as demo_live
from hub.demo.catalogue import CLIENTS
from hub.demo.checks import world_plan
from hub.demo.dataset import load_demo
from hub.demo.renewals import CONFIRMED, PRICE_RISE, REFUSED
from hub.demo.vendors import (
    CLOUDFLARE,
    DELL,
    DELL_EXTENDED,
    FORTICARE,
    FORTIOS,
    GRAPH,
    PAX8,
    PAX8_EXTRA_SEATS,
    SOPHOS,
    SOPHOS_OVERUSE,
    ConnectionRow,
    connection_rows,
)
from hub.demo.world import DemoWorld
from hub.kit.time import today
from hub.models.sync import OAuthToken


async def _all(api: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    r = await api.get(path, params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    body = r.json()
    return body["items"] if isinstance(body, dict) else body  # type: ignore[no-any-return]


async def _run(app: Any) -> tuple[demo_live.DemoLive, demo_live.LiveOutcome, list[ConnectionRow]]:
    """What `hub demo` does on the vendor side, without serving: load, prepare, start the
    world (vendor simulators only), connect, sync, renew, remind, stop."""
    runtime = app.state.runtime
    async with runtime.unit_of_work() as session:
        await load_demo(session)
    async with runtime.unit_of_work(write=False) as session:
        plan = await world_plan(session, today())
    prepared = await demo_live.prepare(runtime, plan, today())
    world = DemoWorld(plan)
    demo_live.add_services(prepared, world)
    with world:
        outcome = await demo_live.start(runtime, prepared, world)
        async with runtime.unit_of_work(write=False) as session:
            rows = await connection_rows(session, outcome.connections.ids)
    await demo_live.stop(runtime, prepared)
    return prepared, outcome, rows


async def test_the_demo_syncs_every_simulated_vendor_and_shows_the_three_renewal_outcomes(
    app: Any, api: httpx.AsyncClient
) -> None:
    prepared, outcome, rows = await _run(app)
    clients = {c["slug"]: c for c in await _all(api, "/clients")}
    names = {c["id"]: c["slug"] for c in clients.values()}

    # Every connection is there, healthy after its sync, and disabled once the world stopped.
    listed = await _all(api, "/connections")
    assert {c["id"] for c in listed} == {str(i) for i in outcome.connections.ids}
    assert outcome.connections.created == len(listed)
    assert all(c["health"] == "ok" and c["last_success_at"] for c in listed), listed
    assert not any(c["enabled"] for c in listed), "disabled once the world stopped"
    by_adapter = Counter(c["adapter_slug"] for c in listed)
    firewalls = sum(len(p.sites) for p in CLIENTS if p.firewall.startswith("fortigate"))
    assert by_adapter == {
        SOPHOS: 1,
        PAX8: 1,
        DELL: 1,
        GRAPH: sum(1 for p in CLIENTS if p.mail.value == "microsoft365"),
        CLOUDFLARE: len(CLIENTS),
        FORTIOS: firewalls,
        FORTICARE: 1,
    }
    assert {c["scope"] for c in listed if c["adapter_slug"] in (SOPHOS, PAX8, DELL, FORTICARE)} == {"msp"}
    assert all(c["client_id"] for c in listed if c["adapter_slug"] in (GRAPH, CLOUDFLARE, FORTIOS))

    # Records per connection: what each vendor holds for the demo clients.
    by_name = {r.name: r for r in rows}
    sophos_clients = [p for p in CLIENTS if p.av.startswith("sophos")]
    sophos = by_name["Sophos Central (partner)"]
    licences = len(sophos_clients) + sum(1 for p in sophos_clients if p.servers)
    assert sophos.records == {"license_usage": licences, "tenants": len(sophos_clients)}
    pax8 = by_name["Pax8 (partner)"]
    pax8_clients = sum(1 for c in prepared.vendors.clients.values() if "pax8" in c.accounts)
    assert pax8_clients > 6  # the Microsoft resale clients, and those whose AV or firewall renews there
    assert pax8.records["tenants"] == pax8.tenants == pax8.mapped == pax8_clients
    assert pax8.records["subscriptions"] > pax8_clients
    dell = by_name["Dell TechDirect (warranty)"]
    dell_assets = sum(
        1 for c in prepared.vendors.clients.values() for a in c.assets if a.manufacturer == "Dell"
    )
    assert dell.records == {"warranty": dell_assets} and dell_assets > 20
    forticare = by_name["FortiCare (MSP account)"]
    assert forticare.records == {"assets": firewalls, "warranty": firewalls}, forticare
    for row in rows:
        if row.adapter == GRAPH:
            assert row.records["license_usage"] > 0 and row.records["mail_domains"] > 1, row
        if row.adapter == FORTIOS:
            assert row.records["firmware"] == row.records["assets"] == 1, row
        if row.adapter == CLOUDFLARE:
            assert row.records["dns_zones"] >= 1 and row.records["dns_records"] > 5, row

    # Tenants of the partner connections are mapped to the demo clients they are.
    for connection in (c for c in listed if c["adapter_slug"] in (SOPHOS, PAX8)):
        tenants = await _all(api, f"/connections/{connection['id']}/tenants")
        assert tenants and all(t["client_id"] for t in tenants), tenants
        assert {clients[names[t["client_id"]]]["name"] for t in tenants} == {t["name"] for t in tenants}

    # The planted differences are flagged, and nothing else.
    found = {(d["kind"], names.get(d["client_id"] or "")) for d in await _all(api, "/discrepancies")}
    assert found == {
        ("seats_over_paid", SOPHOS_OVERUSE[0]),
        ("quantity_mismatch", PAX8_EXTRA_SEATS[0]),
        ("end_date_mismatch", DELL_EXTENDED[0]),
    }

    # Warranties and firmware reached the assets.
    slug, server = DELL_EXTENDED
    (asset,) = await _all(api, "/assets", client_id=clients[slug]["id"], q=server)
    warranties = await _all(api, f"/assets/{asset['id']}/warranties")
    extended = [w for w in warranties if w["source"] == "adapter"]
    assert max(w["ends_on"] for w in extended) == str(today() + timedelta(days=410))
    rossi_fw = await _all(api, "/assets", client_id=clients["rossi-ferramenta"]["id"], kind="firewall")
    assert [a["firmware_version"] for a in rossi_fw] == ["6.4.9"]  # as the box reports it (was v6.4.9)

    # The three renewals through Pax8.
    subs = prepared.renewal_subscriptions
    renewals = {r["subscription_id"]: r for r in await _all(api, "/renewals")}
    confirmed = renewals[str(subs[CONFIRMED])]
    assert confirmed["state"] == "confirmed" and confirmed["vendor_order_ref"]
    terms = await _all(api, f"/subscriptions/{subs[CONFIRMED]}/terms")
    assert [t["renewed_by"] for t in terms if t["ends_on"] == confirmed["new_term_ends_on"]] == ["auto_hub"]
    sub = (await api.get(f"/subscriptions/{subs[CONFIRMED]}")).json()
    assert sub["ends_on"] == confirmed["new_term_ends_on"] > confirmed["term_ends_on"]
    assert prepared.vendors.pax8.renewals_of(sub["external_id"]) == 1
    assert not prepared.vendors.pax8.duplicate_terms()
    waiting = renewals[str(subs[PRICE_RISE])]
    assert waiting["state"] == "awaiting_approval" and "above the 10% cap" in waiting["reason"]
    refused = renewals[str(subs[REFUSED])]
    assert refused["state"] == "escalated" and "refused" in refused["reason"]
    routed = {str(licence.subscription_id): licence for licence in prepared.routed}
    due_routed = [r for r in renewals.values() if r["subscription_id"] in routed]
    # One order for the confirmed Keeper renewal, one per routed licence due: no other.
    assert sum(prepared.vendors.pax8.orders_per_term.values()) == 1 + len(due_routed)
    assert not prepared.vendors.pax8.duplicate_terms()

    # Antivirus and firewall renewals ordered at Pax8 and confirmed by the vendor's read-back.
    kinds = Counter(
        "sophos" if routed[r["subscription_id"]].sophos_licence else "fortigate" for r in due_routed
    )
    assert kinds["sophos"] >= 1 and kinds["fortigate"] >= 1, kinds
    registered = dict(prepared.vendors.forticare.registrations)
    for renewal in due_routed:
        licence = routed[renewal["subscription_id"]]
        assert renewal["state"] == "confirmed", renewal
        assert renewal["new_term_ends_on"] > renewal["term_ends_on"]
        route = (await api.get(f"/subscriptions/{renewal['subscription_id']}/renewal-route")).json()
        assert route["explicit"] and route["order_ref"] == licence.pax8_subscription, route
        if licence.sophos_licence:
            _, at_sophos = prepared.vendors.sophos.licence(licence.sophos_licence.rpartition("/")[2])
            assert at_sophos["endDate"] == renewal["new_term_ends_on"]  # read back where it lives
        else:
            assert renewal["registration_code"] == registered[licence.serial]

    # Reminders are queued in the ledger.
    notices = await _all(api, "/notices")
    assert outcome.notices > 0 and len(notices) >= outcome.notices + outcome.notices_skipped
    alerted = {n["subject_id"] for n in notices}
    assert {renewals[str(subs[o])]["id"] for o in (PRICE_RISE, REFUSED)} <= alerted, "approval and escalation"


async def test_a_second_demo_creates_no_connection_renewal_or_order_twice(
    app: Any, api: httpx.AsyncClient
) -> None:
    _, first, first_rows = await _run(app)
    before = {
        path: len(await _all(api, path))
        for path in ("/connections", "/renewals", "/discrepancies", "/notices")
    }
    subscriptions = len(await _all(api, "/subscriptions"))
    second_prepared, second, second_rows = await _run(app)
    assert second.connections.created == 0 and second.connections.resumed == len(first.connections.ids)
    assert second.connections.ids == first.connections.ids
    after = {path: len(await _all(api, path)) for path in before}
    assert after == before
    assert len(await _all(api, "/subscriptions")) == subscriptions
    assert sum(second_prepared.vendors.pax8.orders_per_term.values()) == 0
    assert second_prepared.vendors.forticare.registrations == []
    assert second.notices == 0
    async with app.state.runtime.sessionmaker() as session:
        assert not (await session.execute(select(OAuthToken))).all(), "the simulators' tokens are dropped"
    # The same records, seen again (none missing, none added).
    assert [(r.name, r.records, r.health) for r in second_rows] == [
        (r.name, r.records, "ok") for r in first_rows
    ]
