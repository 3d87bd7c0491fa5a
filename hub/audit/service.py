"""Recording and reading audit events."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession

from hub.kit.time import utcnow
from hub.models import AuditEvent
from hub.models.base import secret_purpose
from hub.models.enums import AuditAction

if TYPE_CHECKING:  # a type only: hub.auth records sign-ins here, so no import cycle
    from hub.auth.principal import Principal

REDACTED = "[redacted]"
# Columns that never enter the audit trail in clear, whatever the model (besides every
# encrypted column, which `secret_purpose` recognises).
SECRET_COLUMNS = frozenset(
    {
        "support_pin_encrypted",
        "config_encrypted",
        "token_hash",
        "password_hash",
        "secret_encrypted",
        "totp_secret_encrypted",
    }
)
# Bookkeeping columns that say nothing about the change itself.
_NOISE = frozenset({"created_at", "updated_at", "version"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, uuid.UUID | date | datetime):
        return str(value)
    return value


def snapshot(obj: Any) -> dict[str, Any]:
    """The object's column values as JSON, with secret columns redacted."""
    out: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        key = attr.key
        if key in _NOISE:
            continue
        value = getattr(obj, key)
        secret = key in SECRET_COLUMNS or any(secret_purpose(c) for c in attr.columns)
        out[key] = (REDACTED if value is not None else None) if secret else _jsonable(value)
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def event_values(
    principal: Principal,
    action: AuditAction,
    *,
    subject_type: str,
    subject_id: Any,
    client_id: uuid.UUID | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One event's columns (what `record` adds, and what `record_rows` inserts)."""
    return {
        "occurred_at": utcnow(),
        "actor": principal.actor,
        "action": action,
        "subject_type": subject_type,
        "subject_id": str(subject_id),
        "client_id": client_id,
        "before": before,
        "after": after,
        "meta": meta or {},
    }


_INSERT_EVENT = insert(cast(Table, AuditEvent.__table__))


def record(
    session: AsyncSession,
    principal: Principal,
    action: AuditAction,
    *,
    subject_type: str,
    subject_id: Any,
    client_id: uuid.UUID | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        **event_values(
            principal,
            action,
            subject_type=subject_type,
            subject_id=subject_id,
            client_id=client_id,
            before=before,
            after=after,
            meta=meta,
        )
    )
    session.add(event)
    return event


async def record_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert events built by `event_values` now, in one statement, reading no id back
    (the ORM's `record` inserts each event on its own with its id returned): for a hot
    path that writes several events in one transaction."""
    if rows:
        # The table's own INSERT (not the ORM's bulk path), the rows as its parameters.
        await session.execute(_INSERT_EVENT, rows[0] if len(rows) == 1 else rows)
