"""The line's state after a probe round (hub.line.engine), table-driven."""

from __future__ import annotations

import pytest

from hub.line.engine import judge_round
from hub.models.line import LineState

U, G, D, K = LineState.up, LineState.degraded, LineState.down, LineState.unknown


@pytest.mark.parametrize(
    ("answered", "total", "before", "threshold", "state", "failures"),
    [
        (2, 2, 0, 3, U, 0),  # everything answered
        (2, 2, 5, 3, U, 0),  # recovery resets the count
        (1, 2, 0, 3, G, 0),  # one port of two closed: degraded, not failing
        (1, 2, 4, 3, G, 0),  # something answered: the run of failed rounds ends
        (0, 2, 0, 3, G, 1),  # one lost round is no outage
        (0, 2, 1, 3, G, 2),
        (0, 2, 2, 3, D, 3),  # the third round in a row: down
        (0, 2, 7, 3, D, 8),  # stays down
        (0, 1, 0, 1, D, 1),  # a threshold of one: down at the first failed round
        (0, 0, 2, 3, K, 2),  # nothing to probe: unknown, the count untouched
    ],
)
def test_a_round_gives_the_state_and_the_failed_rounds_in_a_row(
    answered: int, total: int, before: int, threshold: int, state: LineState, failures: int
) -> None:
    outcome = judge_round(answered, total, before, threshold)
    assert (outcome.state, outcome.consecutive_failures) == (state, failures)
