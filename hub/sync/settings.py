"""Sync settings (environment, prefix HUB_SYNC_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SyncSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_SYNC_", extra="ignore")

    # How often a healthy connection is synced.
    interval_minutes: float = Field(default=360.0, gt=0)
    # After a temporary failure: retry after failure_backoff * 2**(failures-1), capped by
    # the interval, or when the vendor said (Retry-After), whichever is later.
    failure_backoff_minutes: float = Field(default=5.0, ge=0)
    # Vendor calls of one sync in flight at once (per tenant / per zone / per batch).
    concurrency: int = Field(default=4, ge=1, le=64)
    # Per request, and for the whole vendor phase of one sync: a hung vendor ends here.
    http_timeout_seconds: float = Field(default=15.0, gt=0)
    deadline_seconds: float = Field(default=900.0, gt=0)
