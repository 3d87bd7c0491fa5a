"""User (people) and ApiToken (machines and scripts)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, Entity, str_enum
from hub.models.enums import Role

# A client viewer is always bound to exactly one client; staff never are.
_ROLE_SCOPE = "(role = 'client_viewer') = (client_id IS NOT NULL)"


class User(Entity, Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_ROLE_SCOPE, name="viewer_has_client"),)

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="RESTRICT", use_alter=True), index=True
    )
    password_hash: Mapped[str | None] = mapped_column(String(200))
    oidc_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    active: Mapped[bool] = mapped_column(default=True)


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
    scopes: Mapped[list[str]] = mapped_column(default=list)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
