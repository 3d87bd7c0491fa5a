"""Pure rules of cases, table-driven: which vendor words mean "fixed" (they trigger a
re-check, never a state change by themselves), and which status changes the vendor's
clock sees as opened / paused / resumed / resolved / reopened."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from hub.case.policy import says_resolved
from hub.case.timeline import clock_events
from hub.kit.business_clock import ClockEventKind as K
from hub.models.enums import CaseEventKind


@pytest.mark.parametrize(
    ("text", "fixed"),
    [
        ("the issue in Case #123 has been resolved. Please check.", True),
        ("The circuit is up again.", True),
        ("il problema della Pratica n. 42 è stato risolto.", True),
        ("Il circuito è di nuovo attivo.", True),
        ("The fault was repaired at 14:00", True),
        ("We have not resolved it yet; our second level is working on it.", False),
        ("Could you send the headers? We will update you shortly.", False),
        ("Is it resolved on your side?", False),
    ],
)
def test_a_vendor_saying_it_is_fixed(text: str, fixed: bool) -> None:
    assert says_resolved(text) is fixed


@dataclass
class Ev:
    kind: CaseEventKind
    meta: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime = datetime(2026, 12, 7, 9, tzinfo=UTC)


def move(before: str, after: str) -> Ev:
    return Ev(CaseEventKind.status_change, {"from": before, "to": after})


@pytest.mark.parametrize(
    ("events", "kinds"),
    [
        ([move("draft", "open"), move("open", "waiting_vendor")], [K.opened]),
        ([move("waiting_vendor", "waiting_client")], [K.paused]),
        ([move("waiting_client", "waiting_vendor")], [K.resumed]),
        ([move("waiting_client", "resolved")], [K.resolved]),
        ([move("resolved", "open")], [K.reopened]),
        ([move("resolved", "closed")], []),
        ([move("waiting_vendor", "closed")], [K.closed]),
        ([Ev(CaseEventKind.email_in, {"vendor_response": True})], [K.vendor_responded]),
        ([Ev(CaseEventKind.email_in, {"vendor_response": False})], []),  # an auto-reply
        ([Ev(CaseEventKind.note)], []),
    ],
)
def test_status_changes_as_the_clock_sees_them(events: list[Ev], kinds: list[K]) -> None:
    assert [e.kind for e in clock_events(events)] == kinds
