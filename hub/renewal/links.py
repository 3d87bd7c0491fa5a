"""Signed approval links (pure: no I/O).

A link is `<payload>.<signature>`, both url-safe base64 without padding: the payload is a
small JSON document (renewal id and version, issued-at, expires-at, who created it), the
signature an HMAC-SHA256 under the approval-link key of the keyring, a key derived for
that purpose alone (ADR 0007). So a link is never a ciphertext some other secret could be
made into (a support PIN a technician stored could once be replayed as a link), and a
forged or altered link fails the signature before anything is read.

The expiry is decided when the link is made and capped again when it is read: a link is
valid only while `now < min(exp, iat + MAX_LIFETIME)`, so even a payload that claims a
later expiry cannot outlive the lifetime it was created with.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hub.kit.crypto import Keyring, Purpose

LINK_LIFETIME = timedelta(days=7)
"""How long a new link stays valid, and the most any link can be valid from its creation."""

MAX_TOKEN_CHARS = 1000


class InvalidLink(Exception):
    """The link is malformed, forged, or past its expiry (the caller answers 404 alike)."""


@dataclass(frozen=True)
class LinkClaims:
    renewal_id: uuid.UUID
    version: int
    issued_at: datetime
    expires_at: datetime
    created_by: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(
    keyring: Keyring, renewal_id: uuid.UUID, version: int, created_by: str, now: datetime
) -> tuple[str, LinkClaims]:
    iat = int(now.timestamp())
    claims = LinkClaims(
        renewal_id=renewal_id,
        version=version,
        issued_at=datetime.fromtimestamp(iat, UTC),
        expires_at=datetime.fromtimestamp(iat, UTC) + LINK_LIFETIME,
        created_by=created_by[:100],
    )
    body = {
        "r": str(renewal_id),
        "v": version,
        "iat": iat,
        "exp": int(claims.expires_at.timestamp()),
        "by": claims.created_by,
    }
    payload = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    token = f"{_b64(payload)}.{_b64(keyring.sign(Purpose.approval_link, payload))}"
    return token, claims


def read(keyring: Keyring, token: str, now: datetime) -> LinkClaims:
    """The claims of a valid link, or InvalidLink (malformed, forged, expired)."""
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise InvalidLink("malformed")
    encoded, signature = token.split(".")
    try:
        payload, sig = _unb64(encoded), _unb64(signature)
    except (binascii.Error, ValueError):
        raise InvalidLink("malformed") from None
    if not keyring.verify(Purpose.approval_link, payload, sig):
        raise InvalidLink("bad signature")
    try:
        body = json.loads(payload)
        issued = datetime.fromtimestamp(int(body["iat"]), UTC)
        claimed = datetime.fromtimestamp(int(body["exp"]), UTC)
        claims = LinkClaims(uuid.UUID(str(body["r"])), int(body["v"]), issued, claimed, str(body["by"]))
    except (ValueError, KeyError, TypeError, OverflowError):
        raise InvalidLink("malformed") from None
    # Capped at creation: whatever the payload says, never past issued-at + the lifetime.
    ends = min(claims.expires_at, claims.issued_at + LINK_LIFETIME)
    if not claims.issued_at - timedelta(minutes=5) <= now < ends:
        raise InvalidLink("expired")
    return LinkClaims(claims.renewal_id, claims.version, claims.issued_at, ends, claims.created_by)


__all__ = ["LINK_LIFETIME", "InvalidLink", "LinkClaims", "issue", "read"]
