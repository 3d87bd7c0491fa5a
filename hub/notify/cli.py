"""`hub notify run | test`: the reminder pipeline from the command line."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

from hub.kit.console import progress_bar

app = typer.Typer(help="Reminders: record and send what is due, or test a channel.", no_args_is_help=True)
err = Console(stderr=True)
out = Console()


@app.command("run")
def run_command(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")] = False,
) -> None:
    """Record the reminders due now, then send the e-mail digests and webhooks at once."""
    from hub.notify import delivery, ledger
    from hub.runtime import HubRuntime
    from hub.runtime import run_command as run_in_runtime

    with progress_bar(err) as bar:
        task = bar.add_task("reminders", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        async def run(runtime: HubRuntime) -> dict[str, Any]:
            now = runtime.now()
            settings = runtime.settings.notify
            async with runtime.unit_of_work() as session:
                recorded = await ledger.run_reminders(session, now, settings, progress=tick)
            unit = delivery.units(runtime.sessionmaker)
            mails = await delivery.send_digests(unit, now, settings)
            hooks = await delivery.deliver_webhooks(unit, now, settings)
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

        report = run_in_runtime(run)
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
    from hub.errors import HubError
    from hub.notify import service
    from hub.notify.schemas import ReminderTest
    from hub.runtime import run_in_unit

    try:
        body = ReminderTest.model_validate({"channel": channel, "to": to, "webhook_id": webhook})
    except ValidationError as exc:
        first = exc.errors()[0]
        err.print(f"[red]error:[/red] {'.'.join(map(str, first['loc']))}: {first['msg']}")
        raise typer.Exit(2) from None

    async def run(session: Any) -> Any:
        return await service.send_test(session, SYSTEM, body)

    try:
        outcome = run_in_unit(run)
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
