"""Money arithmetic, formatting and term dates: table-driven, plus properties."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.kit.money import BillingPeriod, format_amount, monthly, validate_amount, validate_currency, yearly
from hub.renewal.engine import Term, add_months, cancel_by, next_term
from hub.report.engine import build_spend


@pytest.mark.parametrize(
    ("period_cost", "period", "per_month", "per_year"),
    [
        ("887.50", BillingPeriod.yearly, "73.96", "887.50"),
        ("89.00", BillingPeriod.monthly, "89.00", "1068.00"),
        ("120", BillingPeriod.quarterly, "40.00", "480.00"),
        ("100", BillingPeriod.semiannual, "16.67", "200.00"),
        ("1080", BillingPeriod.triennial, "30.00", "360.00"),
        ("0.01", BillingPeriod.yearly, "0.00", "0.01"),
        ("250", BillingPeriod.biennial, "10.42", "125.00"),
    ],
)
def test_normalisation_from_billing_period(period_cost, period, per_month, per_year):
    assert monthly(Decimal(period_cost), period) == Decimal(per_month)
    assert yearly(Decimal(period_cost), period) == Decimal(per_year)


@pytest.mark.parametrize(
    ("value", "text"),
    [("35.5000", "35.50"), ("0.1234", "0.1234"), ("12", "12.00"), ("1E+3", "1000.00"), ("0.1000", "0.10")],
)
def test_amounts_print_with_cents_and_no_float_noise(value, text):
    assert format_amount(Decimal(value)) == text


@pytest.mark.parametrize("bad", ["1.23456", "NaN", "Infinity", "1e20"])
def test_amount_validation_refuses(bad):
    with pytest.raises(ValueError):
        validate_amount(Decimal(bad))


def test_currency_must_be_iso_4217():
    assert validate_currency(" eur ") == "EUR"
    for bad in ("EURO", "XXY", "€"):
        with pytest.raises(ValueError):
            validate_currency(bad)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 5, 15), 60, date(2031, 5, 15)),
    ],
)
def test_add_months_clamps_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("ends_on", "notice", "expected"),
    [
        (date(2026, 12, 31), 30, date(2026, 12, 1)),
        (date(2026, 3, 1), 1, date(2026, 2, 28)),
        (date(2026, 3, 31), 0, date(2026, 3, 31)),
        (None, 30, None),
    ],
)
def test_cancel_by_is_end_minus_notice(ends_on, notice, expected):
    assert cancel_by(ends_on, notice) == expected


def test_next_term_follows_without_gap_or_overlap():
    yearly_term = next_term(Term(date(2026, 1, 1), date(2026, 12, 31)), BillingPeriod.yearly)
    assert yearly_term == Term(date(2027, 1, 1), date(2027, 12, 31))
    # An initial term of 60 months, then yearly renewals: the renewal starts after month 60.
    first = Term(date(2021, 3, 1), add_months(date(2021, 3, 1), 60) - (date(2021, 3, 2) - date(2021, 3, 1)))
    assert first.ends_on == date(2026, 2, 28)
    assert next_term(first, BillingPeriod.yearly) == Term(date(2026, 3, 1), date(2027, 2, 28))


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
