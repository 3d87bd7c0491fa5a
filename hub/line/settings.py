"""Settings of the ISP lines' probe (environment, prefix HUB_LINE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.check.dns.dnsbl_zones import Zone


class LineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_LINE_", extra="ignore")

    # One TCP connect gives up after this; a round's connects run at the same time, so a
    # round of a line lasts at most about this long.
    connect_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    # Connects in flight at once per round (a line has at most 8 targets x 8 ports).
    concurrency: int = Field(default=16, ge=1, le=256)
    # Probe rows older than this are deleted by the schedule tick.
    history_days: int = Field(default=30, ge=1, le=3650)
    # Lines queued per schedule tick (the rest are due at the next tick).
    schedule_batch: int = Field(default=500, ge=1)
    # Block lists a line's public addresses are checked on (ZONES.json entries, as JSON in
    # HUB_LINE_DNSBL_ZONES). Empty: the addresses get PTR checks only. Spamhaus refuses
    # queries through public resolvers: see HUB_DNS_NAMESERVERS.
    dnsbl_zones: list[Zone] = Field(default_factory=list)
    # How often those PTR and block-list checks run.
    address_check_interval_seconds: int = Field(default=3600, ge=60, le=30 * 86_400)
