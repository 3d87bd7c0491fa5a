"""The line's state from its probe rounds (pure, table-tested).

A round is every configured (host, port) connected to once. The state after a round:
- `up`: every target answered;
- `degraded`: some answered and some did not, or none answered but fewer rounds in a row
  than the line's threshold (one lost round is not an outage);
- `down`: no target answered in `failures_for_down` rounds in a row;
- `unknown`: the round had no target (nothing configured).
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.models.line import LineState


@dataclass(frozen=True)
class RoundOutcome:
    state: LineState
    # Rounds in a row (this one included) in which no target answered.
    consecutive_failures: int


def judge_round(answered: int, total: int, failures_before: int, failures_for_down: int) -> RoundOutcome:
    if total <= 0:
        return RoundOutcome(LineState.unknown, failures_before)
    if answered == total:
        return RoundOutcome(LineState.up, 0)
    if answered > 0:
        return RoundOutcome(LineState.degraded, 0)
    failures = failures_before + 1
    return RoundOutcome(LineState.down if failures >= failures_for_down else LineState.degraded, failures)


__all__ = ["RoundOutcome", "judge_round"]
