"""Fixtures of the case tests: the checks' loopback DNS server (a case opened from a
failing check re-runs that check)."""

from __future__ import annotations

from tests.check.conftest import dns_server

__all__ = ["dns_server"]
