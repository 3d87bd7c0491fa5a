from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.crud import CrudService, Reference, Resource, contains_text, ends_within, equals
from hub.auth.principal import Principal
from hub.client.service import fill_renewal_currency, require_client
from hub.errors import InvalidInput
from hub.models import Asset, VendorAccount, VendorCase, Warranty


async def require_account_of_client(
    session: AsyncSession, account_id: uuid.UUID | None, client_id: uuid.UUID, field: str
) -> None:
    """A vendor account linked to a client's row must be that client's own account."""
    if account_id is None:
        return
    account = await session.get(VendorAccount, account_id)
    if account is None or account.client_id != client_id:
        raise InvalidInput(field, "no vendor account with that id for this client")


def _null_guard(changes: dict[str, Any], *required: str) -> None:
    for key in required:
        if key in changes and changes[key] is None:
            raise InvalidInput(key, "cannot be null")


class AssetService(CrudService[Asset]):
    resource = Resource(
        model=Asset,
        label="asset",
        subject_type="asset",
        client_column=Asset.client_id,
        sort_fields={
            "name": Asset.name,
            "kind": Asset.kind,
            "manufacturer": Asset.manufacturer,
            "serial": Asset.serial,
            "created_at": Asset.created_at,
        },
        default_sort="name",
        filters={
            "client_id": equals(Asset.client_id),
            "kind": equals(Asset.kind),
            "manufacturer": equals(Asset.manufacturer),
            "q": contains_text(Asset.name, Asset.serial, Asset.model),
        },
        references=(Reference(VendorCase.asset_id, "vendor cases"),),
    )

    async def prepare_create(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any]
    ) -> dict[str, Any]:
        await require_client(session, principal, values["client_id"])
        await require_account_of_client(
            session, values.get("vendor_account_id"), values["client_id"], "vendor_account_id"
        )
        return values

    async def prepare_update(
        self, session: AsyncSession, principal: Principal, obj: Asset, changes: dict[str, Any]
    ) -> dict[str, Any]:
        _null_guard(changes, "kind", "name", "manufacturer")
        await require_account_of_client(
            session, changes.get("vendor_account_id"), obj.client_id, "vendor_account_id"
        )
        return changes


class WarrantyService(CrudService[Warranty]):
    resource = Resource(
        model=Warranty,
        label="warranty",
        subject_type="warranty",
        client_column=Warranty.client_id,
        sort_fields={"ends_on": Warranty.ends_on, "starts_on": Warranty.starts_on, "level": Warranty.level},
        default_sort="ends_on",
        filters={
            "asset_id": equals(Warranty.asset_id),
            "client_id": equals(Warranty.client_id),
            "ends_within_days": ends_within(Warranty.ends_on),
        },
    )

    async def prepare_create(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any]
    ) -> dict[str, Any]:
        asset = await session.get(Asset, values["asset_id"])
        if asset is None or (principal.client_id and asset.client_id != principal.client_id):
            raise InvalidInput("asset_id", f"no asset with id {values['asset_id']}")
        await require_client(session, principal, asset.client_id, field="asset_id")
        values["client_id"] = asset.client_id
        await fill_renewal_currency(session, asset.client_id, values)
        return values

    async def prepare_update(
        self, session: AsyncSession, principal: Principal, obj: Warranty, changes: dict[str, Any]
    ) -> dict[str, Any]:
        _null_guard(changes, "level", "starts_on", "ends_on")
        if changes.get("ends_on", obj.ends_on) < changes.get("starts_on", obj.starts_on):
            raise InvalidInput("ends_on", "must not be before starts_on")
        await fill_renewal_currency(session, obj.client_id, changes, obj.renewal_currency)
        return changes
