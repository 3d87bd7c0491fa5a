"""`hub who`: the same card in the terminal; the PIN only with --reveal-pin, audited."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.models import AuditEvent
from tests.card.test_card import PIN, world
from tests.cli.test_cli import cli_env  # noqa: F401 - fixture

runner = CliRunner()


async def hub(*args: str) -> Any:
    return await asyncio.to_thread(runner.invoke, cli, list(args), env={"COLUMNS": "200"})


async def test_hub_who_finds_the_card_of_a_failing_domain_and_reveals_the_pin_only_when_asked(
    api,
    sessionmaker,
    cli_env,  # noqa: F811
):
    w = await world(api, sessionmaker)
    shown = await hub("who", "rossi", "mario@rossi.example")
    assert shown.exit_code == 0, shown.output
    text = shown.stdout
    assert text.index("MailCo for Ferramenta Rossi") < text.index("DnsCo for") < text.index("RegCo for")
    for expected in (
        "mail host of rossi.example",
        "MC-000123",
        "Mario Rossi",
        "on file (--reveal-pin)",
        "Mail bounces",
        "0004711",
        "Duty Manager",
        "business_hours:4",
        "Mail Business",
    ):
        assert expected in text, expected
    assert PIN not in text
    overview = await hub("who", "Ferramenta Rossi")
    assert overview.exit_code == 0 and all(v in overview.stdout for v in ("MailCo", "DnsCo", "RegCo", "Dell"))
    revealed = await hub("who", "rossi", "MC-000123", "--reveal-pin", "--json")
    assert revealed.exit_code == 0, revealed.output
    body = json.loads(revealed.stdout)
    assert body["support_pins"] == {"MC-000123": PIN} and body["matches"][0]["vendor_name"] == "MailCo"
    async with sessionmaker() as session:
        events = (
            await session.execute(select(AuditEvent).where(AuditEvent.subject_id == w["mail_acc"]["id"]))
        ).scalars()
        assert [(e.actor, e.meta) for e in events if e.action.value == "reveal_secret"] == [
            ("cli", {"field": "support_pin"})
        ]
    unknown = await hub("who", "nobody")
    assert unknown.exit_code == 1 and "no client 'nobody'" in unknown.stderr
    nothing = await hub("who", "rossi", "nope.example")
    assert nothing.exit_code == 1 and "nothing of this client matches 'nope.example'" in nothing.stderr
