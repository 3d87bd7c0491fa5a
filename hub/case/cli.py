"""`hub cases list|show|open|reply|log|close|poll`: vendor cases from the terminal. A case is
named by its id or its token (`7F3K2` or `HUB-7F3K2`). `open --via CONNECTION` opens it
through the vendor's case API (Azure support, Dell Self-Dispatch) instead of by mail;
`reply` on such a case goes through that API too."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import CLI
from hub.case import service
from hub.case.schemas import CaseCreate, CaseEventCreate, CaseFilters, CaseReply, CaseTransition
from hub.errors import HubError
from hub.kit.console import fail
from hub.models import Client, Connection, VendorAccount, VendorCase
from hub.models.enums import CaseChannel, CaseStatus
from hub.runtime import HubRuntime, run_command, run_in_unit

app = typer.Typer(
    help="Vendor cases: list, show, open, reply, log time, close, resend.", no_args_is_help=True
)
out = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]
CaseArg = Annotated[str, typer.Argument(help="the case's id or token (7F3K2 or HUB-7F3K2)")]


async def _case_id(session: AsyncSession, ref: str) -> uuid.UUID:
    try:
        return uuid.UUID(ref)
    except ValueError:
        token = ref.strip().strip("[]").upper().rpartition("-")[2]
        found = (
            await session.execute(select(VendorCase.id).where(VendorCase.token == token))
        ).scalar_one_or_none()
        if found is None:
            raise HubError(f"no case {ref}") from None
        return found


def _run(fn: Any, *, write: bool = True) -> Any:
    async def guarded(session: AsyncSession) -> Any:
        try:
            return await fn(session)
        except HubError as exc:
            return exc
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "input"
            return HubError(f"{where}: {first['msg']}")
        except ValueError as exc:
            return HubError(f"not an id: {exc}")

    result = run_in_unit(guarded, write=write)
    if isinstance(result, HubError):
        fail(result.detail)
    return result


def _run_vendor(fn: Any) -> Any:
    """A command that calls a vendor: its own runtime (no transaction held across the
    call), errors as one line."""

    async def guarded(runtime: HubRuntime) -> Any:
        try:
            return await fn(runtime)
        except HubError as exc:
            return exc

    result = run_command(guarded)
    if isinstance(result, HubError):
        fail(result.detail)
    return result


async def _connection_id(session: AsyncSession, ref: str) -> uuid.UUID:
    try:
        return uuid.UUID(ref)
    except ValueError:
        found = (await session.execute(select(Connection.id).where(Connection.name == ref))).scalars().all()
        if len(found) != 1:
            raise HubError(f"{len(found)} connections named '{ref}': give its id") from None
        return found[0]


def _row(case: VendorCase) -> dict[str, Any]:
    return {
        "id": str(case.id),
        "token": case.token,
        "status": case.status.value,
        "severity": case.severity.value,
        "title": case.title,
        "vendor_case_number": case.external_ref,
        "opened_at": case.opened_at.isoformat() if case.opened_at else None,
        "due": case.vendor_sla_due_at.isoformat() if case.vendor_sla_due_at else None,
    }


@app.command("list")
def list_cases(
    client: Annotated[str | None, typer.Option("--client", help="client slug")] = None,
    state: Annotated[CaseStatus | None, typer.Option("--state")] = None,
    breaching: Annotated[bool, typer.Option("--breaching", help="only cases past a vendor target")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Cases, newest first."""

    async def fetch(session: AsyncSession) -> list[dict[str, Any]]:
        client_id = None
        if client is not None:
            client_id = (
                await session.execute(select(Client.id).where(Client.slug == client))
            ).scalar_one_or_none()
            if client_id is None:
                raise HubError(f"no client with slug '{client}'")
        params = CaseFilters(
            client_id=client_id, status=state, breaching=True if breaching else None, limit=1000
        )
        items, _ = await service.cases.list(session, CLI, params)
        return [_row(c) for c in items]

    rows = _run(fetch, write=False)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        out.print("No case.")
        return
    table = Table(title="Vendor cases")
    for column in ("token", "status", "severity", "title", "vendor case", "due"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            f"HUB-{r['token']}",
            r["status"],
            r["severity"],
            r["title"],
            r["vendor_case_number"] or "",
            r["due"] or "",
        )
    out.print(table)


@app.command("show")
def show(case: CaseArg, as_json: JsonOpt = False) -> None:
    """A case with its timeline and the vendor's clock."""

    async def fetch(session: AsyncSession) -> dict[str, Any]:
        detail = await service.detail(session, CLI, await _case_id(session, case))
        return {
            **_row(await session.get(VendorCase, detail["id"])),  # type: ignore[arg-type]
            "timeline": [
                {
                    "at": e.occurred_at.isoformat(),
                    "kind": e.kind.value,
                    "actor": e.actor,
                    "body": e.body,
                    "minutes": e.minutes_spent,
                    "client_visible": e.client_visible,
                }
                for e in detail["timeline"]
            ],
            "clock": [{**c, "due_at": c["due_at"].isoformat()} for c in detail["clock"]],
            "minutes_charged": detail["minutes_charged"],
            "mails": [
                {"id": m.id, "kind": m.kind, "state": m.state.value, "subject": m.subject}
                for m in detail["mails"]
            ],
        }

    data = _run(fetch, write=False)
    if as_json:
        print(json.dumps(data, indent=2, default=str))
        return
    out.print(f"[bold]HUB-{data['token']}[/bold] {data['title']}  ({data['status']})")
    if data["vendor_case_number"]:
        out.print(f"Vendor case: {data['vendor_case_number']}")
    for c in data["clock"]:
        state = (
            "breached" if c["breached"] else ("met" if c["met_at"] else f"{c['remaining_minutes']} min left")
        )
        out.print(f"{c['target']} ({c['entitlement']}): due {c['due_at']}, {state}")
    table = Table(title="Timeline")
    for column in ("when", "kind", "who", "what", "min", "client sees"):
        table.add_column(column)
    for e in data["timeline"]:
        table.add_row(
            e["at"][:16],
            e["kind"],
            e["actor"],
            e["body"][:200],
            str(e["minutes"] or ""),
            "yes" if e["client_visible"] else "",
        )
    out.print(table)


@app.command("open")
def open_case(
    account: Annotated[
        str, typer.Option("--account", help="the client's vendor account: id or account number")
    ],
    title: Annotated[str | None, typer.Option("--title")] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    check: Annotated[
        str | None, typer.Option("--check", help="open from this failing check (its latest run)")
    ] = None,
    asset: Annotated[str | None, typer.Option("--asset", help="open from this asset")] = None,
    subscription: Annotated[
        str | None, typer.Option("--subscription", help="open from this subscription")
    ] = None,
    submit: Annotated[
        bool, typer.Option("--submit/--draft", help="send the vendor the first message now")
    ] = True,
    via: Annotated[
        str | None,
        typer.Option("--via", help="open it through this connection's case API (id or name), not by mail"),
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option("--subject", help="--via: what it is about (Dell: service tag; Azure: resource)"),
    ] = None,
    part: Annotated[
        list[str] | None,
        typer.Option("--part", help="--via: a part to dispatch, PART[:QUANTITY] (repeatable)"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open a case with the evidence attached, in one step (by mail, or through a vendor's
    case API with --via)."""

    async def act(session: AsyncSession) -> dict[str, Any]:
        try:
            account_id = uuid.UUID(account)
        except ValueError:
            found = (
                (
                    await session.execute(
                        select(VendorAccount.id).where(VendorAccount.account_number == account)
                    )
                )
                .scalars()
                .all()
            )
            if len(found) != 1:
                raise HubError(f"{len(found)} vendor accounts numbered '{account}': give its id") from None
            account_id = found[0]
        body = CaseCreate(
            vendor_account_id=account_id,
            title=title,
            description=description,
            check_id=uuid.UUID(check) if check else None,
            asset_id=uuid.UUID(asset) if asset else None,
            subscription_id=uuid.UUID(subscription) if subscription else None,
            submit=submit and via is None,
            channel=CaseChannel.api if via is not None else CaseChannel.email,
        )
        made = _row(await service.create_case(session, CLI, body))
        if via is not None:
            made["connection_id"] = str(await _connection_id(session, via))
        return made

    row = _run(act)
    if via is not None and submit:
        row = _open_via(row["id"], row["connection_id"], subject, part or [])
    if as_json:
        print(json.dumps(row, indent=2))
        return
    out.print(f"Opened HUB-{row['token']} ({row['status']}): {row['title']}")


def _parts(values: list[str]) -> tuple[Any, ...]:
    from hub.sdk.records import PartRequest

    parts = []
    for value in values:
        number, _, quantity = value.partition(":")
        try:
            parts.append(PartRequest(part_number=number, quantity=int(quantity or 1)))
        except (ValueError, ValidationError):
            fail(f"--part: '{value}' is not PART or PART:QUANTITY (1 to 99)")
    return tuple(parts)


def _open_via(case_id: str, connection: str, subject: str | None, part: list[str]) -> dict[str, Any]:
    parts = _parts(part)

    async def act(runtime: HubRuntime) -> dict[str, Any]:
        from hub.case import desk

        async with runtime.unit_of_work(write=False) as session:
            connection_id = await _connection_id(session, connection)
        try:
            opened = await desk.open_through_api(
                runtime, CLI, uuid.UUID(case_id), connection_id, subject=subject, parts=parts
            )
        except HubError as exc:
            raise HubError(
                f"{exc.detail} (the case stays a draft: `hub cases open-via {case_id} ...`)"
            ) from None
        return _row(opened)

    return _run_vendor(act)  # type: ignore[no-any-return]


@app.command("open-via")
def open_via(
    case: CaseArg,
    via: Annotated[str, typer.Option("--via", help="the connection whose case API opens it (id or name)")],
    subject: Annotated[
        str | None, typer.Option("--subject", help="Dell: service tag; Azure: resource id")
    ] = None,
    part: Annotated[
        list[str] | None, typer.Option("--part", help="a part to dispatch, PART[:QUANTITY]")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Open a draft api-channel case at the vendor (again, after a failure: the vendor is
    asked for it by our reference first, so it is never opened twice)."""

    async def find(session: AsyncSession) -> str:
        return str(await _case_id(session, case))

    row = _open_via(_run(find, write=False), via, subject, part or [])
    if as_json:
        print(json.dumps(row, indent=2))
        return
    out.print(f"Opened HUB-{row['token']} ({row['status']}) at the vendor: case {row['vendor_case_number']}")


@app.command("reply")
def reply(case: CaseArg, message: Annotated[str, typer.Argument(help="the text to send the vendor")]) -> None:
    """Write to the vendor on the case's thread (through the outbox), or through its case
    API for a case opened with --via."""

    async def channel(session: AsyncSession) -> tuple[uuid.UUID, bool]:
        found = await service.cases.get(session, CLI, await _case_id(session, case))
        return found.id, found.channel is CaseChannel.api and found.vendor_external_id is not None

    case_id, through_api = _run(channel, write=False)
    if through_api:

        async def comment(runtime: HubRuntime) -> str:
            from hub.case import desk

            event = await desk.comment(runtime, CLI, case_id, message)
            return str(event.meta.get("state", "sent"))

        out.print(f"Through the vendor's API: {_run_vendor(comment)}")
        return

    async def act(session: AsyncSession) -> str:
        mail = await service.reply(session, CLI, case_id, CaseReply(body=message))
        return mail.subject

    out.print(f"Queued: {_run(act)}")


@app.command("poll")
def poll(
    case: Annotated[str | None, typer.Argument(help="one case (default: every open api case)")] = None,
) -> None:
    """Read the vendors' case APIs now and file their updates (the worker does it every 5
    minutes)."""

    async def act(runtime: HubRuntime) -> str:
        from hub.case import api_poll, desk

        if case is None:
            done = await api_poll.poll_all(runtime, runtime.unit_of_work)
            faults = "".join(f"\n  {cid}: {why}" for cid, why in done.errors.items())
            return f"{done.polled} cases read, {done.filed} updates filed, {done.failed} failed{faults}"
        async with runtime.unit_of_work(write=False) as session:
            case_id = await _case_id(session, case)
        found = await desk.poll_now(runtime, CLI, case_id)
        return f"HUB-{found.token}: {found.status.value}, vendor case {found.external_ref}"

    out.print(_run_vendor(act))


@app.command("log")
def log(
    case: CaseArg,
    minutes: Annotated[int | None, typer.Option("--minutes", min=1, max=1440, help="time spent")] = None,
    note: Annotated[str, typer.Option("--note")] = "",
    call: Annotated[bool, typer.Option("--call", help="a phone call with the vendor")] = False,
    visible: Annotated[bool, typer.Option("--visible", help="the client sees it (and the minutes)")] = False,
) -> None:
    """Log time, a call or a note on a case."""
    kind = "call_logged" if call else ("time_spent" if minutes and not note else "note")

    async def act(session: AsyncSession) -> None:
        body = CaseEventCreate(kind=kind, body=note, minutes=minutes, client_visible=visible)
        await service.add_event(session, CLI, await _case_id(session, case), body)

    _run(act)
    out.print(f"Logged {kind.replace('_', ' ')}" + (f", {minutes} min" if minutes else ""))


@app.command("close")
def close(
    case: CaseArg,
    resolve: Annotated[
        bool, typer.Option("--resolve", help="resolve (re-checks a case opened from a check)")
    ] = False,
    note: Annotated[str, typer.Option("--note")] = "",
) -> None:
    """Close a case (or resolve it, which re-runs the check it was opened from)."""
    target = CaseStatus.resolved if resolve else CaseStatus.closed

    async def act(session: AsyncSession) -> str:
        moved = await service.transition(
            session, CLI, await _case_id(session, case), CaseTransition(status=target, note=note)
        )
        return moved.status.value

    out.print(f"Case {case} is now {_run(act)}")


@app.command("resend")
def resend(
    case: CaseArg,
    mail_id: Annotated[
        int, typer.Argument(help="the message's id (`hub cases show --json` lists them)", min=1)
    ],
) -> None:
    """Send again a message whose delivery is unknown or that is dead (same bytes, same
    Message-ID): the outbox never does this by itself."""
    from hub.case import outbox

    async def act(session: AsyncSession) -> str:
        case_id = await _case_id(session, case)
        mail = await outbox.resend(session, CLI, case_id, mail_id, service.now_of(session))
        return mail.subject

    out.print(f"Queued again: {_run(act)}")
