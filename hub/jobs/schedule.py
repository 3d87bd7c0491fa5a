"""Pure helpers: cron slots and retry backoff (no I/O, tested table-driven)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from croniter import croniter


def validate_cron(expr: str) -> None:
    if not croniter.is_valid(expr):
        raise ValueError(f"invalid cron expression {expr!r}")


def current_slot(expr: str, now: datetime) -> datetime:
    """The latest slot at or before `now` (UTC). Offering only this one slot is what makes
    a worker that was down for N slots catch up once, not N times."""
    now = now.astimezone(UTC)
    itr = croniter(expr, now + timedelta(microseconds=1))
    prev: datetime = itr.get_prev(datetime)
    return prev.astimezone(UTC)


def backoff_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> timedelta:
    """Delay before retry number `attempt` (1 = after the first failure): exponential,
    capped, with "equal jitter" (half fixed, half random) so that jobs failing together
    do not retry together yet never retry immediately."""
    exp = min(cap, base * (2 ** max(0, attempt - 1)))
    r = (rng or random).random()
    return timedelta(seconds=exp / 2 + r * exp / 2)
