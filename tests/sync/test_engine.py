"""The pure rules of sync, table-driven."""

from __future__ import annotations

from datetime import date

import pytest

from hub.sync import engine

SUB = engine.HubSubscription("sub-1", "S-1", 10, date(2026, 12, 31))


@pytest.mark.parametrize(
    ("kind", "payload", "expected"),
    [
        ("license_usage", {"seats_paid": 10, "seats_used": 11}, {"seats_over_paid"}),
        ("license_usage", {"seats_paid": 10, "seats_used": 10}, set()),
        ("license_usage", {"seats_paid": None, "seats_used": 99}, set()),
        ("license_usage", {"external_id": "S-1", "seats_paid": 12, "seats_used": 1}, {"quantity_mismatch"}),
        ("subscriptions", {"external_id": "S-1", "quantity": 10, "end_date": "2026-12-31"}, set()),
        (
            "subscriptions",
            {"external_id": "S-1", "quantity": 10, "end_date": "2027-01-31"},
            {"end_date_mismatch"},
        ),
        (
            "subscriptions",
            {"external_id": "S-9", "quantity": 99, "end_date": "2030-01-01"},
            set(),
        ),  # not in hub
        (
            "warranty",
            {"external_id": "SN1", "found": True, "entitlements": [{"end_date": "2027-05-01"}]},
            {"end_date_mismatch"},
        ),
        (
            "warranty",
            {"external_id": "SN1", "found": True, "entitlements": [{"end_date": "2027-01-01"}]},
            set(),
        ),
        ("warranty", {"external_id": "SN1", "found": False}, set()),
    ],
)
def test_discrepancies(kind, payload, expected):
    record = {"external_id": "L-1", "product_name": "AV", **payload}
    hub_warranties = {"SN1": [engine.HubWarranty("w-1", "SN1", date(2027, 1, 1))]}
    found = engine.find_discrepancies([(kind, record)], {"S-1": SUB}, hub_warranties)
    assert {f.kind.value for f in found} == expected
