"""Cross-site request forgery tokens: a synchronizer token derived from what anchors the
browser (its session token once signed in, a random pre-session cookie before), keyed
with a key of its own. Nothing is stored; a form from another site cannot know it."""

from __future__ import annotations

import base64
import hashlib
import hmac

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


def token_for(key: bytes, anchor: str) -> str:
    mac = hmac.new(key, f"csrf|{anchor}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def is_valid(keys: list[bytes], anchor: str | None, token: str | None) -> bool:
    if not anchor or not token:
        return False
    return any(hmac.compare_digest(token_for(key, anchor), token) for key in keys)
