"""The approval rules a quote meets before the hub orders on its own (pure, table-driven)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from hub.models.enums import Payer
from hub.renewal.policy import Policy, Resale, decide

BASE = Policy(price_cap_pct=D("10"), cap_currency="EUR")


@pytest.mark.parametrize(
    ("policy", "unit", "qty", "currency", "previous", "client_today", "msp_today", "approved", "says"),
    [
        (BASE, D("30.00"), 10, "EUR", D("30.00"), D(0), D(0), True, None),
        (BASE, D("33.00"), 10, "EUR", D("30.00"), D(0), D(0), True, None),  # +10 % is the cap itself
        (BASE, D("33.01"), 10, "EUR", D("30.00"), D(0), D(0), False, "above the 10% cap"),
        (BASE, D("12.00"), 1, "EUR", None, D(0), D(0), True, None),  # no previous term: nothing to compare
        (BASE, D("12.00"), 1, "EUR", D("0"), D(0), D(0), True, None),  # was free: no ratio to take
        (Policy(approval_above=D("500")), D("50"), 10, "EUR", D("50"), D(0), D(0), True, None),
        (
            Policy(approval_above=D("500")),
            D("50.01"),
            10,
            "EUR",
            D("50"),
            D(0),
            D(0),
            False,
            "approval threshold",
        ),
        (Policy(client_daily_cap=D("1000")), D("100"), 5, "EUR", D("100"), D("500"), D(0), True, None),
        (
            Policy(client_daily_cap=D("1000")),
            D("100"),
            5,
            "EUR",
            D("100"),
            D("500.01"),
            D(0),
            False,
            "this client",
        ),
        (Policy(msp_daily_cap=D("1000")), D("100"), 5, "EUR", D("100"), D(0), D("600"), False, "MSP-wide"),
        (Policy(msp_daily_cap=D("1000")), D("100"), 5, "USD", D("100"), D(0), D(0), False, "caps are in EUR"),
        (Policy(), D("100"), 5, "USD", D("100"), D(0), D(0), True, None),  # no caps: currency irrelevant
    ],
)
def test_decide(policy, unit, qty, currency, previous, client_today, msp_today, approved, says):
    decision = decide(
        policy,
        unit_price=unit,
        quantity=qty,
        currency=currency,
        previous_unit_cost=previous,
        client_spent_today=client_today,
        msp_spent_today=msp_today,
    )
    assert decision.approved is approved
    if says:
        assert decision.reason and says in decision.reason


def test_overrides_apply_client_then_subscription_and_ignore_unknown_keys():
    policy = (
        Policy(lead_days=14, price_cap_pct=D("10"))
        .overridden({"lead_days": 30, "max_price_increase_pct": "5", "client_daily_cap": "900", "future": 1})
        .overridden({"lead_days": 7, "max_price_increase_pct": None, "approval_above": None})
    )
    assert policy.lead_days == 7  # the subscription's own setting wins
    assert policy.price_cap_pct == D("5")  # None in the subscription keeps the client's
    assert policy.client_daily_cap == D("900")


RESOLD = Resale(Payer.msp_resold, D("30.00"), "EUR")


@pytest.mark.parametrize(
    ("policy", "resale", "unit", "currency", "approved", "reason", "warning"),
    [
        # Quoted at or under what the client pays: nothing to say.
        (BASE, RESOLD, D("30.00"), "EUR", True, None, None),
        (BASE, RESOLD, D("29.99"), "EUR", True, None, None),
        # Above it: a loss on every unit, said with the figures, and held for approval.
        (
            BASE,
            RESOLD,
            D("30.50"),
            "EUR",
            False,
            "negative margin",
            "a loss of 0.50 per unit (5.00 EUR for 10)",
        ),
        # The switch off: ordered, but the warning is still said.
        (
            replace(BASE, approve_negative_margin=False),
            RESOLD,
            D("30.50"),
            "EUR",
            True,
            None,
            "negative margin",
        ),
        # Priced in another currency than the client's: the margin cannot be checked.
        (BASE, RESOLD, D("20.00"), "USD", False, "cannot be checked", "quoted in USD"),
        # Not resold, or no client price recorded: no margin to protect.
        (BASE, Resale(Payer.client_direct, D("30.00"), "EUR"), D("32.00"), "EUR", True, None, None),
        (BASE, Resale(Payer.msp_included, D("30.00"), "EUR"), D("32.00"), "EUR", True, None, None),
        (BASE, Resale(Payer.msp_resold, None, "EUR"), D("32.00"), "EUR", True, None, None),
        (BASE, None, D("32.00"), "EUR", True, None, None),
        # Another rule holds it first: its reason leads, the warning goes with it.
        (BASE, RESOLD, D("34.00"), "EUR", False, "above the 10% cap", "negative margin"),
    ],
)
def test_a_resold_item_quoted_above_the_clients_price_is_said_and_held(
    policy: Policy,
    resale: Resale | None,
    unit: D,
    currency: str,
    approved: bool,
    reason: str | None,
    warning: str | None,
) -> None:
    got = decide(
        policy,
        unit_price=unit,
        quantity=10,
        currency=currency,
        previous_unit_cost=D("30.00"),
        client_spent_today=D(0),
        msp_spent_today=D(0),
        resale=resale,
    )
    assert got.approved is approved
    assert (got.reason is None) if reason is None else (reason in (got.reason or ""))
    assert (got.margin_warning is None) if warning is None else (warning in (got.margin_warning or ""))
