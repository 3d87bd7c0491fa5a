"""The activity log a client reads instead of the raw audit trail (hub.activity.client):
who, in words; what, in words; only its objects and only the fields its view shows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hub.activity.client import Event, project, who
from hub.activity.service import VISIBLE_FIELDS
from hub.models.enums import AuditAction

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ORDERED = {"action": "renewal.order_placed"}
QUOTED = {"action": "renewal.quoted", "price": "9"}
NAMES = {("subscription", "s1"): "Microsoft 365", ("renewal", "r1"): "2026-12-31"}


def event(action: AuditAction, subject: str = "subscription", sid: str = "s1", **kw: Any) -> Event:
    return Event(1, NOW, kw.pop("actor", "token:hub_staff001"), action, subject, sid,
                 kw.pop("after", None), kw.pop("before", None), kw.pop("meta", {}))  # fmt: skip


@pytest.mark.parametrize(
    ("ev", "summary"),
    [
        (event(AuditAction.create), "Your MSP added subscription Microsoft 365"),
        (event(AuditAction.update, after={"quantity": 3}, before={"quantity": 2}),
         "Your MSP changed quantity of subscription Microsoft 365"),
        (event(AuditAction.update, after={"client_unit_price": "12.00"}),
         "Your MSP changed price of subscription Microsoft 365"),
        (event(AuditAction.update, after={"unit_cost": "9.00"}, before={"unit_cost": "8.00"}), None),
        (event(AuditAction.update, after={"notes": "call Mario"}), None),
        (event(AuditAction.delete), "Your MSP removed subscription Microsoft 365"),
        (event(AuditAction.vendor_action, "renewal", "r1", actor="system", meta=ORDERED),
         "Renewal 2026-12-31 ordered from the vendor"),
        (event(AuditAction.vendor_action, "renewal", "r1", meta=QUOTED), None),
        (event(AuditAction.create, "connection", "c1"), None),
        (event(AuditAction.reveal_secret, "vendor_account", "a1"), None),
        (event(AuditAction.update, "renewal", "r1", actor="client:alfa via approval link from token:hub_x",
               after={"state": "approved"}), "You (approval link) changed state of renewal 2026-12-31"),
    ],
)  # fmt: skip
def test_what_a_client_is_told(ev: Event, summary: str | None) -> None:
    told = project(
        [ev],
        own_actor="token:hub_me000001",
        client_tokens=frozenset(),
        visible_fields=VISIBLE_FIELDS,
        names=NAMES,
    )
    assert [t["summary"] for t in told] == ([summary] if summary else [])
    for entry in told:
        assert not {"before", "after", "meta", "actor"} & set(entry)


@pytest.mark.parametrize(
    ("actor", "words"),
    [
        ("token:hub_me000001", "you"),
        ("token:hub_colleag1", "someone of your company"),
        ("token:hub_staff001", "your MSP"),
        ("system", "the hub (automatically)"),
        ("system:demo", "the hub (automatically)"),
        ("cli", "the hub (automatically)"),
    ],
)
def test_who(actor: str, words: str) -> None:
    assert who(actor, "token:hub_me000001", frozenset({"token:hub_colleag1"})) == words
