"""Pure rules of signing in: how long a throttle key stays locked, and how an OIDC
identity maps to a hub user. No database, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class ThrottleRule:
    free: int  # failures before the first lock
    base_seconds: int
    cap_seconds: int

    def lock_for(self, failures: int) -> timedelta | None:
        """The lock after `failures` consecutive failures: none below `free`, then
        doubling from `base_seconds`, never longer than `cap_seconds`."""
        if failures < self.free:
            return None
        exponent = min(failures - self.free, 30)  # 2^30 s is past any cap
        return timedelta(seconds=min(self.base_seconds * 2**exponent, self.cap_seconds))

    def forgets_after(self) -> timedelta:
        """Failures older than this start the count again: a lock never outlives its
        cap by more than one more round of free attempts."""
        return timedelta(seconds=self.cap_seconds * 4)


def counted_failures(
    previous: int, last_failure_at: datetime | None, now: datetime, rule: ThrottleRule
) -> int:
    """The count after one more failure now."""
    if last_failure_at is None or now - last_failure_at > rule.forgets_after():
        return 1
    return previous + 1


# --- OIDC ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OidcIdentity:
    subject: str  # "<issuer>|<sub>"
    email: str
    name: str


class OidcRefused(Exception):
    """The provider's answer does not let this person in; the message says why."""


def identity_of(claims: dict[str, Any], issuer: str, allowed_domains: frozenset[str]) -> OidcIdentity:
    """The identity an ID token asserts, when the provider speaks for its e-mail's
    domain. An e-mail the provider marks unverified is never trusted."""
    sub = str(claims.get("sub") or "")
    email = str(claims.get("email") or "").strip().lower()
    if not sub:
        raise OidcRefused("the provider sent no subject")
    if not email or "@" not in email:
        raise OidcRefused("the provider sent no e-mail address (ask for the 'email' scope)")
    if claims.get("email_verified") is False:
        raise OidcRefused(f"the provider has not verified {email}")
    domain = email.rsplit("@", 1)[1]
    if domain not in allowed_domains:
        raise OidcRefused(f"{domain} is not a domain this sign-in is allowed for")
    name = str(claims.get("name") or email.split("@", 1)[0])[:200]
    return OidcIdentity(subject=f"{issuer}|{sub}"[:255], email=email, name=name)
