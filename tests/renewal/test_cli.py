"""`hub renewals`: plan shows what would happen and changes nothing; pause and resume
flip the switch every step reads; list shows the states."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import func, select
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.kit.time import utcnow
from hub.models import Renewal, RenewalControls
from tests import factories as f
from tests.cli.test_cli import cli_env  # noqa: F401 - fixture

runner = CliRunner()


async def hub(*args: str):  # type: ignore[no-untyped-def]
    """Run the CLI as its own program would: in a thread with no event loop running."""
    return await asyncio.to_thread(runner.invoke, cli, list(args))


async def test_plan_lists_due_auto_renewals_with_costs_and_changes_nothing(app, api, cli_env):  # noqa: F811
    c = await f.client(api, name="Delta Srl", slug="delta")
    acc = await f.account(api, c["id"], (await f.vendor(api))["id"])
    today = utcnow().date()
    await f.subscription(
        api,
        acc["id"],
        product="Intercept X",
        quantity=12,
        unit_cost="29.5",
        starts_on=str(today - timedelta(days=300)),
        ends_on=str(today + timedelta(days=9)),
        renewal_type="auto_hub",
    )
    await f.subscription(
        api,
        acc["id"],
        product="Manual one",
        starts_on=str(today - timedelta(days=300)),
        ends_on=str(today + timedelta(days=9)),
    )
    result = await hub("renewals", "plan", "--days", "30", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [i["product"] for i in body["items"]] == ["Intercept X"]
    assert body["items"][0]["total"] == "354.00"  # 12 x 29.50, exact
    assert body["totals"] == {"EUR": "354.00"}
    async with app.state.runtime.sessionmaker() as session:
        assert (await session.execute(select(func.count(Renewal.id)))).scalar_one() == 0


async def test_pause_and_resume_flip_the_switch(app, cli_env):  # noqa: F811
    assert (await hub("renewals", "pause", "--reason", "vendor audit")).exit_code == 0
    async with app.state.runtime.sessionmaker() as session:
        controls = await session.get(RenewalControls, 1)
        assert controls is not None and controls.paused and controls.paused_reason == "vendor audit"
    assert (await hub("renewals", "resume")).exit_code == 0
    async with app.state.runtime.sessionmaker() as session:
        controls = await session.get(RenewalControls, 1)
        assert controls is not None and not controls.paused and controls.paused_reason is None


def test_list_refuses_an_unknown_state(cli_env):  # noqa: F811
    result = runner.invoke(cli, ["renewals", "list", "--state", "finished"])
    assert result.exit_code == 2 and "unknown state" in result.output
