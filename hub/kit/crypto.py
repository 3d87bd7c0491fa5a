"""Encryption of vendor secrets at rest (MultiFernet: AES-128-CBC + HMAC-SHA256).

The key lives outside the database: HUB_SECRET_KEY (comma-separated keys, newest first,
so a rotation can decrypt old values and re-encrypt with the new key) or, when unset, a
key file under the data directory created with mode 0600 on first use.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from hub.config import Settings


class SecretDecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is required")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken as exc:
            raise SecretDecryptionError("secret cannot be decrypted with the configured keys") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt under the newest key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")

    def __repr__(self) -> str:  # never show key material
        return "SecretBox(<keys hidden>)"


def load_secret_box(settings: Settings) -> SecretBox:
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
