"""Renewals by e-mail purchase order (issue 12): a distributor without an API gets one
purchase order per term through the case outbox (real SMTP), answers it from the vendor
mailbox simulator through a real IMAP server and the poller, and the answer lands on the
order's thread; a technician (or the route's read-back) confirms; silence escalates at
the deadline. Everything is set up through the API, as a technician would."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from adapters.sophos_central.simulator import SophosCentralSimulator
from hub.case import outbox, poller
from hub.cli import app as cli
from hub.db import session_scope
from hub.jobs import enqueue
from hub.mail.parse import parse_message
from hub.mail.simulator import Step, VendorPersona
from hub.mail.world import MailWorld
from hub.models import CaseEvent, CaseMail, Notice, Renewal, TriageItem, VendorCase
from hub.models.enums import MailDirection, MailState, RenewalState, Role
from hub.renewal.schemas import SendPurchaseOrder
from hub.runtime import HubRuntime
from hub.sdk.testing import serve_on_loopback
from tests import factories as f
from tests.case.helpers import run_jobs, world_case_settings
from tests.cli.test_cli import cli_env  # noqa: F401 - fixture
from tests.conftest import client_for, make_token
from tests.renewal import pax8_world as w

runner = CliRunner()


async def hub(*args: str) -> Any:
    """Run the CLI as its own program would: in a thread with no event loop running."""
    return await asyncio.to_thread(runner.invoke, cli, list(args))


DISTRI = VendorPersona(
    "distri",
    "Distri Italia",
    "distri.example",
    "order",
    language="it",
    script=(Step(1, "auto_ack"), Step(30, "order_confirmed")),
)
SILENT = VendorPersona("mute", "Mute Distribution", "mute.example", "order", silent=True)


class Clock:
    """The runtime's clock, moved by the test (days pass in no time)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
async def world(runtime: HubRuntime) -> AsyncIterator[MailWorld]:
    async with MailWorld.start([DISTRI, SILENT], time_scale=0.0005) as mail_world:
        runtime.use_settings(case=world_case_settings(mail_world))
        yield mail_world


async def distributor(api: httpx.AsyncClient, client: dict[str, Any], domain: str) -> dict[str, Any]:
    vendor = await f.vendor(api, name=f"Distributor {domain}", category="distributor")
    account = await f.account(api, client["id"], vendor["id"], account_number="C-4471")
    r = await api.put(
        f"/vendors/{vendor['id']}/case-mail",
        json={
            "language": "it",
            "support_email": f"support@{domain}",
            "mail_domains": [domain],
            "case_number_patterns": [r"Order (?P<number>SO-\d{7})"],
        },
    )
    assert r.status_code == 200, r.text
    return account


async def licence(
    api: httpx.AsyncClient, client: dict[str, Any], ends_on: date, product: str = "Intercept X Advanced"
) -> dict[str, Any]:
    av = await f.vendor(api, name=f"Sophos {uuid.uuid4().hex[:4]}", category="antivirus")
    account = await f.account(api, client["id"], av["id"])
    return await f.subscription(
        api,
        account["id"],
        product=product,
        quantity=25,
        unit_cost="28.50",
        currency="EUR",
        billing_period="yearly",
        starts_on=str(ends_on - timedelta(days=364)),
        ends_on=str(ends_on),
        renewal_type="auto_hub",
    )


async def route_by_email(
    api: httpx.AsyncClient, sub: dict[str, Any], account: dict[str, Any], **kw: Any
) -> dict[str, Any]:
    body = {"order_by": "email", "po_account_id": account["id"], "order_ref": "SOPH-ICXA-1Y", **kw}
    r = await api.put(f"/subscriptions/{sub['id']}/renewal-route", json=body)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def order(runtime: HubRuntime) -> None:
    """Plan, advance the renewals (the executor claims the send), then the purchase-order
    jobs (the case module queues the mail)."""
    await w.plan_and_queue(runtime.sessionmaker)
    await w.run_due(runtime.sessionmaker)
    await run_jobs(runtime, "renewal.purchase_order")


async def deliver(runtime: HubRuntime, world: MailWorld) -> None:
    """Our outbox to the distributors, their answers to our mailbox, the mailbox filed."""
    units = lambda: session_scope(runtime.sessionmaker)  # noqa: E731
    await outbox.send_due(units, runtime.now(), runtime.settings.case)
    await world.simulator.drain()
    await poller.poll(units, runtime.now, runtime.settings.case)


async def thread(runtime: HubRuntime, renewal_id: uuid.UUID) -> VendorCase:
    async with runtime.sessionmaker() as session:
        return (
            await session.execute(select(VendorCase).where(VendorCase.renewal_id == renewal_id))
        ).scalar_one()


async def count(runtime: HubRuntime, model: Any, *where: Any) -> int:
    async with runtime.sessionmaker() as session:
        return int(
            (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
        )


async def test_one_purchase_order_per_term_even_when_the_jobs_run_again_or_the_sender_dies(
    api: httpx.AsyncClient, runtime: HubRuntime, world: MailWorld
) -> None:
    client = await f.client(api, name="Studio Rossi")
    account = await distributor(api, client, "distri.example")
    sub = await licence(api, client, date.today() + timedelta(days=10))
    await route_by_email(api, sub, account, po_unit_price="27.90")
    await order(runtime)
    renewal = await w.renewal_of(runtime.sessionmaker, sub["id"])
    assert renewal.state is RenewalState.submitting
    assert renewal.vendor_order_ref == renewal.idempotency_key

    # The purchase-order job again (a retry), and the executor again: nothing more queued.
    async with session_scope(runtime.sessionmaker) as session:
        await enqueue(session, SendPurchaseOrder(renewal_id=renewal.id))
    assert await run_jobs(runtime, "renewal.purchase_order") == 1
    await w.time_passes(runtime.sessionmaker, renewal.id)
    await w.run_due(runtime.sessionmaker)
    outbound = CaseMail.direction == MailDirection.outbound
    assert await count(runtime, CaseMail, outbound) == 1
    assert await count(runtime, VendorCase, VendorCase.renewal_id == renewal.id) == 1

    # A worker claims the message and dies (whether the server took it, nobody knows):
    # after its lease the message is `unknown` and no later pass sends it again.
    units = lambda: session_scope(runtime.sessionmaker)  # noqa: E731
    async with units() as session:
        assert len(await outbox._claim(session, runtime.now())) == 1
    later = runtime.now() + outbox.LEASE + timedelta(seconds=1)
    for _ in range(2):
        await outbox.send_due(units, later, runtime.settings.case)
    assert world.sink.received == []
    async with runtime.sessionmaker() as session:
        mail = (await session.execute(select(CaseMail).where(outbound))).scalar_one()
    assert mail.state is MailState.unknown
    # A person decides it did not arrive: the same bytes go out once, over real SMTP.
    case = await thread(runtime, renewal.id)
    r = await api.post(f"/cases/{case.id}/mails/{mail.id}/resend")
    assert r.status_code in (200, 201, 202), r.text
    for _ in range(2):
        await outbox.send_due(units, runtime.now(), runtime.settings.case)
        assert await run_jobs(runtime, "renewal.purchase_order") == 0
        await w.run_due(runtime.sessionmaker)
    assert len(world.sink.received) == 1
    [(sent, rcpts)] = world.sink.received
    assert rcpts == ("support@distri.example",)
    po = parse_message(sent)
    # Italian, as the distributor's profile says; our reference and the price as Decimal text.
    assert renewal.idempotency_key in po.subject and "Ordine di acquisto" in po.subject
    assert "Quantità: 25" in po.text and "Prezzo unitario: 27.90 EUR" in po.text
    assert "Totale: 697.50 EUR" in po.text and "C-4471" in po.text
    async with runtime.sessionmaker() as session:
        mail = (await session.execute(select(CaseMail).where(outbound))).scalar_one()
    assert mail.state is MailState.sent and po.message_id == mail.message_id
    await world.simulator.drain()  # its answers delivered before the mailbox stops


async def test_the_distributors_reply_is_filed_on_the_order_and_a_technician_confirms(
    app: Any, api: httpx.AsyncClient, runtime: HubRuntime, world: MailWorld
) -> None:
    client = await f.client(api, name="Studio Bianchi")
    account = await distributor(api, client, "distri.example")
    ends_on = date.today() + timedelta(days=10)
    sub = await licence(api, client, ends_on)
    await route_by_email(api, sub, account)
    await order(runtime)
    await deliver(runtime, world)
    renewal = await w.renewal_of(runtime.sessionmaker, sub["id"])
    case = await thread(runtime, renewal.id)
    async with runtime.sessionmaker() as session:
        filed = list(
            (
                await session.execute(
                    select(CaseMail).where(CaseMail.direction == MailDirection.inbound).order_by(CaseMail.id)
                )
            ).scalars()
        )
    # The acknowledgement and the confirmation, both on the order's thread; none in triage.
    assert len(filed) == 2 and {m.case_id for m in filed} == {case.id}
    assert await count(runtime, TriageItem) == 0
    assert case.first_response_at is not None and case.external_ref is not None  # their order number

    # The renewal looks at once (brought forward by the reply): "the distributor replied".
    await w.run_due(runtime.sessionmaker)
    renewal = await w.renewal_of(runtime.sessionmaker, sub["id"])
    assert renewal.state is RenewalState.submitting and "replied" in (renewal.reason or "")
    assert await count(runtime, Notice, Notice.subject_type == "renewal_po_replied") == 1

    # The order's thread is staff-only: it carries our cost.
    async with client_for(
        app, await make_token(app, role=Role.client_viewer, client_id=uuid.UUID(client["id"]))
    ) as c:
        assert (await c.get(f"/cases/{case.id}")).status_code == 404
        assert all(x["id"] != str(case.id) for x in (await c.get("/cases")).json()["items"])
        card = await c.get(f"/clients/{client['id']}/vendors/{account['vendor_id']}/card")
        assert card.status_code == 200 and card.json()["open_cases"] == []
    staff_card = (await api.get(f"/clients/{client['id']}/vendors/{account['vendor_id']}/card")).json()
    assert [x["id"] for x in staff_card["open_cases"]] == [str(case.id)]

    new_end = ends_on + timedelta(days=365)
    r = await api.post(
        f"/renewals/{renewal.id}/confirm", json={"version": renewal.version, "ends_on": str(new_end)}
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "confirmed"
    got = (await api.get(f"/subscriptions/{sub['id']}")).json()
    assert got["ends_on"] == str(new_end)
    # Confirmed twice: refused, nothing recorded twice.
    again = await api.post(
        f"/renewals/{renewal.id}/confirm", json={"version": r.json()["version"], "ends_on": str(new_end)}
    )
    assert again.status_code == 409
    assert await run_jobs(runtime, "renewal.purchase_order_settled") == 1
    assert (await thread(runtime, renewal.id)).status.value == "resolved"


async def test_no_confirmation_escalates_at_the_deadline(
    api: httpx.AsyncClient,
    runtime: HubRuntime,
    world: MailWorld,
    cli_env: dict[str, str],  # noqa: F811
) -> None:
    clock = Clock()
    runtime.clock = clock
    client = await f.client(api)
    account = await distributor(api, client, "mute.example")
    ends_on = date.today() + timedelta(days=10)
    sub = await licence(api, client, ends_on)
    await route_by_email(api, sub, account)
    await order(runtime)
    await deliver(runtime, world)
    assert len(world.simulator.received["mute"]) == 1
    renewal = await w.renewal_of(runtime.sessionmaker, sub["id"])
    assert renewal.state is RenewalState.submitting
    # Days pass in silence; two days before the end it still waits (the ladder alerts)...
    clock.offset = timedelta(days=8)
    async with session_scope(runtime.sessionmaker) as session:
        await session.execute(
            Renewal.__table__.update().where(Renewal.id == renewal.id).values(next_action_at=runtime.now())
        )
    await w.run_due(runtime.sessionmaker)
    assert (await w.renewal_of(runtime.sessionmaker, sub["id"])).state is RenewalState.submitting
    # ...and at the last rung of the ladder it escalates, with a notice: never missed silently.
    clock.offset = timedelta(days=9, hours=1)
    async with session_scope(runtime.sessionmaker) as session:
        await session.execute(
            Renewal.__table__.update().where(Renewal.id == renewal.id).values(next_action_at=runtime.now())
        )
    await w.run_due(runtime.sessionmaker)
    renewal = await w.renewal_of(runtime.sessionmaker, sub["id"])
    assert renewal.state is RenewalState.escalated
    assert "has not confirmed purchase order" in (renewal.reason or "") and "never replied" in renewal.reason
    assert await count(runtime, Notice, Notice.subject_type == "renewal_escalated") == 1
    # Confirmed late by phone: recorded from the command line.
    new_end = ends_on + timedelta(days=365)
    bad = await hub("renewals", "confirm", str(renewal.id), "--ends-on", str(ends_on))
    assert bad.exit_code == 1 and "ends_on: must be after" in bad.output
    done = await hub("renewals", "confirm", str(renewal.id), "--ends-on", str(new_end), "--note", "by phone")
    assert done.exit_code == 0, done.output
    assert "confirmed" in done.output
    assert (await api.get(f"/subscriptions/{sub['id']}")).json()["ends_on"] == str(new_end)


async def test_a_reply_quoting_another_renewals_reference_files_on_that_renewals_order(
    api: httpx.AsyncClient, runtime: HubRuntime, world: MailWorld
) -> None:
    client = await f.client(api)
    account = await distributor(api, client, "mute.example")
    ends_on = date.today() + timedelta(days=10)
    first = await licence(api, client, ends_on, product="Intercept X Advanced")
    second = await licence(api, client, ends_on, product="Sophos Firewall Xstream")
    await route_by_email(api, first, account)
    await route_by_email(api, second, account)
    await order(runtime)
    await deliver(runtime, world)
    a = await thread(runtime, (await w.renewal_of(runtime.sessionmaker, first["id"])).id)
    b = await thread(runtime, (await w.renewal_of(runtime.sessionmaker, second["id"])).id)
    ours = [parse_message(raw) for raw, _ in world.sink.received]
    to_a = next(m for m in ours if a.token in m.subject)
    to_b = next(m for m in ours if b.token in m.subject)
    # The distributor answers in A's thread (In-Reply-To A's order) but about B: the
    # subject and text carry B's reference. Conflicting signals: triage, never A.
    reply = EmailMessage()
    reply["From"] = "Vendite <vendite@mute.example>"
    reply["To"] = "cases@msp.example"
    reply["Subject"] = f"Conferma: {to_b.subject}"
    reply["Message-ID"] = "<conf-1@mute.example>"
    reply["In-Reply-To"] = f"<{to_a.message_id}>"
    reply.set_content("Confermiamo l'ordine.")
    # And a reply that only quotes B's reference (no thread headers): filed on B.
    only_b = EmailMessage()
    only_b["From"] = "Vendite <vendite@mute.example>"
    only_b["To"] = "cases@msp.example"
    only_b["Subject"] = "Conferma ordine"
    only_b["Message-ID"] = "<conf-2@mute.example>"
    only_b.set_content(f"Confermiamo l'ordine {to_b.subject}.\n\nVendite")
    for message in (reply, only_b):
        await world.imap.append(message.as_bytes(policy=SMTP_POLICY))
    await poller.poll(lambda: session_scope(runtime.sessionmaker), runtime.now, runtime.settings.case)
    async with runtime.sessionmaker() as session:
        rows = {
            m.message_id: m.case_id
            for m in (
                await session.execute(select(CaseMail).where(CaseMail.direction == MailDirection.inbound))
            ).scalars()
        }
        on_a = (
            await session.execute(
                select(func.count()).where(CaseEvent.case_id == a.id, CaseEvent.kind == "email_in")
            )
        ).scalar_one()
    assert rows == {"conf-1@mute.example": None, "conf-2@mute.example": b.id}
    assert on_a == 0
    assert await count(runtime, TriageItem) == 1


async def test_a_route_by_email_is_set_shown_and_refused_from_the_command_line(
    api: httpx.AsyncClient,
    cli_env: dict[str, str],  # noqa: F811
) -> None:
    client = await f.client(api)
    account = await distributor(api, client, "distri.example")
    sub = await licence(api, client, date.today() + timedelta(days=30))
    missing = await hub(
        "renewals", "routes", "set", sub["id"], "--order-by", "email", "--order-ref", "SOPH-1"
    )
    assert missing.exit_code == 1 and "po_account_id: required" in missing.output
    unknown = await hub("renewals", "routes", "set", sub["id"], "--order-by", "fax", "--order-ref", "SOPH-1")
    assert unknown.exit_code == 1 and "--order-by" in unknown.output
    done = await hub(
        "renewals", "routes", "set", sub["id"], "--order-by", "email", "--po-account", account["id"],
        "--order-ref", "SOPH-1", "--po-unit-price", "27.90",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    shown = json.loads((await hub("renewals", "routes", "show", sub["id"])).stdout)
    # The address comes from the distributor's mail profile; nothing stops it ordering.
    assert shown["order_by"] == "email" and shown["po_email"] == "support@distri.example"
    assert shown["po_unit_price"] == "27.90" and shown["problem"] is None
    got = (await api.get(f"/subscriptions/{sub['id']}/renewal-route")).json()
    assert got["po_account_id"] == account["id"] and got["order_connection_id"] is None
    assert (await hub("renewals", "routes", "clear", sub["id"])).exit_code == 0
    assert (await api.get(f"/subscriptions/{sub['id']}/renewal-route")).json()["explicit"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"order_by": "fax", "order_ref": "X"}, "order_by"),
        ({"order_by": "email", "order_ref": "X"}, "po_account_id"),
        (
            {"order_by": "email", "order_ref": "X", "po_account_id": "ACCOUNT", "po_email": "not an address"},
            "po_email",
        ),
        ({"order_by": "email", "order_ref": "X", "po_account_id": str(uuid.uuid4())}, "po_account_id"),
        (
            {"order_by": "email", "order_ref": "X", "po_account_id": "ACCOUNT", "po_unit_price": "-1"},
            "po_unit_price",
        ),
        (
            {
                "order_by": "email",
                "order_ref": "X",
                "po_account_id": "ACCOUNT",
                "order_connection_id": str(uuid.uuid4()),
            },
            "order_connection_id",
        ),
        ({"order_ref": "X"}, "order_connection_id"),
        ({"order_ref": "X", "order_connection_id": str(uuid.uuid4()), "po_email": "a@b.example"}, "po_email"),
    ],
)
async def test_a_bad_route_is_a_422_naming_the_field(
    api: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    client = await f.client(api)
    account = await f.account(api, client["id"], (await f.vendor(api, category="distributor"))["id"])
    sub = await licence(api, client, date.today() + timedelta(days=30))
    body = {k: (account["id"] if v == "ACCOUNT" else v) for k, v in body.items()}
    r = await api.put(f"/subscriptions/{sub['id']}/renewal-route", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field, r.json()


async def test_the_vendors_read_back_confirms_a_purchase_order_without_anyone(
    api: httpx.AsyncClient, runtime: HubRuntime, world: MailWorld
) -> None:
    sophos = SophosCentralSimulator()
    tenant = next(t for t in sophos.tenants if t["licenses"])
    held = tenant["licenses"][0]
    ends_on = date.today() + timedelta(days=10)
    held["endDate"] = ends_on.isoformat()
    async with serve_on_loopback(sophos.app) as sophos_url:
        client = await f.client(api)
        account = await distributor(api, client, "mute.example")
        sub = await licence(api, client, ends_on)
        r = await api.post(
            "/connections",
            json={
                "name": "Sophos Central",
                "adapter_slug": "sophos_central",
                "config": sophos.config(sophos_url),
            },
        )
        assert r.status_code == 201, r.text
        await route_by_email(
            api,
            sub,
            account,
            confirm_connection_id=r.json()["id"],
            confirm_ref=f"{tenant['id']}/{held['id']}",
        )
        await order(runtime)
        await deliver(runtime, world)
        renewal = await w.renewal_of(runtime.sessionmaker, sub["id"])
        assert renewal.state is RenewalState.submitting  # Sophos still shows the old end
        new_end = ends_on + timedelta(days=365)
        sophos.extend_licence(held["id"], new_end)  # the distributor processed it, silently
        await w.time_passes(runtime.sessionmaker, renewal.id)
        await w.run_due(runtime.sessionmaker)
    renewal = await w.renewal_of(runtime.sessionmaker, sub["id"])
    assert renewal.state is RenewalState.confirmed and renewal.new_term_ends_on == new_end
    assert (await api.get(f"/subscriptions/{sub['id']}")).json()["ends_on"] == str(new_end)
    assert await run_jobs(runtime, "renewal.purchase_order_settled") == 1
    assert (await thread(runtime, renewal.id)).status.value == "resolved"
