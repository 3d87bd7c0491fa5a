"""Linking a subscription to a vendor subscription by API, CLI and CSV: only to what the
connection's sync saw, in a tenant of the subscription's own client, held by no other
subscription; audited; and what sync then writes on it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import select, update
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.importer import ImportKind, import_table, read_csv
from hub.kit.time import utcnow
from hub.models import AuditEvent, Subscription
from hub.models.enums import Role
from hub.models.sync import VendorRecord
from tests import factories as f
from tests.cli.test_cli import cli_env  # noqa: F401 - fixture
from tests.conftest import client_for, make_token
from tests.link.helpers import link, linkable_world
from tests.sync.helpers import create_connection, sync_now

runner = CliRunner()


async def _audit(app, subject_id: str) -> list[AuditEvent]:
    async with app.state.runtime.sessionmaker() as session:
        rows = await session.execute(
            select(AuditEvent).where(AuditEvent.subject_id == subject_id).order_by(AuditEvent.id)
        )
        return list(rows.scalars())


async def test_a_technician_links_a_subscription_to_what_its_connection_sees_and_unlinks_it(app, api, vendor):
    w = await linkable_world(app, api, vendor)
    sub_id, conn_id = w["alfa_sub"]["id"], w["conn"]["id"]
    before = (await api.get(f"/subscriptions/{sub_id}")).json()
    assert (before["connection_id"], before["external_id"], before["last_synced_at"]) == (None, None, None)
    async with client_for(app, await make_token(app, Role.technician)) as tech:
        r = await link(tech, sub_id, conn_id, "S-1")
    assert r.status_code == 200, r.text
    linked = r.json()
    assert (linked["connection_id"], linked["external_id"]) == (conn_id, "S-1")
    assert linked["version"] == before["version"] + 1
    # The vendor account had no external ref: it gets the vendor tenant (what orders go under).
    assert (await api.get(f"/vendor-accounts/{w['alfa_account']['id']}")).json()["external_ref"] == "T-ALFA"
    [event] = [e for e in await _audit(app, sub_id) if e.meta.get("action") == "subscription.linked"]
    assert event.actor.startswith("token:") and event.before == {"connection_id": None, "external_id": None}
    assert event.after == {"connection_id": conn_id, "external_id": "S-1"}
    # Linked, the next sync recognises it: it is seen at the vendor.
    await sync_now(app, api, conn_id)
    assert (await api.get(f"/subscriptions/{sub_id}")).json()["last_synced_at"] is not None
    # Linking it again to the same vendor subscription changes nothing.
    again = await link(api, sub_id, conn_id, "S-1")
    assert again.status_code == 200 and again.json()["version"] == linked["version"]

    current = (await api.get(f"/subscriptions/{sub_id}")).json()
    r = await api.post(f"/subscriptions/{sub_id}/unlink", json={"version": current["version"]})
    assert r.status_code == 200, r.text
    assert (r.json()["connection_id"], r.json()["external_id"]) == (None, None)
    assert [e.meta.get("action") for e in await _audit(app, sub_id) if e.meta.get("action")] == [
        "subscription.linked",
        "subscription.unlinked",
    ]


async def test_a_link_is_refused_naming_the_field_and_the_reason(app, api, vendor):
    w = await linkable_world(app, api, vendor)
    alfa_sub, beta_sub, conn_id = w["alfa_sub"]["id"], w["beta_sub"]["id"], w["conn"]["id"]

    async def refused(sub_id: str, connection_id: str, external_id: str, status: int = 422) -> dict:
        r = await link(api, sub_id, connection_id, external_id)
        assert r.status_code == status, r.text
        return r.json()

    body = await refused(alfa_sub, conn_id, "S-404")
    assert body["errors"][0]["field"] == "external_id" and "sees no vendor subscription" in body["detail"]
    body = await refused(alfa_sub, conn_id, "S-2")  # Beta's tenant
    assert body["errors"][0]["field"] == "external_id" and "another client's" in body["detail"]
    body = await refused(alfa_sub, conn_id, "S-3")  # a tenant nobody mapped
    assert body["errors"][0]["field"] == "external_id" and "mapped to no client" in body["detail"]
    assert "PUT /connections/" in body["detail"]
    body = await refused(alfa_sub, str(uuid.uuid4()), "S-1")
    assert body["errors"][0]["field"] == "connection_id"
    # A connection that never synced has nothing to check the id against.
    vendor.sim.partner("P2", tenants=[{"id": "T-ALFA2", "name": "Alfa again"}])
    fresh = await create_connection(api, vendor.config("P2"))
    body = await refused(alfa_sub, fresh["id"], "S-1")
    assert body["errors"][0]["field"] == "connection_id" and "sync it first" in body["detail"]
    # Another client's own (client-scoped) connection.
    vendor.sim.partner("P3", tenants=[{"id": "T-B3", "name": "Beta own"}])
    beta_own = await create_connection(api, vendor.config("P3"), client_id=w["beta"]["id"])
    body = await refused(alfa_sub, beta_own["id"], "S-1")
    assert body["errors"][0]["field"] == "connection_id" and "another client" in body["detail"]
    # A vendor subscription the vendor no longer lists.
    async with app.state.runtime.sessionmaker() as session:
        await session.execute(
            update(VendorRecord)
            .where(VendorRecord.external_id == "L-1")
            .values(missing_since=utcnow() - timedelta(days=2))
        )
        await session.commit()
    body = await refused(alfa_sub, conn_id, "L-1")
    assert body["errors"][0]["field"] == "external_id" and "no longer lists" in body["detail"]
    # A stale version, and a vendor subscription another hub subscription holds.
    stale = await api.post(
        f"/subscriptions/{alfa_sub}/link",
        json={"connection_id": conn_id, "external_id": "S-1", "version": 99},
    )
    assert stale.status_code == 409, stale.text
    assert (await link(api, beta_sub, conn_id, "S-2")).status_code == 200
    other = await f.subscription(api, w["beta_account"]["id"], product="Second")
    body = await refused(other["id"], conn_id, "S-2", status=409)
    assert "already linked" in body["detail"] and beta_sub in body["detail"]
    # Nothing of the refused links was stored.
    assert (await api.get(f"/subscriptions/{alfa_sub}")).json()["connection_id"] is None
    # A client's viewer may not link, not even its own client's subscription.
    viewer = await make_token(app, Role.client_viewer, client_id=uuid.UUID(w["alfa"]["id"]))
    async with client_for(app, viewer) as own:
        assert (await link(own, alfa_sub, conn_id, "S-1")).status_code == 403


async def test_the_cli_links_and_unlinks_audited_as_the_cli(app, api, vendor, cli_env):  # noqa: F811
    w = await linkable_world(app, api, vendor)
    sub_id, conn_id = w["alfa_sub"]["id"], w["conn"]["id"]

    async def hub(*args: str):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(runner.invoke, cli, list(args))

    bad = await hub("subscriptions", "link", sub_id, "--connection", conn_id, "--external-id", "S-2")
    said = " ".join(bad.output.split())  # rich wraps long lines at the terminal width
    assert bad.exit_code == 1 and "another client's" in said and "Traceback" not in said
    not_an_id = await hub("subscriptions", "link", "alfa", "--connection", conn_id, "--external-id", "S-1")
    assert not_an_id.exit_code == 1 and "not an id" in " ".join(not_an_id.output.split())
    ok = await hub("subscriptions", "link", sub_id, "--connection", conn_id, "--external-id", "S-1")
    assert ok.exit_code == 0, ok.output
    assert (await api.get(f"/subscriptions/{sub_id}")).json()["external_id"] == "S-1"
    assert (await hub("subscriptions", "unlink", sub_id)).exit_code == 0
    assert (await api.get(f"/subscriptions/{sub_id}")).json()["external_id"] is None
    actors = {
        e.actor for e in await _audit(app, sub_id) if e.meta.get("action", "").startswith("subscription.")
    }
    assert actors == {"cli"}


async def test_a_spreadsheet_links_the_subscriptions_it_creates_and_refuses_bad_links_by_line(
    app, api, runtime, vendor
):
    w = await linkable_world(app, api, vendor)
    conn = w["conn"]
    header = (
        "client_slug,vendor_name,account_number,product,unit_cost,billing_period,payer,starts_on,"
        "connection,external_id\n"
    )
    account = w["alfa_account"]["account_number"]
    bad = header + (
        f"{w['alfa']['slug']},TestCorp,{account},AV,30,yearly,msp_resold,2026-01-01,{conn['name']},S-404\n"
        f"{w['alfa']['slug']},TestCorp,{account},AV,30,yearly,msp_resold,2026-01-01,No such connection,S-1\n"
        f"{w['alfa']['slug']},TestCorp,{account},AV,30,yearly,msp_resold,2026-01-01,,S-1\n"
        f"{w['alfa']['slug']},TestCorp,{account},AV,30,yearly,msp_resold,2026-01-01,{conn['id']},S-1\n"
        f"{w['alfa']['slug']},TestCorp,{account},AV,30,yearly,msp_resold,2026-01-01,{conn['name']},S-1\n"
    )
    table, errors = read_csv(bad.encode(), ImportKind.subscriptions)
    assert table is not None and not errors
    async with runtime.unit_of_work() as session:
        result = await import_table(session, ImportKind.subscriptions, table)
    assert [(e.line, e.field) for e in result.errors] == [
        (2, "external_id"),
        (3, "connection"),
        (4, "connection"),
        (6, "external_id"),
    ]
    assert "sees no vendor subscription 'S-404'" in result.errors[0].message
    assert "already on line 5" in result.errors[3].message

    good = (
        header
        + f"{w['alfa']['slug']},TestCorp,{account},AV,30,yearly,msp_resold,2026-01-01,{conn['name']},S-1\n"
    )
    table, _ = read_csv(good.encode(), ImportKind.subscriptions)
    assert table is not None
    async with runtime.unit_of_work() as session:
        result = await import_table(session, ImportKind.subscriptions, table)
    assert result.ok, result.errors
    async with runtime.sessionmaker() as session:
        sub = (
            await session.execute(select(Subscription).where(Subscription.external_id == "S-1"))
        ).scalar_one()
    assert str(sub.connection_id) == conn["id"] and sub.product == "AV"
    assert "subscription.linked" in [e.meta.get("action") for e in await _audit(app, str(sub.id))]
