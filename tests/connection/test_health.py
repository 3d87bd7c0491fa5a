"""Connection health after a vendor call, and when a failed connection is tried again:
pure rules, table-driven."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.connection import health
from hub.models.enums import ConnectionHealth as H
from hub.sdk.errors import (
    AuthenticationFailed,
    ConfigurationError,
    InvalidResponse,
    RateLimited,
    VendorUnavailable,
)

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
    state = health.after_failure(current, failures, exc, "msg", degraded_after)
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
    delay = health.retry_delay(exc, failures, timedelta(minutes=5), timedelta(minutes=360))
    assert delay == timedelta(minutes=expected_minutes)
