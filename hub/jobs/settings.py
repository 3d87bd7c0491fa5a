"""Job-system settings (environment, prefix HUB_JOBS_).

The defaults suit production; tests shorten every interval through the environment so
that crash recovery takes fractions of a second instead of half a minute.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class JobSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_JOBS_", extra="ignore")

    # A lease is the time a worker may go without a heartbeat before its job is taken
    # back; heartbeats renew it several times per lease so one slow beat is harmless.
    lease_seconds: float = Field(default=30.0, gt=0)
    heartbeat_seconds: float = Field(default=10.0, gt=0)
    sweep_seconds: float = Field(default=15.0, gt=0)
    # How often an idle worker looks for due jobs when nothing tells it about new ones
    # (SQLite, or PostgreSQL while the LISTEN connection is down).
    poll_seconds: float = Field(default=1.0, gt=0)
    # PostgreSQL: a new job wakes idle workers at once (LISTEN/NOTIFY); their poll then only
    # finds jobs that became due later (retries after their backoff, a future run_at).
    # Unset: the same as poll_seconds (a poll costs one indexed query).
    listen: bool = True
    listen_poll_seconds: float | None = Field(default=None, gt=0)
    # How soon a worker tries to listen again after its LISTEN connection dropped.
    listen_retry_seconds: float = Field(default=5.0, gt=0)
    # How often each worker offers the current slot of every periodic schedule.
    schedule_seconds: float = Field(default=15.0, gt=0)
    # Retry delay: backoff_base * 2**(attempt-1), capped, with jitter.
    backoff_base_seconds: float = Field(default=5.0, ge=0)
    backoff_max_seconds: float = Field(default=3600.0, ge=0)
    default_max_attempts: int = Field(default=5, ge=1)
    # On SIGTERM: how long in-flight jobs may run on before they are released.
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)
    # Concurrency of the worker embedded in `hub serve` (0: no embedded worker).
    embedded_concurrency: int = Field(default=2, ge=0)
    worker_concurrency: int = Field(default=4, ge=1)
    # How long finished jobs stay visible before the prune job deletes them.
    retention_days: float = Field(default=7.0, gt=0)
    failed_retention_days: float = Field(default=30.0, gt=0)
    # Extra modules to import for their @task declarations (comma separated); the hub's
    # own `hub/<module>/tasks.py` files are always imported.
    imports: str = ""

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> JobSettings:
        if self.heartbeat_seconds >= self.lease_seconds:
            raise ValueError("heartbeat_seconds must be shorter than lease_seconds")
        return self

    @property
    def import_list(self) -> list[str]:
        return [m.strip() for m in self.imports.split(",") if m.strip()]
