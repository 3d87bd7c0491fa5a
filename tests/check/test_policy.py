"""Flap damping of check alerts (hub.check.policy), table-driven: a status must hold for N
consecutive runs or M minutes before it is told, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.check.enums import CheckStatus
from hub.check.policy import Damping, transition

S = CheckStatus
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
D = Damping(runs=3, minutes=60)


@pytest.mark.parametrize(
    ("settled", "status", "runs", "minutes_ago", "expected"),
    [
        # Not held long enough: neither enough runs nor enough time.
        (S.ok, S.fail, 1, 0, None),
        (S.ok, S.fail, 2, 59, None),
        # Enough runs, or enough time: told once, with where it came from.
        (S.ok, S.fail, 3, 0, (S.ok, S.fail, True)),
        (S.ok, S.fail, 2, 60, (S.ok, S.fail, True)),
        (S.ok, S.warn, 3, 5, (S.ok, S.warn, True)),
        (S.fail, S.unknown, 3, 5, (S.fail, S.unknown, True)),
        # Recovery.
        (S.fail, S.ok, 3, 0, (S.fail, S.ok, True)),
        # Already told: nothing more, however long it holds.
        (S.fail, S.fail, 40, 600, None),
        # A new check: a settled problem is told, a settled ok is only remembered.
        (None, S.fail, 3, 0, (None, S.fail, True)),
        (None, S.ok, 3, 0, (None, S.ok, False)),
        (S.pending, S.warn, 3, 0, (None, S.warn, True)),
        # A check that has not run has nothing to tell.
        (None, S.pending, 9, 600, None),
    ],
)
def test_a_status_is_told_once_it_has_held(
    settled: CheckStatus | None,
    status: CheckStatus,
    runs: int,
    minutes_ago: int,
    expected: tuple[CheckStatus | None, CheckStatus, bool] | None,
) -> None:
    change = transition(settled, status, runs, NOW - timedelta(minutes=minutes_ago), NOW, D)
    assert (None if change is None else (change.before, change.after, change.notify)) == expected


def test_minutes_zero_leaves_it_to_the_runs() -> None:
    runs_only = Damping(runs=2, minutes=0)
    assert transition(S.ok, S.fail, 1, NOW - timedelta(days=3), NOW, runs_only) is None
    assert transition(S.ok, S.fail, 2, NOW, NOW, runs_only) is not None


def test_the_words_of_a_transition() -> None:
    failing = transition(S.ok, S.fail, 3, NOW, NOW, D)
    recovered = transition(S.warn, S.ok, 3, NOW, NOW, D)
    first = transition(None, S.unknown, 3, NOW, NOW, D)
    assert failing is not None and failing.describe() == "is failing (was ok)"
    assert recovered is not None and recovered.describe() == "recovered (ok; was warn)"
    assert first is not None and first.describe() == "is unknown"
