"""Clients are archived, never destroyed: their history (costs, cases, audit) stays."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.crud import CrudService, Resource, contains_text, equals
from hub.audit.service import record
from hub.auth.principal import Principal
from hub.errors import Conflict, InvalidInput
from hub.kit.time import utcnow
from hub.models import Client, Contact, Vendor
from hub.models.enums import AuditAction, ClientStatus


def _not_archived_unless_asked(stmt: Any, include: bool) -> Any:
    return stmt if include else stmt.where(Client.status != ClientStatus.archived)


class ClientService(CrudService[Client]):
    resource = Resource(
        model=Client,
        label="client",
        subject_type="client",
        client_column=Client.id,
        sort_fields={
            "name": Client.name,
            "slug": Client.slug,
            "created_at": Client.created_at,
            "tier": Client.tier,
            "status": Client.status,
        },
        default_sort="name",
        json_fields=frozenset({"renewal_policy"}),
        filters={
            "status": equals(Client.status),
            "tier": equals(Client.tier),
            "q": contains_text(Client.name, Client.slug),
            "include_archived": _not_archived_unless_asked,
        },
    )

    async def list(self, session: AsyncSession, principal: Principal, params: Any) -> Any:
        # An explicit status=archived filter implies archived clients are wanted.
        if getattr(params, "status", None) is ClientStatus.archived:
            params = params.model_copy(update={"include_archived": True})
        return await super().list(session, principal, params)

    async def prepare_create(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any]
    ) -> dict[str, Any]:
        await self._slug_free(session, values["slug"])
        return values

    async def prepare_update(
        self, session: AsyncSession, principal: Principal, obj: Client, changes: dict[str, Any]
    ) -> dict[str, Any]:
        if changes.get("status") is ClientStatus.archived:
            raise InvalidInput("status", "archive a client with DELETE /clients/{id}")
        if changes.get("status") is not None and obj.status is ClientStatus.archived:
            raise InvalidInput("status", "restore an archived client with POST /clients/{id}/restore")
        if "slug" in changes and changes["slug"] != obj.slug:
            await self._slug_free(session, changes["slug"])
        for key in ("name", "slug", "tier", "timezone", "default_currency", "status"):
            if key in changes and changes[key] is None:
                raise InvalidInput(key, "cannot be null")
        return changes

    async def _slug_free(self, session: AsyncSession, slug: str) -> None:
        taken = (await session.execute(select(Client.id).where(Client.slug == slug))).first()
        if taken:
            raise Conflict(f"a client with slug '{slug}' already exists")

    async def delete(self, session: AsyncSession, principal: Principal, obj_id: uuid.UUID) -> None:
        await self.archive(session, principal, obj_id)

    async def archive(self, session: AsyncSession, principal: Principal, obj_id: uuid.UUID) -> Client:
        principal.require_staff()
        client = await self.get(session, principal, obj_id)
        if client.status is not ClientStatus.archived:
            client.status = ClientStatus.archived
            client.archived_at = utcnow()
            await self._flush(session)
            record(
                session,
                principal,
                AuditAction.archive,
                subject_type="client",
                subject_id=client.id,
                client_id=client.id,
                after={"status": "archived"},
            )
        return client

    async def restore(self, session: AsyncSession, principal: Principal, obj_id: uuid.UUID) -> Client:
        principal.require_staff()
        client = await self.get(session, principal, obj_id)
        if client.status is ClientStatus.archived:
            client.status = ClientStatus.active
            client.archived_at = None
            await self._flush(session)
            record(
                session,
                principal,
                AuditAction.restore,
                subject_type="client",
                subject_id=client.id,
                client_id=client.id,
                after={"status": "active"},
            )
        return client


async def require_client(
    session: AsyncSession,
    principal: Principal,
    client_id: uuid.UUID,
    *,
    field: str = "client_id",
    allow_archived: bool = False,
) -> Client:
    """The client a new row will belong to: it must exist, be visible and be active."""
    client = await session.get(Client, client_id)
    if client is None or (principal.client_id is not None and principal.client_id != client_id):
        raise InvalidInput(field, f"no client with id {client_id}")
    if client.status is ClientStatus.archived and not allow_archived:
        raise Conflict(f"client '{client.slug}' is archived; restore it before adding to it")
    return client


def _has_role(stmt: Any, role: str) -> Any:
    # JSON arrays are stored as text on SQLite and json on PostgreSQL; both cast to the
    # same '["a", "b"]' text, so a quoted LIKE finds an element on both.
    return stmt.where(cast(Contact.roles, String).like(f'%"{role}"%'))


class ContactService(CrudService[Contact]):
    resource = Resource(
        model=Contact,
        label="contact",
        subject_type="contact",
        client_column=Contact.client_id,
        sort_fields={
            "name": Contact.name,
            "email": Contact.email,
            "escalation_level": Contact.escalation_level,
        },
        default_sort="name",
        filters={
            "client_id": equals(Contact.client_id),
            "vendor_id": equals(Contact.vendor_id),
            "role": lambda stmt, role: _has_role(stmt, str(role.value)),
            "q": contains_text(Contact.name, func.coalesce(Contact.email, "")),  # type: ignore[arg-type]
        },
        json_fields=frozenset({"roles"}),
    )

    async def prepare_create(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any]
    ) -> dict[str, Any]:
        if values.get("client_id") is not None:
            await require_client(session, principal, values["client_id"])
        if values.get("vendor_id") is not None and await session.get(Vendor, values["vendor_id"]) is None:
            raise InvalidInput("vendor_id", f"no vendor with id {values['vendor_id']}")
        return values

    async def prepare_update(
        self, session: AsyncSession, principal: Principal, obj: Contact, changes: dict[str, Any]
    ) -> dict[str, Any]:
        for key in ("name", "roles"):
            if key in changes and changes[key] is None:
                raise InvalidInput(key, "cannot be null")
        return changes


__all__ = ["ClientService", "ContactService", "require_client"]


async def fill_renewal_currency(
    session: AsyncSession, client_id: uuid.UUID, values: dict[str, Any], stored: str | None = None
) -> None:
    """A renewal price without a currency is in the client's default currency."""
    if values.get("renewal_price") is not None and not (values.get("renewal_currency") or stored):
        client = await session.get(Client, client_id)
        values["renewal_currency"] = client.default_currency if client is not None else "EUR"
