"""Notify settings (environment, prefix HUB_): SMTP, webhook allow-list, retries."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.terms.engine import validate_ladder


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    # E-mail: no host means e-mail is off (nothing is sent anywhere by default).
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "vendor-hub@localhost"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = Field(default=15.0, gt=0)
    # Webhook targets: host names ("hooks.example.com", "*.example.com") and addresses or
    # networks ("127.0.0.1", "10.0.0.0/8"), comma separated. Empty: webhooks refused.
    webhook_allowed_hosts: str = ""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    notify_max_attempts: int = Field(default=8, ge=1, le=50)
    notify_backoff_seconds: float = Field(default=60.0, ge=0)
    notify_backoff_max_seconds: float = Field(default=6 * 3600.0, ge=0)
    # A threshold older than this when the hub first gets to it is recorded as skipped.
    notify_catch_up_days: int = Field(default=7, ge=0, le=365)
    # Where reminders of clients without an owning technician go (empty: nowhere).
    notify_fallback_email: str = ""
    # Category ladders overriding the built-in ones: {"antivirus": [60, 30, 7, -1]}.
    notify_ladders: str = ""
    # Base URL of the hub as its users reach it, for the links it hands out (calendar
    # feeds). Empty: the address the request came in on (the host and port `hub serve`
    # listens on, as the caller reached it); set it behind a reverse proxy.
    public_url: str = ""
    # An all-client calendar feed expires after this many days (a feed of one client or
    # of one technician's clients only if asked).
    all_client_feed_days: int = Field(default=90, ge=1, le=3650)

    @field_validator("notify_ladders")
    @classmethod
    def _ladders(cls, value: str) -> str:
        if value.strip():
            parsed: Any = json.loads(value)
            if not isinstance(parsed, dict):
                raise ValueError("HUB_NOTIFY_LADDERS must be a JSON object of category -> days")
            for days in parsed.values():
                validate_ladder(days)
        return value

    @property
    def category_ladders(self) -> dict[str, list[int]]:
        return json.loads(self.notify_ladders) if self.notify_ladders.strip() else {}

    @property
    def allowed_hosts(self) -> list[str]:
        return [h.strip().lower() for h in self.webhook_allowed_hosts.split(",") if h.strip()]

    def backoff(self, attempts: int) -> float:
        delay = float(self.notify_backoff_seconds) * 2.0 ** max(attempts - 1, 0)
        return min(delay, float(self.notify_backoff_max_seconds))
