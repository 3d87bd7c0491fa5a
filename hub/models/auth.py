"""User (people), their sign-in sessions, single-use links and sign-in throttles, and
ApiToken (machines and scripts)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.kit.crypto import Purpose
from hub.kit.time import utcnow
from hub.models.base import Base, BigIntPk, Entity, encrypted_column, str_enum
from hub.models.enums import Role, UserTokenPurpose

# A client user (viewer or admin of its client) is always bound to exactly one client;
# staff never are.
_ROLE_SCOPE = "(role IN ('client_viewer', 'client_admin')) = (client_id IS NOT NULL)"


class User(Entity, Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_ROLE_SCOPE, name="viewer_has_client"),)

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="RESTRICT", use_alter=True), index=True
    )
    # argon2id (PHC string); None until the user accepts an invitation or resets it.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # "<issuer>|<sub>" of the OIDC provider that signed this user in.
    oidc_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    # TOTP (RFC 6238) second factor: the shared secret, SecretBox-encrypted; enabled once
    # the user proved a first code (a pending secret waits in the same column).
    totp_secret_encrypted: Mapped[str | None] = encrypted_column(
        Purpose.totp_secret, nullable=True, type_=String(500)
    )
    totp_enabled_at: Mapped[datetime | None]
    # The last time step accepted: a code is good once (RFC 6238 section 5.2).
    totp_last_step: Mapped[int | None]
    # "it" / "en"; None follows the browser's Accept-Language.
    locale: Mapped[str | None] = mapped_column(String(10))
    password_changed_at: Mapped[datetime | None]
    last_sign_in_at: Mapped[datetime | None]


class UserSession(Entity, Base):
    """A browser's signed-in session. The cookie carries a random token (signed); only its
    SHA-256 is stored, so a database read gives nobody a session."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id_revoked_at", "user_id", "revoked_at"),)

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The absolute end, whatever the activity (idle time is checked against last_seen_at).
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    method: Mapped[str] = mapped_column(String(20))  # "password", "password+totp", "oidc"
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class UserToken(Entity, Base):
    """A single-use link sent by e-mail (an invitation or a password reset): only the
    SHA-256 of the token is stored; it expires, and it is spent on first use."""

    __tablename__ = "user_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[UserTokenPurpose] = mapped_column(str_enum(UserTokenPurpose, "user_token_purpose"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(200))


class SignInThrottle(BigIntPk, Base):
    """Failed sign-ins counted per key (account and address, address alone, account
    alone): each key locks for a while that doubles with each failure, up to a cap, and
    a success clears the account's keys."""

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the key text
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class AuthFailure(Base):
    """Failed authentications per key (`address:<ip>` or `token:<prefix>`) and fixed
    window: the rate limit of hub.auth.token_throttle, shared by every API process."""

    __tablename__ = "auth_failures"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True, index=True)
    count: Mapped[int] = mapped_column(default=0)


class ApiToken(Entity, Base):
    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(_ROLE_SCOPE, name="viewer_has_client"),)

    name: Mapped[str] = mapped_column(String(200))
    # The public part shown in lists and logs ("hub_ab12cd34"); the secret is only hashed.
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # No scopes: the role and the client binding are the whole of what a token may do
    # (a scopes column nothing enforced was dropped rather than left to mislead).
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
