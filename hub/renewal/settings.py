"""Timing of the renewal executor (environment, prefix HUB_RENEWAL_).

The defaults suit production. Tests and benchmarks that run real worker processes with
short job leases (`HUB_JOBS_LEASE_SECONDS`) shorten these with them, so that a lost
answer is reconciled in seconds instead of a minute. Read once, when the executor is
imported (a worker process reads its environment at start-up).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RenewalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_RENEWAL_", extra="ignore")

    # Margin between the sender's lease end and the last moment its order may leave.
    send_margin_seconds: float = Field(default=2.0, ge=0)
    # After the send deadline: how long an answer may still be in flight at the vendor
    # (the HTTP timeout plus slack) before a lookup's "not found" is believed. Must stay
    # longer than the adapters' HTTP timeout.
    in_flight_grace_seconds: float = Field(default=20.0, ge=0)
    # Retry delay after a temporary failure: base * 2**attempt, capped.
    retry_base_seconds: float = Field(default=30.0, ge=0)
    retry_max_seconds: float = Field(default=3600.0, ge=0)
    # How soon to read the vendor's end date again when an order placed has not moved it.
    confirm_recheck_seconds: float = Field(default=60.0, ge=0)
    # A lost answer is resent only on proof that no order exists. A vendor whose order list
    # lags, or that keeps no reference, may be unable to prove it for a while: look again
    # every `unproven_recheck_seconds`, and after `absence_proof_wait_seconds` (or the
    # adapter's declared order visibility lag plus the in-flight grace, if longer) escalate
    # to a person with the evidence. Never a guess.
    unproven_recheck_seconds: float = Field(default=120.0, gt=0)
    absence_proof_wait_seconds: float = Field(default=3600.0, gt=0)
    # Reads of the vendor's term after an order was found before escalating "the end date
    # never moved" (asynchronous provisioning can take a while).
    max_confirm_reads: int = Field(default=30, ge=1, le=10_000)
    # A purchase order by e-mail: how often its read-back (where the route has one) and its
    # thread are looked at while it waits for the distributor's confirmation. A reply
    # filed on the thread brings the look forward.
    po_recheck_seconds: float = Field(default=900.0, gt=0)

    @property
    def send_margin(self) -> timedelta:
        return timedelta(seconds=self.send_margin_seconds)

    @property
    def in_flight_grace(self) -> timedelta:
        return timedelta(seconds=self.in_flight_grace_seconds)

    @property
    def confirm_recheck(self) -> timedelta:
        return timedelta(seconds=self.confirm_recheck_seconds)

    @property
    def po_recheck(self) -> timedelta:
        return timedelta(seconds=self.po_recheck_seconds)

    @property
    def unproven_recheck(self) -> timedelta:
        return timedelta(seconds=self.unproven_recheck_seconds)

    @property
    def absence_proof_wait(self) -> timedelta:
        return timedelta(seconds=self.absence_proof_wait_seconds)

    def retry_delay(self, attempt: int) -> timedelta:
        return timedelta(seconds=min(self.retry_max_seconds, self.retry_base_seconds * 2 ** min(attempt, 7)))
