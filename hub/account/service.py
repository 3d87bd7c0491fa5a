from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.crud import CrudService, Reference, Resource, contains_text, equals
from hub.audit.service import record
from hub.auth.principal import Principal
from hub.client.service import require_client
from hub.db import secret_box
from hub.errors import Conflict, InvalidInput, NotFound
from hub.kit.crypto import Purpose
from hub.kit.time import utcnow
from hub.models import Asset, Contact, Domain, IspLine, Subscription, Vendor, VendorAccount, VendorCase
from hub.models.enums import AuditAction


def _vendor_category(stmt: Select[Any], category: Any) -> Select[Any]:
    return stmt.where(VendorAccount.vendor_id.in_(select(Vendor.id).where(Vendor.category == category)))


class VendorAccountService(CrudService[VendorAccount]):
    resource = Resource(
        model=VendorAccount,
        label="vendor account",
        subject_type="vendor_account",
        client_column=VendorAccount.client_id,
        sort_fields={"account_number": VendorAccount.account_number, "created_at": VendorAccount.created_at},
        default_sort="account_number",
        filters={
            "client_id": equals(VendorAccount.client_id),
            "vendor_id": equals(VendorAccount.vendor_id),
            "category": _vendor_category,
            "q": contains_text(VendorAccount.account_number, VendorAccount.contract_number),
        },
        json_fields=frozenset({"authorised_contact_ids"}),
        references=(
            Reference(Subscription.vendor_account_id, "subscriptions"),
            Reference(Asset.vendor_account_id, "assets"),
            Reference(Domain.registrar_account_id, "domains (as registrar)"),
            Reference(Domain.dns_host_account_id, "domains (as DNS host)"),
            Reference(Domain.mail_host_account_id, "domains (as mail host)"),
            Reference(VendorCase.vendor_account_id, "vendor cases"),
            Reference(IspLine.vendor_account_id, "ISP lines"),
        ),
    )

    def _apply_pin(self, session: AsyncSession, values: dict[str, Any]) -> dict[str, Any]:
        if "support_pin" not in values:
            return values
        pin = values.pop("support_pin")
        plain = pin.get_secret_value() if pin is not None else ""
        values["support_pin_encrypted"] = (
            secret_box(session, Purpose.support_pin).encrypt(plain) if plain else None
        )
        values["support_pin_changed_at"] = utcnow()
        return values

    async def _check_authorisers(
        self, session: AsyncSession, client_id: uuid.UUID, values: dict[str, Any]
    ) -> None:
        """Who may authorise changes must be people of the account's own client."""
        wanted = values.get("authorised_contact_ids")
        if wanted is None:
            if "authorised_contact_ids" in values:
                raise InvalidInput("authorised_contact_ids", "cannot be null; send [] to clear it")
            return
        ids = [uuid.UUID(str(i)) for i in wanted]
        found = set(
            (
                await session.execute(
                    select(Contact.id).where(Contact.id.in_(ids), Contact.client_id == client_id)
                )
            ).scalars()
        )
        for n, contact_id in enumerate(ids):
            if contact_id not in found:
                raise InvalidInput(
                    f"authorised_contact_ids.{n}", f"no contact {contact_id} of this account's client"
                )
        values["authorised_contact_ids"] = list(dict.fromkeys(str(i) for i in ids))

    async def _unique_number(
        self,
        session: AsyncSession,
        client_id: uuid.UUID,
        vendor_id: uuid.UUID,
        number: str,
        *,
        skip: uuid.UUID | None = None,
    ) -> None:
        stmt = select(VendorAccount.id).where(
            VendorAccount.client_id == client_id,
            VendorAccount.vendor_id == vendor_id,
            VendorAccount.account_number == number,
        )
        found = (await session.execute(stmt)).scalar_one_or_none()
        if found is not None and found != skip:
            raise Conflict(f"this client already has account '{number}' with this vendor")

    async def prepare_create(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any]
    ) -> dict[str, Any]:
        await require_client(session, principal, values["client_id"])
        if await session.get(Vendor, values["vendor_id"]) is None:
            raise InvalidInput("vendor_id", f"no vendor with id {values['vendor_id']}")
        await self._unique_number(session, values["client_id"], values["vendor_id"], values["account_number"])
        await self._check_authorisers(session, values["client_id"], values)
        return self._apply_pin(session, values)

    async def prepare_update(
        self, session: AsyncSession, principal: Principal, obj: VendorAccount, changes: dict[str, Any]
    ) -> dict[str, Any]:
        if "account_number" in changes:
            if changes["account_number"] is None:
                raise InvalidInput("account_number", "cannot be null")
            await self._unique_number(
                session, obj.client_id, obj.vendor_id, changes["account_number"], skip=obj.id
            )
        await self._check_authorisers(session, obj.client_id, changes)
        return self._apply_pin(session, changes)

    async def reveal_pin(self, session: AsyncSession, principal: Principal, obj_id: uuid.UUID) -> str:
        """The PIN in clear, for a technician on the phone with the vendor; audited."""
        principal.require_staff()
        account = await self.get(session, principal, obj_id)
        if account.support_pin_encrypted is None:
            raise NotFound("this account has no support PIN stored")
        pin = secret_box(session, Purpose.support_pin).decrypt(account.support_pin_encrypted)
        record(
            session,
            principal,
            AuditAction.reveal_secret,
            subject_type="vendor_account",
            subject_id=account.id,
            client_id=account.client_id,
            meta={"field": "support_pin"},
        )
        return pin
