"""People stay in control: an escalated renewal that someone renewed by hand is closed as
"renewed outside the hub" (the new term recorded, the subscription moved on, the alerts
acknowledged); one that will not happen is closed as "will not renew" (auto-renew off);
and the CLI approves, declines and resolves through the same services."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.db import session_scope
from hub.kit.time import utcnow
from hub.models import AuditEvent, NoticeDelivery, Renewal
from hub.models.enums import RenewalState, Role
from hub.models.notify import DeliveryState
from hub.notify.ledger import adopt_addressed_notices
from hub.renewal.sweeper import sweep
from tests import factories as f
from tests.cli.test_cli import cli_env  # noqa: F401 - fixture
from tests.conftest import client_for, make_token
from tests.renewal import pax8_world as w

runner = CliRunner()


def _in(days: int) -> date:
    return utcnow().date() + timedelta(days=days)


async def escalated(app: Any, api: Any, *, ends_in: int = 5) -> dict[str, Any]:
    """An auto-renew subscription nobody linked to a vendor: planned, escalated ("no vendor
    connection"), its deadline alert raised and its alerts queued to a webhook."""
    c = await f.client(api, name="Gamma")
    acc = await f.account(api, c["id"], (await f.vendor(api))["id"])
    sub = await f.subscription(
        api,
        acc["id"],
        quantity=10,
        unit_cost="30.00",
        starts_on=str(_in(ends_in - 365)),
        ends_on=str(_in(ends_in)),
        renewal_type="auto_hub",
    )
    assert (await api.post("/renewals/plan")).status_code == 200
    sm = app.state.runtime.sessionmaker
    await w.run_due(sm)
    renewal = await w.renewal_of(sm, sub["id"])
    assert renewal.state is RenewalState.escalated and "no vendor connection" in (renewal.reason or "")
    hook = await api.post(
        "/webhooks",
        json={"name": "PSA", "url": "http://127.0.0.1:9/hook", "secret": "whsec_" + "QUJD" * 11},
    )
    assert hook.status_code == 201, hook.text
    async with session_scope(sm) as session:
        await sweep(session, utcnow().date(), now=utcnow())
        await adopt_addressed_notices(session, utcnow(), await _hooks(session))
    return {"client": c, "sub": sub, "renewal": (await api.get(f"/renewals/{renewal.id}")).json()}


async def _hooks(session: Any) -> list[Any]:
    from hub.models import WebhookEndpoint

    return list((await session.execute(select(WebhookEndpoint))).scalars())


async def _notices(api: Any, subject_id: str) -> list[dict[str, Any]]:
    r = await api.get("/notices", params={"subject_id": subject_id, "limit": 1000})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def _queued(app: Any) -> int:
    async with app.state.runtime.sessionmaker() as session:
        rows = await session.execute(
            select(NoticeDelivery).where(NoticeDelivery.state == DeliveryState.queued)
        )
        return len(rows.scalars().all())


@pytest.fixture(autouse=True)
def loopback_webhooks(runtime):  # type: ignore[no-untyped-def]
    runtime.use_settings(notify={"webhook_allowed_hosts": "127.0.0.1"})


async def test_an_escalated_renewal_renewed_by_hand_is_closed_with_its_new_term_and_alerts(app, api):
    x = await escalated(app, api)
    renewal, sub = x["renewal"], x["sub"]
    deadline = f"{sub['id']}:{sub['ends_on']}"
    assert [n["threshold"] for n in await _notices(api, renewal["id"])] == ["escalated"]
    assert len(await _notices(api, deadline)) == 1 and await _queued(app) == 2
    # Before: declining it was the only way out, and it is refused.
    assert (
        await api.post(f"/renewals/{renewal['id']}/decline", json={"version": renewal["version"]})
    ).status_code == 409

    new_end = _in(5 + 365)
    async with client_for(app, await make_token(app, Role.technician)) as tech:
        r = await tech.post(
            f"/renewals/{renewal['id']}/resolve",
            json={
                "version": renewal["version"],
                "outcome": "renewed_outside",
                "ends_on": new_end.isoformat(),
                "unit_cost": "32.00",
                "renewed_by": "auto_vendor",
                "note": "the vendor renewed it on its own",
            },
        )
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["state"], done["resolution"], done["new_term_ends_on"]) == (
        "resolved",
        "renewed_outside",
        new_end.isoformat(),
    )
    assert done["decided_by"].startswith("token:") and done["next_action_at"] is None
    moved = (await api.get(f"/subscriptions/{sub['id']}")).json()
    assert (moved["starts_on"], moved["ends_on"], moved["unit_cost"]) == (
        _in(6).isoformat(),
        new_end.isoformat(),
        "32.00",
    )
    terms = (await api.get(f"/subscriptions/{sub['id']}/terms")).json()
    assert [(t["renewed_by"], t["ends_on"]) for t in terms] == [
        ("initial", sub["ends_on"]),
        ("auto_vendor", new_end.isoformat()),
    ]
    assert terms[-1]["note"] == "renewed outside the hub (by the vendor): the vendor renewed it on its own"
    # The alerts of the renewal and of its term are acknowledged; nothing queued goes out.
    for notice in [*await _notices(api, renewal["id"]), *await _notices(api, deadline)]:
        assert notice["acknowledged_by"] and notice["acknowledged_by"].startswith("token:")
    assert await _queued(app) == 0
    async with app.state.runtime.sessionmaker() as session:
        event = (
            await session.execute(
                select(AuditEvent).where(
                    AuditEvent.subject_id == renewal["id"], AuditEvent.action == "update"
                )
            )
        ).scalar_one()
    assert event.meta == {"action": "renewal.resolved", "notices_acknowledged": 2}
    assert event.after["resolution"] == "renewed_outside"
    # Settled once; planning again adds nothing (the new term is a year away).
    assert (
        await api.post(
            f"/renewals/{renewal['id']}/resolve",
            json={"version": done["version"], "outcome": "will_not_renew"},
        )
    ).status_code == 409
    assert (await api.post("/renewals/plan")).json()["planned"] == 0


async def test_a_renewal_that_will_not_happen_turns_auto_renew_off_and_is_not_planned_again(app, api):
    x = await escalated(app, api)
    renewal, sub = x["renewal"], x["sub"]
    r = await api.post(
        f"/renewals/{renewal['id']}/resolve",
        json={
            "version": renewal["version"],
            "outcome": "will_not_renew",
            "note": "client moves to another MSP",
        },
    )
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["resolution"], r.json()["reason"]) == (
        "resolved",
        "will_not_renew",
        "client moves to another MSP",
    )
    after = (await api.get(f"/subscriptions/{sub['id']}")).json()
    assert (after["renewal_type"], after["ends_on"]) == ("none", sub["ends_on"])
    assert all(n["acknowledged_at"] for n in await _notices(api, renewal["id"]))
    assert (await api.post("/renewals/plan")).json()["planned"] == 0
    async with app.state.runtime.sessionmaker() as session:
        assert (await sweep(session, utcnow().date(), now=utcnow())).at_risk == 0


async def test_resolving_refuses_what_cannot_be_closed_naming_the_field(app, api):
    x = await escalated(app, api)
    renewal = x["renewal"]
    url, v = f"/renewals/{renewal['id']}/resolve", renewal["version"]

    async def refused(body: dict[str, Any], status: int = 422, field: str | None = None) -> str:
        r = await api.post(url, json={"version": v, **body})
        assert r.status_code == status, r.text
        if field:
            assert r.json()["errors"][0]["field"] == field, r.text
        return str(r.json()["detail"])

    await refused({"outcome": "renewed_outside"}, field="ends_on")
    await refused(
        {"outcome": "renewed_outside", "ends_on": _in(400).isoformat(), "starts_on": _in(2).isoformat()},
        field="starts_on",
    )
    await refused({"outcome": "renewed_outside", "ends_on": _in(3).isoformat()}, field="ends_on")
    await refused({"outcome": "will_not_renew", "ends_on": _in(400).isoformat()}, field="ends_on")
    await refused({"outcome": "renewed", "ends_on": _in(400).isoformat()}, field="outcome")
    await refused({"outcome": "will_not_renew", "version": v + 1}, status=409)
    viewer = await make_token(app, Role.client_viewer, client_id=uuid.UUID(x["client"]["id"]))
    async with client_for(app, viewer) as own:
        assert (await own.post(url, json={"version": v, "outcome": "will_not_renew"})).status_code == 403
    # An order that may be on its way is never closed by hand.
    async with app.state.runtime.sessionmaker() as session:
        await session.execute(
            update(Renewal).where(Renewal.id == uuid.UUID(renewal["id"])).values(state=RenewalState.unknown)
        )
        await session.commit()
    assert "may be on its way" in await refused({"outcome": "will_not_renew"}, status=409)
    assert (await api.get(f"/renewals/{renewal['id']}")).json()["state"] == "unknown"


async def test_a_new_term_recorded_already_closes_the_renewal_without_a_second_term(app, api):
    x = await escalated(app, api)
    renewal, sub = x["renewal"], x["sub"]
    new_end = _in(5 + 365).isoformat()
    r = await api.post(
        f"/subscriptions/{sub['id']}/terms", json={"version": sub["version"], "ends_on": new_end}
    )
    assert r.status_code == 201, r.text
    done = await api.post(
        f"/renewals/{renewal['id']}/resolve",
        json={"version": renewal["version"], "outcome": "renewed_outside"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["new_term_ends_on"] == new_end
    assert len((await api.get(f"/subscriptions/{sub['id']}/terms")).json()) == 2


async def test_the_cli_approves_declines_and_resolves_audited_as_the_cli(app, api, cli_env):  # noqa: F811
    first, second = await escalated(app, api), await escalated(app, api, ends_in=6)

    async def hub(*args: str):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(runner.invoke, cli, list(args))

    one, two = first["renewal"]["id"], second["renewal"]["id"]
    refused = await hub("renewals", "decline", one)
    assert refused.exit_code == 1 and "cannot be declined" in " ".join(refused.output.split())
    neither = await hub("renewals", "resolve", one)
    assert neither.exit_code == 1 and "--renewed-outside or --will-not-renew" in neither.output
    bad_date = await hub("renewals", "resolve", one, "--renewed-outside", "--ends-on", "31/12/2027")
    assert bad_date.exit_code == 1 and "not a date" in bad_date.output
    end = _in(5 + 365).isoformat()
    done = await hub(
        "renewals", "resolve", one, "--renewed-outside", "--ends-on", end, "--note", "ordered by phone"
    )
    assert done.exit_code == 0, done.output
    assert (await api.get(f"/subscriptions/{first['sub']['id']}")).json()["ends_on"] == end
    # The second waits for an approval (as a price rise above the cap leaves it).
    async with app.state.runtime.sessionmaker() as session:
        await session.execute(
            update(Renewal).where(Renewal.id == uuid.UUID(two)).values(state=RenewalState.awaiting_approval)
        )
        await session.commit()
    assert (await hub("renewals", "approve", two, "--note", "ok'd by phone")).exit_code == 0
    assert (await api.get(f"/renewals/{two}")).json()["state"] == "approved"
    assert (await hub("renewals", "decline", two)).exit_code == 0
    assert (await api.get(f"/renewals/{two}")).json()["state"] == "declined"
    async with app.state.runtime.sessionmaker() as session:
        actors = {
            e.actor
            for e in (
                await session.execute(
                    select(AuditEvent).where(
                        AuditEvent.subject_id.in_([one, two]), AuditEvent.action == "update"
                    )
                )
            ).scalars()
        }
    assert actors == {"cli"}
