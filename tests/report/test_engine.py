"""The spend report's arithmetic (pure): totals always equal the sum of their lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from hub.kit.money import BillingPeriod
from hub.report.engine import build_spend


def _row(i, cost, qty, period, currency, payer):
    return (
        i,
        f"p{i}",
        None,
        "licence",
        ["antivirus", "isp"][i % 2],
        qty,
        cost,
        None,
        currency,
        period,
        payer,
        date(2026, 1, 1),
        date(2026, 12, 31),
        "manual",
        0,
        i,
        f"A{i}",
        i,
        f"V{i}",
        "antivirus",
    )


@given(
    st.lists(
        st.tuples(
            st.decimals(min_value=0, max_value=10_000, places=4, allow_nan=False, allow_infinity=False),
            st.integers(min_value=0, max_value=500),
            st.sampled_from(list(BillingPeriod)),
            st.sampled_from(["EUR", "USD", "CHF"]),
            st.sampled_from(["client_direct", "msp_resold", "msp_included"]),
        ),
        max_size=40,
    )
)
def test_totals_always_equal_the_sum_of_their_lines(rows):
    lines, totals = build_spend([_row(i, *r) for i, r in enumerate(rows)], date(2026, 6, 1))
    assert len({t["currency"] for t in totals}) == len(totals)
    assert sum(t["lines"] for t in totals) == len(lines)
    for t in totals:
        mine = [ln for ln in lines if ln["currency"] == t["currency"]]
        assert Decimal(t["monthly"]) == sum(Decimal(ln["monthly"]) for ln in mine)
        assert Decimal(t["yearly"]) == sum(Decimal(ln["yearly"]) for ln in mine)
        assert sum(Decimal(v) for v in t["by_payer"].values()) == Decimal(t["monthly"])
        assert sum(Decimal(v) for v in t["by_category"].values()) == Decimal(t["monthly"])
