"""A renewal's purchase order by e-mail, as case mail (hub.renewal.po_mail decides; issue 12).

The order's thread is a `VendorCase` on the client's account at the distributor with
`renewal_id` set (unique: one thread per renewal, so one purchase order per term). Its
first message is the purchase order (template `purchase_order`, in the distributor's
language), queued in the case outbox in the same transaction that creates the thread:
the outbox sends it exactly once, and a job run again finds the thread and sends nothing.
The distributor's reply is filed on the thread by the reply-matching ladder like any
case reply. The thread carries our cost, so client users never see it
(`hub.case.service.CaseService.scope`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import record
from hub.auth.principal import SYSTEM
from hub.case import outbox, service
from hub.case.settings import CaseSettings
from hub.case.timeline import ACTIVE
from hub.kit.money import format_amount
from hub.models import (
    Client,
    Renewal,
    RenewalRoute,
    Subscription,
    VendorAccount,
    VendorCase,
    VendorMailProfile,
)
from hub.models.enums import AuditAction, CaseChannel, CaseStatus, RenewalState

KIND = "purchase_order"


async def send(
    session: AsyncSession, renewal_id: uuid.UUID, now: datetime, settings: CaseSettings
) -> VendorCase | None:
    """The thread and its purchase order in the outbox, once; the existing thread when it
    was done before (a job run twice, a worker that died after committing)."""
    existing = (
        await session.execute(select(VendorCase).where(VendorCase.renewal_id == renewal_id))
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    renewal = await session.get(Renewal, renewal_id)
    if renewal is None or renewal.state is not RenewalState.submitting or not renewal.vendor_order_ref:
        return None  # declined or settled meanwhile: nothing may be ordered
    route = (
        await session.execute(
            select(RenewalRoute).where(RenewalRoute.subscription_id == renewal.subscription_id)
        )
    ).scalar_one_or_none()
    sub = await session.get(Subscription, renewal.subscription_id)
    if route is None or route.po_account_id is None or not route.po_email or sub is None:
        return None  # the executor checked the route when it claimed the send
    account = await session.get(VendorAccount, route.po_account_id)
    client = await session.get(Client, renewal.client_id)
    assert account is not None and client is not None
    profile = await session.get(VendorMailProfile, account.vendor_id)
    unit = renewal.quoted_price
    currency = renewal.currency or sub.currency
    title = f"Purchase order {renewal.vendor_order_ref}: {sub.product}"
    case = VendorCase(
        client_id=renewal.client_id,
        vendor_account_id=account.id,
        subscription_id=sub.id,
        renewal_id=renewal.id,
        title=title[:300],
        description=f"Renewal of {sub.product} (term ending {renewal.term_ends_on})",
        status=CaseStatus.draft,
        channel=CaseChannel.email,
        opened_by="renewal",
        token=await service.new_token(session),
        language=profile.language if profile else "en",
        to_addresses=[route.po_email],
        # No vendor SLA clock and so no chasers: the renewal's deadline ladder chases.
        sla_first_response=None,
        sla_resolution=None,
    )
    session.add(case)
    await session.flush()
    context = {
        "po_number": renewal.vendor_order_ref,
        "product": sub.product,
        "article": route.order_ref,
        "quantity": renewal.quantity,
        "term_starts_on": (renewal.term_ends_on + timedelta(days=1)).isoformat(),
        "current_term_ends_on": renewal.term_ends_on.isoformat(),
        "unit_price": format_amount(unit) if unit is not None else None,
        "total": format_amount(unit * renewal.quantity) if unit is not None else None,
        "currency": currency,
        "end_customer": client.name,
    }
    mail = await outbox.queue_message(
        session,
        case,
        KIND,
        now,
        settings,
        context=context,
        event_body=f"Purchase order {renewal.vendor_order_ref} to {route.po_email}",
        event_meta={"renewal_id": str(renewal.id), "po_number": renewal.vendor_order_ref},
    )
    await service.move(session, SYSTEM, case, CaseStatus.open, now, "purchase order queued")
    await service.move(session, SYSTEM, case, CaseStatus.waiting_vendor, now, "")
    record(
        session,
        SYSTEM,
        AuditAction.vendor_action,
        subject_type="renewal",
        subject_id=renewal.id,
        client_id=renewal.client_id,
        meta={
            "action": "renewal.po_sent",
            "po_number": renewal.vendor_order_ref,
            "case_id": str(case.id),
            "message_id": mail.message_id,
            "to": route.po_email,
        },
    )
    return case


async def settle(session: AsyncSession, renewal_id: uuid.UUID, now: datetime) -> None:
    """The renewal was confirmed: its order's thread is resolved."""
    case = (
        await session.execute(select(VendorCase).where(VendorCase.renewal_id == renewal_id))
    ).scalar_one_or_none()
    if case is not None and case.status in ACTIVE:
        await service.move(session, SYSTEM, case, CaseStatus.resolved, now, "the renewal was confirmed")
