"""Time-based one-time passwords (RFC 6238) over pyotp's HOTP: the second factor.

A code is accepted in the current 30-second step or the one either side (clock drift,
RFC 6238 section 5.2), and each step at most once: the caller stores the step returned
and passes it back as `last_step`.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

import pyotp

STEP_SECONDS = 30
DIGITS = 6
ISSUER = "Vendor hub"


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def code_at(secret: str, step: int, *, digits: int = DIGITS, digest: Any = None) -> str:
    """The code of one time step (`digest` a hashlib constructor; SHA-1 by default)."""
    kwargs = {"digest": digest} if digest is not None else {}
    return pyotp.HOTP(secret, digits=digits, **kwargs).at(step)


def step_of(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def verify(secret: str, code: str, at: datetime, *, last_step: int | None = None) -> int | None:
    """The step the code belongs to when it is valid now and was not used before."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = step_of(at)
    for step in (now - 1, now, now + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS, digits=DIGITS).provisioning_uri(
        name=account, issuer_name=ISSUER
    )
