"""The pure rules of linking, table-tested: what a match needs and how it scores, which
pairs are proposed, and what adopting a vendor record creates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from hub.kit.money import BillingPeriod
from hub.link import engine
from hub.link.engine import HubSide, VendorSide
from hub.models.enums import RenewalType

END = date(2026, 12, 31)
START = date(2026, 1, 1)


def hub(**kw: Any) -> HubSide:
    base: dict[str, Any] = {
        "external_id": None,
        "product": "Microsoft 365 Business Premium",
        "sku": None,
        "quantity": 10,
        "starts_on": START,
        "ends_on": END,
    }
    return HubSide(**{**base, **kw})


def vendor(**kw: Any) -> VendorSide:
    base: dict[str, Any] = {
        "external_id": "S-1",
        "product": "Microsoft 365 Business Premium",
        "codes": (),
        "quantity": 10,
        "starts_on": START,
        "ends_on": END,
    }
    return VendorSide(**{**base, **kw})


@pytest.mark.parametrize(
    ("hub_side", "vendor_side", "expected"),
    [
        # Everything agrees: the same name, quantity and dates.
        (hub(), vendor(), (65, ("product", "quantity", "end_date", "start_date"), "medium")),
        # The SKU is the strongest evidence.
        (
            hub(sku="CFQ7TTC0LCHC"),
            vendor(codes=("cfq7ttc0lchc",)),
            (100, ("sku", "product", "quantity", "end_date", "start_date"), "high"),
        ),
        # A name mostly the same (M365 vs Microsoft 365) and the end a few days off:
        # 15 + 15 + 8 = 38, under the minimum; with the same end it is proposed.
        (hub(product="M365 Business Premium"), vendor(ends_on=date(2027, 1, 15), starts_on=None), None),
        (
            hub(product="M365 Business Premium"),
            vendor(ends_on=END, starts_on=None),
            (45, ("product_similar", "quantity", "end_date"), "low"),
        ),
        # The hub subscription already carries the vendor's id (a spreadsheet import).
        (
            hub(external_id="S-1", product="Something else"),
            vendor(),
            (95, ("external_id", "quantity", "end_date", "start_date"), "high"),
        ),
        # It carries another vendor id: never proposed for this one.
        (hub(external_id="S-9"), vendor(), None),
        # No product evidence at all: quantity and dates alone prove nothing.
        (hub(product="Firewall bundle"), vendor(), None),
        # Empty names are no evidence either.
        (hub(product=""), vendor(product=""), None),
    ],
)
def test_match_scores_the_signals_that_hold(
    hub_side: HubSide, vendor_side: VendorSide, expected: Any
) -> None:
    found = engine.match(hub_side, vendor_side)
    if expected is None:
        assert found is None
        return
    score, signals, confidence = expected
    assert found is not None
    assert (found.score, found.signals, found.confidence) == (score, signals, confidence)


def test_each_vendor_subscription_gets_its_best_three_matches_best_first() -> None:
    hubs = [
        ("exact", hub()),
        ("no-dates", hub(ends_on=None, starts_on=date(2020, 1, 1))),
        ("other-qty", hub(quantity=3)),
        ("similar", hub(product="M365 Business Premium", quantity=3)),
        ("unrelated", hub(product="Backup")),
    ]
    found = engine.propose([("S-1", vendor())], hubs)
    assert [(p.vendor, p.hub, p.match.score) for p in found] == [
        ("S-1", "exact", 65),
        ("S-1", "other-qty", 50),
        ("S-1", "no-dates", 45),
    ]


@pytest.mark.parametrize(
    ("term", "months", "expected"),
    [
        ("Monthly", None, BillingPeriod.monthly),
        ("Annual", 12, BillingPeriod.yearly),
        ("3-Year", None, BillingPeriod.triennial),
        (None, 12, BillingPeriod.yearly),
        ("One-Time", None, None),
        (None, 7, None),
        (None, None, None),
    ],
)
def test_billing_period_of_a_vendor_term(term: Any, months: Any, expected: BillingPeriod | None) -> None:
    assert engine.billing_period(term, months) == expected


@pytest.mark.parametrize(
    ("kind", "payload", "expected"),
    [
        (
            "subscriptions",
            {
                "external_id": "S-4",
                "product_name": "Backup 500 GB",
                "sku": "BK-500",
                "quantity": 3,
                "unit_cost": "12.50",
                "currency": "eur",
                "billing_term": "Monthly",
                "start_date": "2026-02-01",
                "end_date": "2027-01-31",
                "auto_renew": True,
            },
            {
                "product": "Backup 500 GB",
                "sku": "BK-500",
                "quantity": 3,
                "unit_cost": Decimal("12.50"),
                "currency": "EUR",
                "billing_period": BillingPeriod.monthly,
                "starts_on": date(2026, 2, 1),
                "ends_on": date(2027, 1, 31),
                "renewal_type": RenewalType.auto_vendor,
            },
        ),
        (
            "license_usage",
            {"external_id": "L-1", "product_code": "AV", "product_name": "Antivirus", "seats_paid": 0},
            {
                "product": "Antivirus",
                "sku": "AV",
                "quantity": 0,
                "unit_cost": None,
                "currency": None,
                "billing_period": None,
                "starts_on": None,
                "ends_on": None,
                "renewal_type": RenewalType.manual,
            },
        ),
        (
            "subscriptions",
            {"external_id": "S-5", "product_name": "", "quantity": 1, "unit_cost": "-3", "auto_renew": False},
            {
                "product": "S-5",
                "sku": None,
                "quantity": 1,
                "unit_cost": None,  # a negative price is no price
                "currency": None,
                "billing_period": None,
                "starts_on": None,
                "ends_on": None,
                "renewal_type": RenewalType.manual,
            },
        ),
    ],
)
def test_adoption_takes_what_the_vendor_record_says(
    kind: str, payload: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert engine.adoption(kind, payload).__dict__ == expected
