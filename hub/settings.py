"""Settings, read from the environment with the HUB_ prefix (pydantic-settings)."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.kit.crypto import SecretBox


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    # Empty means "the embedded SQLite file under data_dir".
    database_url: str = ""
    data_dir: Path = Path("./var")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Fernet key(s), comma separated, newest first. Empty: a key file under data_dir,
    # created with mode 0600 on first use. Never stored in the database.
    secret_key: SecretStr = SecretStr("")
    log_level: str = "info"
    # SQLite busy timeout: how long a writer waits for the lock before failing.
    sqlite_busy_timeout_ms: int = 10_000
    db_pool_size: int = 10

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


def load_secret_box(settings: Settings) -> SecretBox:
    """The keyring: HUB_SECRET_KEY (comma-separated keys, newest first, so a rotation can
    decrypt old values and re-encrypt with the new key) or, when unset, a key file under
    the data directory created with mode 0600 on first use."""
    raw = settings.secret_key.get_secret_value()
    if raw:
        return SecretBox([k.strip().encode() for k in raw.split(",") if k.strip()])
    return SecretBox([_key_file(settings.data_dir)])


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
