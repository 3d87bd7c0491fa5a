"""Money: normalisation from billing periods, formatting, validation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hub.kit.money import BillingPeriod, format_amount, monthly, validate_amount, validate_currency, yearly


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
    with pytest.raises(ValueError, match="amount"):
        validate_amount(Decimal(bad))


def test_currency_must_be_iso_4217():
    assert validate_currency(" eur ") == "EUR"
    for bad in ("EURO", "XXY", "€"):
        with pytest.raises(ValueError, match="is not an ISO 4217 currency code"):
            validate_currency(bad)
