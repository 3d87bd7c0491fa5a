from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.crud import CrudService, Reference, Resource, contains_text, equals
from hub.auth.principal import Principal
from hub.errors import Conflict, InvalidInput, NotFound
from hub.models import Contact, Vendor, VendorAccount


class VendorService(CrudService[Vendor]):
    resource = Resource(
        model=Vendor,
        label="vendor",
        subject_type="vendor",
        client_column=None,
        sort_fields={"name": Vendor.name, "category": Vendor.category, "created_at": Vendor.created_at},
        default_sort="name",
        filters={"category": equals(Vendor.category), "q": contains_text(Vendor.name)},
        json_fields=frozenset({"support_channels", "escalation_levels", "sla_levels", "website"}),
        references=(
            Reference(VendorAccount.vendor_id, "vendor accounts"),
            Reference(Contact.vendor_id, "contacts"),
        ),
    )

    def _used_by(self, principal: Principal) -> Any:
        return exists().where(
            VendorAccount.vendor_id == Vendor.id, VendorAccount.client_id == principal.client_id
        )

    def scope(self, stmt: Select[Any], principal: Principal) -> Select[Any]:
        # The catalogue is MSP-wide; a client viewer sees only the vendors it has accounts with.
        return stmt.where(self._used_by(principal)) if principal.client_id is not None else stmt

    async def check_visible(self, session: AsyncSession, principal: Principal, obj: Vendor) -> None:
        if principal.client_id is not None:
            visible = (
                await session.execute(select(self._used_by(principal).where(Vendor.id == obj.id)))
            ).scalar()
            if not visible:
                raise NotFound("vendor not found")

    async def _name_free(self, session: AsyncSession, name: str) -> None:
        if (await session.execute(select(Vendor.id).where(Vendor.name == name))).first():
            raise Conflict(f"a vendor named '{name}' already exists")

    async def prepare_create(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any]
    ) -> dict[str, Any]:
        await self._name_free(session, values["name"])
        return values

    async def prepare_update(
        self, session: AsyncSession, principal: Principal, obj: Vendor, changes: dict[str, Any]
    ) -> dict[str, Any]:
        for key in ("name", "category", "support_channels", "escalation_levels", "sla_levels"):
            if key in changes and changes[key] is None:
                raise InvalidInput(key, "cannot be null")
        if "name" in changes and changes["name"] != obj.name:
            await self._name_free(session, changes["name"])
        return changes
