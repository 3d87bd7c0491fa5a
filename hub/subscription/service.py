"""Subscriptions: the current term lives on the row, every term in SubscriptionTerm."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.crud import CrudService, Reference, Resource, contains_text, ends_within, equals
from hub.audit.service import record, snapshot
from hub.auth.principal import Principal
from hub.client.service import require_client
from hub.errors import Conflict, InvalidInput
from hub.kit.time import utcnow
from hub.models import Asset, Renewal, Subscription, SubscriptionTerm, Vendor, VendorAccount, VendorCase
from hub.models.enums import AuditAction, SubscriptionStatus, TermRenewedBy
from hub.subscription.schemas import TermCreate

# Fields of the current term that a correction (PATCH) also corrects in its term row.
_TERM_FIELDS = ("starts_on", "ends_on", "quantity", "unit_cost", "currency")
# Written by sync into a print allowance (the term's first counter reading): not an input.
SYNCED_READING = "term_start_reading"


async def _check_printer(session: AsyncSession, allowance: dict[str, Any], client_id: uuid.UUID) -> None:
    asset = await session.get(Asset, uuid.UUID(str(allowance["asset_id"])))
    if asset is None or asset.client_id != client_id:
        # Another client's asset answers like a missing one.
        raise InvalidInput(
            "print_allowance.asset_id", f"no asset of this client with id {allowance['asset_id']}"
        )


def _by_vendor(stmt: Select[Any], vendor_id: uuid.UUID) -> Select[Any]:
    accounts = select(VendorAccount.id).where(VendorAccount.vendor_id == vendor_id)
    return stmt.where(Subscription.vendor_account_id.in_(accounts))


class SubscriptionService(CrudService[Subscription]):
    resource = Resource(
        model=Subscription,
        label="subscription",
        subject_type="subscription",
        client_column=Subscription.client_id,
        sort_fields={
            "ends_on": Subscription.ends_on,
            "product": Subscription.product,
            "unit_cost": Subscription.unit_cost,
            "category": Subscription.category,
            "starts_on": Subscription.starts_on,
            "created_at": Subscription.created_at,
        },
        default_sort="ends_on",
        filters={
            "client_id": equals(Subscription.client_id),
            "vendor_id": _by_vendor,
            "vendor_account_id": equals(Subscription.vendor_account_id),
            "category": equals(Subscription.category),
            "payer": equals(Subscription.payer),
            "renewal_type": equals(Subscription.renewal_type),
            "status": equals(Subscription.status),
            "currency": equals(Subscription.currency),
            "ends_within_days": ends_within(Subscription.ends_on),
            "q": contains_text(Subscription.product, Subscription.sku),
        },
        references=(
            Reference(Renewal.subscription_id, "renewals"),
            Reference(VendorCase.subscription_id, "vendor cases"),
        ),
        json_fields=frozenset({"renewal_policy", "print_allowance"}),
    )

    async def prepare_create(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any]
    ) -> dict[str, Any]:
        account = await session.get(VendorAccount, values["vendor_account_id"])
        if account is None or (principal.client_id and account.client_id != principal.client_id):
            raise InvalidInput(
                "vendor_account_id", f"no vendor account with id {values['vendor_account_id']}"
            )
        client = await require_client(session, principal, account.client_id, field="vendor_account_id")
        values["client_id"] = account.client_id
        if values.get("category") is None:
            vendor = await session.get(Vendor, account.vendor_id)
            assert vendor is not None  # enforced by the foreign key
            values["category"] = vendor.category
        values["currency"] = values.get("currency") or client.default_currency
        if values.get("print_allowance") is not None:
            await _check_printer(session, values["print_allowance"], account.client_id)
        return values

    async def after_create(self, session: AsyncSession, principal: Principal, obj: Subscription) -> None:
        session.add(
            SubscriptionTerm(
                subscription_id=obj.id,
                starts_on=obj.starts_on,
                ends_on=obj.ends_on,
                quantity=obj.quantity,
                unit_cost=obj.unit_cost,
                currency=obj.currency,
                renewed_by=TermRenewedBy.initial,
            )
        )

    async def prepare_update(
        self, session: AsyncSession, principal: Principal, obj: Subscription, changes: dict[str, Any]
    ) -> dict[str, Any]:
        for key in (
            "category",
            "kind",
            "product",
            "quantity",
            "unit_cost",
            "currency",
            "billing_period",
            "payer",
            "starts_on",
            "renewal_type",
            "notice_days",
            "renewal_policy",
            "status",
        ):
            if key in changes and changes[key] is None:
                raise InvalidInput(key, "cannot be null")
        starts = changes.get("starts_on", obj.starts_on)
        ends = changes.get("ends_on", obj.ends_on)
        if ends is not None and ends < starts:
            raise InvalidInput("ends_on", "must not be before starts_on")
        allowance = changes.get("print_allowance")
        if allowance is not None:
            await _check_printer(session, allowance, obj.client_id)
            old = obj.print_allowance or {}
            if old.get(SYNCED_READING) and old.get("asset_id") == allowance["asset_id"]:
                # Same printer: the reading sync took at the term's start still holds.
                changes["print_allowance"] = {**allowance, SYNCED_READING: old[SYNCED_READING]}
        if "status" in changes and changes["status"] != obj.status:
            changes["cancelled_at"] = utcnow() if changes["status"] is SubscriptionStatus.cancelled else None
        term_changes = {k: changes[k] for k in _TERM_FIELDS if k in changes}
        if term_changes:
            term = await self.current_term(session, obj.id)
            if term is not None:
                for key, value in term_changes.items():
                    setattr(term, key, value)
        return changes

    async def current_term(
        self, session: AsyncSession, subscription_id: uuid.UUID
    ) -> SubscriptionTerm | None:
        stmt = (
            select(SubscriptionTerm)
            .where(SubscriptionTerm.subscription_id == subscription_id)
            .order_by(SubscriptionTerm.starts_on.desc())
            .limit(1)
        )
        return (await session.execute(stmt)).scalar_one_or_none()

    async def terms(
        self, session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
    ) -> list[SubscriptionTerm]:
        await self.get(session, principal, subscription_id)
        stmt = (
            select(SubscriptionTerm)
            .where(SubscriptionTerm.subscription_id == subscription_id)
            .order_by(SubscriptionTerm.starts_on)
        )
        return list((await session.execute(stmt)).scalars())

    async def add_term(
        self, session: AsyncSession, principal: Principal, subscription_id: uuid.UUID, data: TermCreate
    ) -> SubscriptionTerm:
        """Record a renewal by hand: append a term and move the subscription onto it."""
        principal.require_staff()
        sub = await self.get(session, principal, subscription_id)
        if sub.version != data.version:
            raise Conflict(
                f"subscription is at version {sub.version}, you sent {data.version}",
                current_version=sub.version,
            )
        if sub.ends_on is None:
            raise InvalidInput("ends_on", "a rolling subscription (no end date) has no terms to renew")
        starts = data.starts_on or sub.ends_on + timedelta(days=1)
        if starts <= sub.ends_on:
            raise InvalidInput(
                "starts_on", f"the new term must start after the current one ends ({sub.ends_on})"
            )
        if data.ends_on < starts:
            raise InvalidInput("ends_on", "must not be before starts_on")
        before = snapshot(sub)
        term = SubscriptionTerm(
            subscription_id=sub.id,
            starts_on=starts,
            ends_on=data.ends_on,
            quantity=data.quantity if data.quantity is not None else sub.quantity,
            unit_cost=data.unit_cost if data.unit_cost is not None else sub.unit_cost,
            currency=sub.currency,
            renewed_by=TermRenewedBy.manual,
            note=data.note,
        )
        session.add(term)
        sub.starts_on, sub.ends_on = term.starts_on, term.ends_on
        sub.quantity, sub.unit_cost = term.quantity, term.unit_cost
        await self._flush(session)
        record(
            session,
            principal,
            AuditAction.update,
            subject_type="subscription",
            subject_id=sub.id,
            client_id=sub.client_id,
            before={k: before[k] for k in _TERM_FIELDS},
            after={k: snapshot(sub)[k] for k in _TERM_FIELDS},
            meta={"renewal": "manual term added"},
        )
        return term
