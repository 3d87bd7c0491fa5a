"""Weeks ahead, not at the deadline: every auto-renew subscription with no route to order
it is flagged "will escalate" (and why) by `hub renewals plan` and `GET /renewals/upcoming`."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.kit.time import utcnow
from hub.models.enums import RenewalType
from hub.renewal.route_check import RouteConnection, renewal_route_problem
from tests import factories as f
from tests.cli.test_cli import cli_env  # noqa: F401 - fixture
from tests.link.helpers import link, linkable_world
from tests.sync.helpers import fast_sync, test_registry, vendor

__all__ = ["fast_sync", "test_registry", "vendor"]

runner = CliRunner()
CONN = uuid.uuid4()


class Sub:
    def __init__(self, renewal_type: RenewalType = RenewalType.auto_hub, **kw: Any) -> None:
        self.id = "S"
        self.renewal_type = renewal_type
        self.connection_id = kw.get("connection_id", CONN)
        self.external_id = kw.get("external_id", "X-1")


def conn(**kw: Any) -> RouteConnection:
    base = {
        "name": "Pax8",
        "enabled": True,
        "adapter_slug": "pax8",
        "installed": True,
        "can_order": True,
        "vendor": "Pax8",
    }
    return RouteConnection(**{**base, **kw})


@pytest.mark.parametrize(
    ("sub", "connection", "account_tenant", "vendor_tenant", "expected"),
    [
        (Sub(), conn(), "C-1", "C-1", None),
        (Sub(), conn(), "C-1", None, None),  # the record is not known: nothing to contradict
        (Sub(RenewalType.manual, connection_id=None), None, None, None, None),  # a person renews it
        (Sub(RenewalType.auto_vendor, connection_id=None), None, None, None, None),  # the vendor does
        (Sub(connection_id=None), None, "C-1", None, "no vendor connection"),
        (Sub(external_id=None), conn(), "C-1", None, "no vendor subscription id"),
        (Sub(), conn(enabled=False), "C-1", None, "connection 'Pax8' is disabled"),
        (
            Sub(),
            conn(installed=False, can_order=False),
            "C-1",
            None,
            "adapter 'pax8' of connection 'Pax8' is not installed",
        ),
        (
            Sub(),
            conn(can_order=False, vendor="Sophos", name="Sophos Central"),
            "C-1",
            None,
            "the connection's adapter cannot order (Sophos, connection 'Sophos Central')",
        ),
        (Sub(), conn(), None, "C-1", "no vendor tenant to order under"),
        (Sub(), conn(), "C-2", "C-1", "external ref 'C-2' is not the tenant 'C-1'"),
    ],
)
def test_the_route_problem_of_a_subscription(
    sub: Sub,
    connection: RouteConnection | None,
    account_tenant: str | None,
    vendor_tenant: str | None,
    expected: str | None,
) -> None:
    found = renewal_route_problem(sub, connection, account_tenant=account_tenant, vendor_tenant=vendor_tenant)
    if expected is None:
        assert found is None
    else:
        assert found is not None and found.startswith("will escalate: ") and expected in found


def _in(days: int) -> str:
    return (utcnow().date() + timedelta(days=days)).isoformat()


async def test_upcoming_flags_auto_renewals_that_will_escalate_weeks_ahead(app, api, vendor):
    w = await linkable_world(app, api, vendor)
    alfa_account, beta_account = w["alfa_account"]["id"], w["beta_account"]["id"]
    unlinked = await f.subscription(
        api, alfa_account, product="Unlinked", starts_on=_in(-300), ends_on=_in(40), renewal_type="auto_hub"
    )
    cannot = await f.subscription(
        api, beta_account, product="Linked", starts_on=_in(-300), ends_on=_in(45), renewal_type="auto_hub"
    )
    assert (await link(api, cannot["id"], w["conn"]["id"], "S-2")).status_code == 200
    manual = await f.subscription(api, alfa_account, product="By hand", starts_on=_in(-300), ends_on=_in(40))
    r = await api.get("/renewals/upcoming", params={"within_days": 60, "kind": "subscription"})
    assert r.status_code == 200, r.text
    flags = {i["title"]: i["renewal_route_problem"] for i in r.json()["items"]}
    assert flags["By hand"] is None
    assert flags["Unlinked"].startswith("will escalate: no vendor connection")
    assert flags["Linked"] == (
        "will escalate: the connection's adapter cannot order (TestCorp, connection 'TestCorp partner')"
    )
    assert manual["id"] and unlinked["id"]


async def test_plan_lists_what_will_escalate_weeks_before_the_renewal_is_due(app, api, cli_env):  # noqa: F811
    c = await f.client(api, name="Epsilon")
    acc = await f.account(api, c["id"], (await f.vendor(api))["id"])
    await f.subscription(
        api, acc["id"], product="AV", starts_on=_in(-300), ends_on=_in(50), renewal_type="auto_hub"
    )
    result = await asyncio.to_thread(runner.invoke, cli, ["renewals", "plan", "--days", "60", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    [item] = body["items"]
    assert item["route_problem"].startswith("will escalate: no vendor connection")
    assert body["will_escalate"] == 1
    table = await asyncio.to_thread(runner.invoke, cli, ["renewals", "plan", "--days", "60"])
    assert table.exit_code == 0 and "will escalate" in " ".join(table.output.split())
