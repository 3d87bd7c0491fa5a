"""The authenticated principal and the per-client scoping hook.

The client a viewer may see is always taken from here, never from the request. Every
list and every fetch goes through `scope_to_client` / `ensure_client_access`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from hub.errors import Forbidden, NotFound
from hub.models.enums import Role

S = TypeVar("S", bound=Select[Any])


@dataclass(frozen=True, slots=True)
class Principal:
    actor: str  # "token:hub_ab12cd34" - what the audit trail records
    role: Role
    client_id: uuid.UUID | None = None
    token_id: uuid.UUID | None = None
    # Set when a person signed in to the web console or portal (hub.auth.sessions).
    user_id: uuid.UUID | None = None

    @property
    def is_client(self) -> bool:
        """A user of one client (client_viewer; client_admin with the web portal): sees
        that client's data only, in the client-safe projection (hub.api.projection)."""
        return self.client_id is not None

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.admin, Role.technician)

    def require_staff(self) -> None:
        if not self.is_staff:
            raise Forbidden("this action needs a technician or admin")

    def require_admin(self) -> None:
        if self.role is not Role.admin:
            raise Forbidden("this action needs an admin")


SYSTEM = Principal(actor="system", role=Role.admin)
# Whoever runs the `hub` command on the server: it holds the database and the key already.
CLI = Principal(actor="cli", role=Role.admin)


def scope_to_client(stmt: S, principal: Principal, client_column: InstrumentedAttribute[Any]) -> S:
    """Restrict a query to the principal's client when the principal is a client viewer."""
    if principal.client_id is not None:
        return stmt.where(client_column == principal.client_id)
    return stmt


def ensure_client_access(principal: Principal, client_id: uuid.UUID | None, what: str) -> None:
    # A viewer asking for another client's object learns nothing: same 404 as a missing id.
    if principal.client_id is not None and client_id != principal.client_id:
        raise NotFound(f"{what} not found")
