"""`hub subscriptions link|unlink|proposals|accept-proposal|reject-proposal|unknown|adopt`:
the same services as the API, audited as the CLI."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hub.kit.console import fail

app = typer.Typer(
    help="Subscriptions: link them to the vendor subscriptions connections see.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"{what}: '{value}' is not an id (a UUID)")


def _run(fn: Any) -> Any:
    """Run `fn(session)` in one unit of work; a refusal ends the command with its reason."""
    from hub.errors import HubError
    from hub.runtime import run_in_unit

    try:
        return run_in_unit(fn)
    except HubError as exc:
        fail(exc.detail)


VersionOpt = Annotated[
    int | None,
    typer.Option("--version", min=1, help="the version you read (default: the current one)"),
]


@app.command("link")
def link(
    subscription_id: Annotated[str, typer.Argument(help="the hub subscription")],
    connection: Annotated[str, typer.Option("--connection", help="the connection's id")],
    external_id: Annotated[str, typer.Option("--external-id", help="the vendor's id of the subscription")],
    version: VersionOpt = None,
) -> None:
    """Link a subscription to a vendor subscription its connection sees (as of its last
    sync); automatic renewals then order through that connection."""
    from hub.auth.principal import CLI
    from hub.link import service
    from hub.subscription.service import SubscriptionService

    sub_id, conn_id = _uuid(subscription_id, "subscription"), _uuid(connection, "--connection")
    if not external_id.strip() or any(ord(c) < 32 for c in external_id) or len(external_id) > 200:
        fail("--external-id: give the vendor's id (1 to 200 characters, no control characters)")

    async def do(session: Any) -> str:
        sub = await SubscriptionService().get(session, CLI, sub_id)
        done = await service.link(
            session,
            CLI,
            sub,
            connection_id=conn_id,
            external_id=external_id.strip(),
            version=version or sub.version,
            fields=service.LinkFields("--connection", "--external-id"),
        )
        return f"linked {done.product} to {done.external_id} (version {done.version})"

    err.print(_run(do))


@app.command("unlink")
def unlink(
    subscription_id: Annotated[str, typer.Argument(help="the hub subscription")],
    version: VersionOpt = None,
) -> None:
    """Forget a subscription's vendor link."""
    from hub.auth.principal import CLI
    from hub.link import service
    from hub.subscription.service import SubscriptionService

    sub_id = _uuid(subscription_id, "subscription")

    async def do(session: Any) -> str:
        sub = await SubscriptionService().get(session, CLI, sub_id)
        done = await service.unlink(session, CLI, sub, version=version or sub.version)
        return f"{done.product} is not linked to a vendor subscription (version {done.version})"

    err.print(_run(do))


JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]


@app.command("proposals")
def list_proposals(
    state: Annotated[str, typer.Option(help="open, accepted, rejected or superseded")] = "open",
    client: Annotated[str | None, typer.Option("--client", help="only this client's (id)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Links sync proposes between unlinked subscriptions and vendor subscriptions, best first."""
    from hub.auth.principal import CLI
    from hub.link import proposals
    from hub.link.schemas import LinkProposalRead, ProposalFilters
    from hub.models import ProposalState

    if state not in {s.value for s in ProposalState}:
        fail(f"--state: '{state}' is not one of {', '.join(s.value for s in ProposalState)}")
    params = ProposalFilters(
        state=ProposalState(state), client_id=_uuid(client, "--client") if client else None, limit=1000
    )

    async def fetch(session: Any) -> list[dict[str, Any]]:
        items, _ = await proposals.list_proposals(session, CLI, params)
        return [LinkProposalRead.model_validate(p).model_dump(mode="json") for p in items]

    rows = _run(fetch)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"Link proposals ({state})")
    for column in ("proposal", "subscription", "vendor subscription", "score", "signals"):
        table.add_column(column, overflow="fold")
    for p in rows:
        hub, vendor = p["detail"].get("hub", {}), p["detail"].get("vendor", {})
        table.add_row(
            p["id"],
            f"{hub.get('product')} x{hub.get('quantity')} (ends {hub.get('ends_on')})",
            f"{p['external_id']}: {vendor.get('product')} x{vendor.get('quantity')} "
            f"(ends {vendor.get('ends_on')})",
            f"{p['score']} {p['confidence']}",
            ", ".join(p["signals"]),
        )
    out.print(table)


def _decide(proposal_id: str, accept: bool) -> None:
    from hub.auth.principal import CLI
    from hub.kit.time import utcnow
    from hub.link import proposals

    pid = _uuid(proposal_id, "proposal")

    async def do(session: Any) -> str:
        if accept:
            done = await proposals.accept(session, CLI, pid, utcnow())
            return f"accepted: subscription {done.subscription_id} is linked to {done.external_id}"
        done = await proposals.reject(session, CLI, pid, utcnow())
        return (
            f"rejected: {done.external_id} will not be proposed for subscription {done.subscription_id} again"
        )

    err.print(_run(do))


@app.command("accept-proposal")
def accept_proposal(proposal_id: Annotated[str, typer.Argument(help="the proposal's id")]) -> None:
    """Accept a link proposal: the subscription is linked (audited as the CLI)."""
    _decide(proposal_id, accept=True)


@app.command("reject-proposal")
def reject_proposal(proposal_id: Annotated[str, typer.Argument(help="the proposal's id")]) -> None:
    """Reject a link proposal: that pair is never proposed again."""
    _decide(proposal_id, accept=False)


@app.command("unknown")
def list_unknown(
    connection: Annotated[
        str | None, typer.Option("--connection", help="only this connection's (id)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Vendor subscriptions connections list that no hub subscription is linked to, and
    what adopting each would create."""
    from hub.auth.principal import CLI
    from hub.link import adopt
    from hub.link.schemas import UnknownFilters, UnknownVendorSubscription

    params = UnknownFilters(
        connection_id=_uuid(connection, "--connection") if connection else None, limit=1000
    )

    async def fetch(session: Any) -> list[dict[str, Any]]:
        items, _ = await adopt.list_unknown(session, CLI, params)
        return [UnknownVendorSubscription.model_validate(i).model_dump(mode="json") for i in items]

    rows = _run(fetch)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="Vendor subscriptions unknown to the hub")
    for column in ("connection", "external id", "product", "qty", "unit cost", "client", "needs"):
        table.add_column(column, overflow="fold")
    for i in rows:
        plan = i["adopt"]
        needs = list(plan["needs"]) + (
            [f"{i['open_proposals']} open proposal(s)"] if i["open_proposals"] else []
        )
        table.add_row(
            i["connection_name"],
            i["external_id"],
            plan["product"],
            str(plan["quantity"]),
            f"{plan['unit_cost']} {plan['currency'] or ''}" if plan["unit_cost"] is not None else "?",
            i["client_id"] or "(tenant not mapped)",
            ", ".join(needs),
        )
    out.print(table)


@app.command("adopt")
def adopt_command(
    connection: Annotated[str, typer.Option("--connection", help="the connection's id")],
    external_id: Annotated[str, typer.Option("--external-id", help="the vendor's id of the subscription")],
    vendor_account: Annotated[
        str | None, typer.Option("--vendor-account", help="the vendor account to hold it (id)")
    ] = None,
    unit_cost: Annotated[
        str | None, typer.Option("--unit-cost", help="when the vendor gives no price")
    ] = None,
    billing_period: Annotated[str | None, typer.Option("--billing-period")] = None,
    payer: Annotated[str | None, typer.Option("--payer")] = None,
    renewal_type: Annotated[str | None, typer.Option("--renewal-type")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Adopt a vendor subscription the hub does not know: create the hub subscription,
    linked to it, from the vendor's record (cost from the vendor's price)."""
    from pydantic import ValidationError

    from hub.auth.principal import CLI
    from hub.kit.time import today
    from hub.link import adopt
    from hub.link.schemas import AdoptRequest

    overrides = {
        "vendor_account_id": vendor_account,
        "unit_cost": unit_cost,
        "billing_period": billing_period,
        "payer": payer,
        "renewal_type": renewal_type,
    }
    try:
        body = AdoptRequest.model_validate(
            {
                "connection_id": connection,
                "external_id": external_id,
                "confirm": True,
                **{k: v for k, v in overrides.items() if v is not None},
            }
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        fail(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
    if not yes:
        preview = f"Create a hub subscription from {external_id} of connection {connection}"
        if not typer.confirm(preview + "?", default=False, err=True):
            fail("nothing adopted", code=1)

    async def do(session: Any) -> str:
        sub = await adopt.adopt(session, CLI, body, today())
        return (
            f"adopted: subscription {sub.id} ({sub.product}, {sub.quantity} x {sub.unit_cost} "
            f"{sub.currency}), linked to {sub.external_id}"
        )

    err.print(_run(do))
