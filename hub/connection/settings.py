"""How the hub talks to vendors through adapters (environment, prefix HUB_ADAPTER_).

The defaults suit production. Tests and benchmarks that run real worker processes against
simulators on loopback shorten the retry waits through the environment.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.sdk.context import RetryPolicy


class AdapterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_ADAPTER_", extra="ignore", populate_by_name=True)

    # Adapters loaded besides the installed entry points, "module:attribute" comma separated
    # (one being developed before it is packaged).
    extra: str = ""
    # Hosts a technician may point a connection at besides each adapter's official hosts,
    # comma separated (names, `*.suffix`, addresses): the simulators on loopback in tests
    # and the demo (`127.0.0.1`). Empty by default: anything else needs an admin.
    allow_hosts: str = ""
    # Per request of an adapter run (sync has its own, HUB_SYNC_HTTP_TIMEOUT_SECONDS).
    http_timeout_seconds: float = Field(default=15.0, gt=0)
    # The one retry policy of hub.sdk.http, for runs that do not bring their own.
    retry_max_attempts: int = Field(default=5, ge=1, le=20)
    retry_deadline_seconds: float = Field(default=30.0, gt=0)
    retry_backoff_initial_seconds: float = Field(default=0.2, ge=0)
    retry_backoff_max_seconds: float = Field(default=8.0, ge=0)
    retry_max_retry_after_seconds: float = Field(default=60.0, ge=0)

    # `POST /connections/{id}/test` answers within this.
    verify_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        validation_alias=AliasChoices(
            "HUB_ADAPTER_VERIFY_TIMEOUT_SECONDS", "HUB_SYNC_VERIFY_TIMEOUT_SECONDS"
        ),
    )
    # Temporary failures in a row before a connection shows `degraded` (one blip does not
    # page anybody). HUB_SYNC_DEGRADED_AFTER is the name the README gave it first.
    degraded_after: int = Field(
        default=2,
        ge=1,
        validation_alias=AliasChoices("HUB_ADAPTER_DEGRADED_AFTER", "HUB_SYNC_DEGRADED_AFTER"),
    )

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        return tuple(p.strip().lower() for p in self.allow_hosts.split(",") if p.strip())

    @property
    def extra_adapters(self) -> list[str]:
        return [item.strip() for item in self.extra.split(",") if item.strip()]

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.retry_max_attempts,
            deadline=self.retry_deadline_seconds,
            backoff_initial=self.retry_backoff_initial_seconds,
            backoff_max=self.retry_backoff_max_seconds,
            max_retry_after=self.retry_max_retry_after_seconds,
        )
