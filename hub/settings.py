"""Settings, read from the environment with the HUB_ prefix (pydantic-settings)."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.kit.crypto import Keyring


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    # Empty means "the embedded SQLite file under data_dir".
    database_url: str = ""
    data_dir: Path = Path("./var")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Master key(s): Fernet keys, comma separated, newest first. Never stored in the
    # database. Empty: read from secret_key_file; with neither, an embedded (SQLite)
    # install creates a key file under data_dir (mode 0600) on first use.
    secret_key: SecretStr = SecretStr("")
    # A file holding the master key(s) (comma or newline separated), e.g. a container
    # secret mounted outside the data volume; it must exist.
    secret_key_file: Path | None = None
    # Also decrypt values written under the bare master key before per-purpose keys
    # (ADR 0007); turn off once `hub secrets rotate` has run.
    secret_legacy_reads: bool = True
    log_level: str = "info"
    # The interactive API docs (/docs) and the OpenAPI document (/openapi.json): off by
    # default (the API's shape is no business of an anonymous caller), on in `hub demo`.
    api_docs: bool = False
    # Prometheus metrics at /metrics (no token: scrapers send none): off by default, on in
    # `hub demo`; turn it on where a scraper can reach the hub and nobody else can.
    metrics: bool = False
    # SQLite busy timeout: how long a writer waits for the lock before failing.
    sqlite_busy_timeout_ms: int = 10_000
    db_pool_size: int = 10

    @field_validator("secret_key_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'hub.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def normalise_database_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://, sqlite:///) and pick the
    async driver the hub uses for each."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def sync_database_url(async_url: str) -> str:
    """The same database through a synchronous driver (Alembic, bulk seeding)."""
    if async_url.startswith("sqlite+aiosqlite"):
        return "sqlite" + async_url[len("sqlite+aiosqlite") :]
    return async_url  # psycopg 3 serves both sync and async under one dialect name


class KeyConfigurationError(Exception):
    """The master keys are missing or unusable; the message says what to set."""


def load_keyring(settings: Settings) -> Keyring:
    """The keyring from HUB_SECRET_KEY (comma-separated keys, newest first, so a rotation
    can decrypt old values and re-encrypt with the new key), else HUB_SECRET_KEY_FILE,
    else, for an embedded SQLite install only, a key file under the data directory
    created with mode 0600 on first use. Several processes on PostgreSQL must share one
    key: they never make their own."""
    raw = settings.secret_key.get_secret_value()
    if not raw and settings.secret_key_file is not None:
        path = settings.secret_key_file
        try:
            raw = path.read_text()
        except OSError as exc:
            raise KeyConfigurationError(
                f"HUB_SECRET_KEY_FILE: cannot read {path} ({exc.strerror or type(exc).__name__}); "
                "put the Fernet key(s) there or set HUB_SECRET_KEY"
            ) from None
    if raw:
        keys = [k.strip().encode() for k in raw.replace("\n", ",").split(",") if k.strip()]
    elif settings.is_sqlite:
        keys = [_key_file(settings.data_dir)]
    else:
        raise KeyConfigurationError(
            "HUB_SECRET_KEY (or HUB_SECRET_KEY_FILE) is required with PostgreSQL: every process "
            "must use the same key. Generate one with: "
            'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        )
    try:
        return Keyring(keys, legacy_reads=settings.secret_legacy_reads)
    except ValueError as exc:
        raise KeyConfigurationError(f"HUB_SECRET_KEY: {exc}") from None


def _key_file(data_dir: Path) -> bytes:
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key
