from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.crud import CrudService, Reference, Resource, contains_text, ends_within, equals
from hub.asset.service import require_account_of_client
from hub.auth.principal import Principal
from hub.client.service import fill_renewal_currency, require_client
from hub.errors import Conflict, InvalidInput
from hub.models import Domain, Endpoint, VendorCase

_ACCOUNT_FIELDS = ("registrar_account_id", "dns_host_account_id", "mail_host_account_id")


class DomainService(CrudService[Domain]):
    resource = Resource(
        model=Domain,
        label="domain",
        subject_type="domain",
        client_column=Domain.client_id,
        sort_fields={"name": Domain.name, "expires_on": Domain.expires_on, "created_at": Domain.created_at},
        default_sort="name",
        filters={
            "client_id": equals(Domain.client_id),
            "expected_mail_provider": equals(Domain.expected_mail_provider),
            "ends_within_days": ends_within(Domain.expires_on),
            "q": contains_text(Domain.name),
        },
        references=(
            Reference(Endpoint.domain_id, "endpoints"),
            Reference(VendorCase.domain_id, "vendor cases"),
        ),
        json_fields=frozenset({"dkim_selectors"}),
    )

    async def prepare_create(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any]
    ) -> dict[str, Any]:
        await require_client(session, principal, values["client_id"])
        if (await session.execute(select(Domain.id).where(Domain.name == values["name"]))).first():
            raise Conflict(f"domain '{values['name']}' is already registered in the hub")
        for field in _ACCOUNT_FIELDS:
            await require_account_of_client(session, values.get(field), values["client_id"], field)
        await fill_renewal_currency(session, values["client_id"], values)
        return values

    async def prepare_update(
        self, session: AsyncSession, principal: Principal, obj: Domain, changes: dict[str, Any]
    ) -> dict[str, Any]:
        for key in ("expected_mail_provider", "dkim_selectors"):
            if key in changes and changes[key] is None:
                raise InvalidInput(key, "cannot be null")
        for field in _ACCOUNT_FIELDS:
            await require_account_of_client(session, changes.get(field), obj.client_id, field)
        await fill_renewal_currency(session, obj.client_id, changes, obj.renewal_currency)
        return changes


class EndpointService(CrudService[Endpoint]):
    resource = Resource(
        model=Endpoint,
        label="endpoint",
        subject_type="endpoint",
        client_column=Endpoint.client_id,
        sort_fields={"host": Endpoint.host, "port": Endpoint.port, "expires_on": Endpoint.expires_on},
        default_sort="host",
        filters={
            "client_id": equals(Endpoint.client_id),
            "domain_id": equals(Endpoint.domain_id),
            "ends_within_days": ends_within(Endpoint.expires_on),
        },
    )

    async def _check_domain(self, session: AsyncSession, domain_id: Any, client_id: Any) -> None:
        if domain_id is None:
            return
        domain = await session.get(Domain, domain_id)
        if domain is None or domain.client_id != client_id:
            raise InvalidInput("domain_id", "no domain with that id for this client")

    async def _unique(
        self, session: AsyncSession, client_id: Any, host: str, port: int, skip: Any = None
    ) -> None:
        stmt = select(Endpoint.id).where(
            Endpoint.client_id == client_id, Endpoint.host == host, Endpoint.port == port
        )
        found = (await session.execute(stmt)).scalar_one_or_none()
        if found is not None and found != skip:
            raise Conflict(f"endpoint {host}:{port} already exists for this client")

    async def prepare_create(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any]
    ) -> dict[str, Any]:
        await require_client(session, principal, values["client_id"])
        await self._check_domain(session, values.get("domain_id"), values["client_id"])
        await self._unique(session, values["client_id"], values["host"], values["port"])
        return values

    async def prepare_update(
        self, session: AsyncSession, principal: Principal, obj: Endpoint, changes: dict[str, Any]
    ) -> dict[str, Any]:
        for key in ("host", "port", "tls_mode"):
            if key in changes and changes[key] is None:
                raise InvalidInput(key, "cannot be null")
        await self._check_domain(session, changes.get("domain_id"), obj.client_id)
        if "host" in changes or "port" in changes:
            await self._unique(
                session,
                obj.client_id,
                changes.get("host", obj.host),
                changes.get("port", obj.port),
                skip=obj.id,
            )
        return changes
