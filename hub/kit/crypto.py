"""Encryption of secrets at rest and signing of links, one key per purpose.

The master keys (Fernet keys, newest first) live outside the database; where they come
from is `hub.settings.load_keyring`. No master key encrypts anything itself: each purpose
(support PINs, connection configs, OAuth tokens, webhook secrets, approval links) gets
its own key derived with HKDF-SHA256 from each master key, so a value encrypted for one
purpose never decrypts as another, and a link signature is never a ciphertext (ADR 0007).

Values written before per-purpose keys existed were encrypted with the bare master key.
While `legacy_reads` is on, every box also *decrypts* with the bare keys (never encrypts
with them); `hub secrets rotate` re-encrypts such values under the derived keys, after
which `HUB_SECRET_LEGACY_READS=false` closes that door. Link signatures never accept a
bare key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from enum import StrEnum

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretDecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


class Purpose(StrEnum):
    """What a key is for. The value is part of the HKDF `info`: never rename one (the
    values encrypted under it would no longer decrypt)."""

    support_pin = "support-pin"
    connection_config = "connection-config"
    oauth_token = "oauth-token"
    webhook_secret = "webhook-secret"
    approval_link = "approval-link"
    totp_secret = "totp-secret"


_INFO_PREFIX = b"vendor-hub/v1/"


def derive_key(master: bytes, purpose: Purpose) -> bytes:
    """The Fernet key of `purpose` under one master key (HKDF-SHA256, RFC 5869). The
    master key is a Fernet key: 32 random bytes, url-safe base64."""
    try:
        material = base64.urlsafe_b64decode(master)
    except (ValueError, TypeError) as exc:
        raise ValueError("a master key must be a Fernet key (32 bytes, url-safe base64)") from exc
    if len(material) != 32:
        raise ValueError("a master key must be a Fernet key (32 bytes, url-safe base64)")
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO_PREFIX + purpose.value.encode()
    ).derive(material)
    return base64.urlsafe_b64encode(derived)


class SecretBox:
    """Authenticated encryption (Fernet: AES-128-CBC + HMAC-SHA256) under a list of keys:
    encrypts with the first, decrypts with any, `rotate` re-encrypts under the first."""

    def __init__(self, keys: list[bytes], *, read_only: list[bytes] | None = None) -> None:
        if not keys:
            raise ValueError("at least one key is required")
        self._fernet = MultiFernet([Fernet(k) for k in [*keys, *(read_only or [])]])
        self._current = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise SecretDecryptionError("secret cannot be decrypted with the configured keys") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt under the newest key (from any key this box can read)."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise SecretDecryptionError("secret cannot be decrypted with the configured keys") from exc

    def is_current(self, token: str) -> bool:
        """Whether `token` was encrypted under one of this purpose's own keys (not a bare
        legacy key): what `hub secrets rotate` reports on."""
        try:
            self._current.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            return False
        return True

    def __repr__(self) -> str:  # never show key material
        return "SecretBox(<keys hidden>)"


class Keyring:
    """The master keys of a process and the per-purpose boxes and signers made from them."""

    def __init__(self, masters: list[bytes], *, legacy_reads: bool = True) -> None:
        if not masters:
            raise ValueError("at least one key is required")
        for master in masters:
            derive_key(master, Purpose.support_pin)  # refuses a malformed key now, not at first use
        self._masters = list(masters)
        self.legacy_reads = legacy_reads
        self._boxes: dict[Purpose, SecretBox] = {}
        self._signing: dict[Purpose, list[bytes]] = {}

    def box(self, purpose: Purpose) -> SecretBox:
        if purpose not in self._boxes:
            derived = [derive_key(m, purpose) for m in self._masters]
            legacy = self._masters if self.legacy_reads else None
            self._boxes[purpose] = SecretBox(derived, read_only=legacy)
        return self._boxes[purpose]

    def _signing_keys(self, purpose: Purpose) -> list[bytes]:
        if purpose not in self._signing:
            self._signing[purpose] = [base64.urlsafe_b64decode(derive_key(m, purpose)) for m in self._masters]
        return self._signing[purpose]

    def sign(self, purpose: Purpose, data: bytes) -> bytes:
        """HMAC-SHA256 of `data` under the newest key of `purpose`."""
        return hmac.new(self._signing_keys(purpose)[0], data, hashlib.sha256).digest()

    def verify(self, purpose: Purpose, data: bytes, signature: bytes) -> bool:
        """Whether `signature` is `data`'s under any master key's key of `purpose` (so links
        signed before a key rotation stay valid until they expire)."""
        return any(
            hmac.compare_digest(hmac.new(key, data, hashlib.sha256).digest(), signature)
            for key in self._signing_keys(purpose)
        )

    def derive_keys(self, purpose: str) -> list[bytes]:
        """A 32-byte key per master key (newest first) for a signing purpose of the web
        layer (HKDF-SHA256; `info` is the purpose's name): what signs session cookies never
        decrypts a vendor secret, and a rotation keeps what the older key signed valid
        until that key is dropped."""
        return [
            HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
                base64.urlsafe_b64decode(master)
            )
            for master in self._masters
        ]

    def __repr__(self) -> str:
        return f"Keyring(<{len(self._masters)} key(s) hidden>)"


__all__ = ["Keyring", "Purpose", "SecretBox", "SecretDecryptionError", "derive_key"]
