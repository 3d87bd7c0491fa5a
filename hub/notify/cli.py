"""`hub notify run | test`: the reminder pipeline from the command line."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.console import Console

from hub.config import Settings
from hub.kit.console import progress_bar

app = typer.Typer(help="Reminders: record and send what is due, or test a channel.", no_args_is_help=True)
err = Console(stderr=True)
out = Console()


async def _with_sessionmaker(settings: Settings, fn: Any) -> Any:
    from hub.db import create_engine, make_sessionmaker
    from hub.kit.crypto import load_secret_box

    engine = create_engine(settings)
    try:
        return await fn(make_sessionmaker(engine, load_secret_box(settings)))
    finally:
        await engine.dispose()


@app.command("run")
def run_command(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")] = False,
) -> None:
    """Record the reminders due now, then send the e-mail digests and webhooks at once."""
    from hub.db import session_scope
    from hub.kit.time import utcnow
    from hub.notify import delivery, ledger

    with progress_bar(err) as bar:
        task = bar.add_task("reminders", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        async def run(sessionmaker: Any) -> dict[str, Any]:
            now = utcnow()
            async with session_scope(sessionmaker) as session:
                recorded = await ledger.run_reminders(session, now, progress=tick)
            unit = delivery.units(sessionmaker)
            mails = await delivery.send_digests(unit, now)
            hooks = await delivery.deliver_webhooks(unit, now)
            return {
                "subjects": recorded.subjects,
                "issued": recorded.issued,
                "skipped": recorded.skipped,
                "emails": {
                    "messages": mails.messages,
                    "reminders_sent": mails.sent,
                    "retrying": mails.retried,
                    "dead": mails.dead,
                },
                "webhooks": {"sent": hooks.sent, "retrying": hooks.retried, "dead": hooks.dead},
            }

        report = asyncio.run(_with_sessionmaker(Settings(), run))
    if as_json:
        out.print_json(json.dumps(report))
        return
    out.print(
        f"{report['subjects']} items looked at: {report['issued']} reminders issued, "
        f"{report['skipped']} skipped (caught up)"
    )
    e, w = report["emails"], report["webhooks"]
    out.print(
        f"e-mail: {e['messages']} digests with {e['reminders_sent']} reminders, {e['retrying']} to retry, "
        f"{e['dead']} dead"
    )
    out.print(f"webhooks: {w['sent']} sent, {w['retrying']} to retry, {w['dead']} dead")


@app.command("test")
def test_command(
    channel: Annotated[str, typer.Option(help="email or webhook")] = "email",
    to: Annotated[str | None, typer.Option(help="e-mail address (channel email)")] = None,
    webhook: Annotated[str | None, typer.Option(help="webhook endpoint id (channel webhook)")] = None,
) -> None:
    """Send one sample reminder through a channel and say whether it went through."""
    from pydantic import ValidationError

    from hub.auth.principal import SYSTEM
    from hub.db import session_scope
    from hub.errors import HubError
    from hub.notify import service
    from hub.notify.schemas import ReminderTest

    try:
        body = ReminderTest.model_validate({"channel": channel, "to": to, "webhook_id": webhook})
    except ValidationError as exc:
        first = exc.errors()[0]
        err.print(f"[red]error:[/red] {'.'.join(map(str, first['loc']))}: {first['msg']}")
        raise typer.Exit(2) from None

    async def run(sessionmaker: Any) -> Any:
        async with session_scope(sessionmaker) as session:
            return await service.send_test(session, SYSTEM, body)

    try:
        outcome = asyncio.run(_with_sessionmaker(Settings(), run))
    except HubError as exc:
        err.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from None
    colour = "green" if outcome.delivered else "red"
    out.print(
        f"[{colour}]{'delivered' if outcome.delivered else 'NOT delivered'}[/{colour}] "
        f"via {outcome.channel} to {outcome.target}: {outcome.detail}"
    )
    if not outcome.delivered:
        raise typer.Exit(1)
