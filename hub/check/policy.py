"""When a check's status change becomes an alert: flap damping, pure.

A run's status is the check's status at once (what the API and the console show); the
technician is told only once a status has held for `runs` consecutive runs, or for
`minutes` since it began (whichever comes first), so a check flipping between fail and ok
tells nobody until it settles. Each settled change is one transition: the first settled
status of a new check is told only when it is not ok (there is nothing to recover from),
and a settled ok after a problem is a recovery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.check.enums import CheckStatus


@dataclass(frozen=True)
class Damping:
    # A status must hold for this many consecutive runs...
    runs: int = 3
    # ...or this long since its first run (0: the runs alone decide).
    minutes: int = 60


@dataclass(frozen=True)
class Transition:
    before: CheckStatus | None  # the last settled status (None: the check had none yet)
    after: CheckStatus
    notify: bool

    @property
    def recovery(self) -> bool:
        return self.after is CheckStatus.ok

    def describe(self) -> str:
        if self.recovery:
            return f"recovered (ok; was {self.before.value if self.before else 'unknown'})"
        verb = {CheckStatus.fail: "failing", CheckStatus.warn: "warning", CheckStatus.unknown: "unknown"}
        state = verb.get(self.after, self.after.value)
        return f"is {state}" + (f" (was {self.before.value})" if self.before else "")


def settled(runs: int, since: datetime | None, now: datetime, damping: Damping) -> bool:
    """Has the current status held long enough to be told?"""
    if runs >= damping.runs:
        return True
    return damping.minutes > 0 and since is not None and now - since >= timedelta(minutes=damping.minutes)


def transition(
    settled_status: CheckStatus | None,
    status: CheckStatus,
    runs: int,
    since: datetime | None,
    now: datetime,
    damping: Damping,
) -> Transition | None:
    """The transition this run completes, or None (nothing changed, or not settled yet).
    `settled_status` is the last status that settled; `runs` and `since` describe how
    long `status` (the latest run's) has held."""
    if status is CheckStatus.pending or status == settled_status:
        return None
    if not settled(runs, since, now, damping):
        return None
    first = settled_status is None or settled_status is CheckStatus.pending
    before = None if first else settled_status
    return Transition(before, status, notify=not (first and status is CheckStatus.ok))


__all__ = ["Damping", "Transition", "settled", "transition"]
