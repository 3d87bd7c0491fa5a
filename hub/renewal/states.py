"""Which renewal states are settled and which still have work for the executor."""

from __future__ import annotations

from hub.models.enums import RenewalState

# Nothing more happens to a renewal in these states.
TERMINAL = frozenset(
    {RenewalState.confirmed, RenewalState.escalated, RenewalState.declined, RenewalState.resolved}
)
# The executor has a next step for these (a person has one for awaiting_approval).
ACTIVE = frozenset(RenewalState) - TERMINAL - {RenewalState.awaiting_approval}
