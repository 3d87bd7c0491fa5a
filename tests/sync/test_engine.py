"""The pure rules of sync, table-driven."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hub.models.enums import ConnectionHealth as H
from hub.sdk.errors import (
    AuthenticationFailed,
    ConfigurationError,
    InvalidResponse,
    RateLimited,
    VendorUnavailable,
)
from hub.sync import engine

DOWN = VendorUnavailable("down")


@pytest.mark.parametrize(
    ("current", "failures", "exc", "degraded_after", "expected"),
    [
        (H.ok, 0, DOWN, 2, (H.ok, 1)),  # one blip is not degraded yet
        (H.ok, 1, DOWN, 2, (H.degraded, 2)),
        (H.ok, 0, DOWN, 1, (H.degraded, 1)),
        (H.ok, 0, InvalidResponse("junk"), 1, (H.degraded, 1)),
        (H.ok, 0, AuthenticationFailed("no"), 5, (H.needs_reauth, 1)),
        (H.degraded, 3, ConfigurationError("wrong account"), 5, (H.misconfigured, 4)),
        (H.needs_reauth, 1, DOWN, 5, (H.needs_reauth, 2)),  # cannot tell whether creds got fixed
    ],
)
def test_health_after_a_failure(current, failures, exc, degraded_after, expected):
    state = engine.after_failure(current, failures, exc, "msg", degraded_after)
    assert (state.health, state.consecutive_failures) == expected and state.last_error == "msg"


@pytest.mark.parametrize(
    ("exc", "failures", "expected_minutes"),
    [
        (DOWN, 1, 5),
        (DOWN, 3, 20),
        (DOWN, 20, 360),  # capped by the interval
        (RateLimited("slow down", retry_after=3600), 1, 60),  # the vendor's Retry-After wins
        (AuthenticationFailed("no"), 1, 360),  # no hammering with refused credentials
    ],
)
def test_retry_delay(exc, failures, expected_minutes):
    delay = engine.retry_delay(exc, failures, timedelta(minutes=5), timedelta(minutes=360))
    assert delay == timedelta(minutes=expected_minutes)


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
