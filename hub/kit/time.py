"""Clock helpers: instants are timezone-aware UTC, term dates are plain dates."""

from __future__ import annotations

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return utcnow().date()
