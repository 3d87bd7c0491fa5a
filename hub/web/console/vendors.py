"""A vendor: how to reach its support, which clients have accounts with it, and the cases
open with it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.responses import Response

from hub.account.schemas import VendorAccountFilters
from hub.account.service import VendorAccountService
from hub.case.schemas import CaseFilters
from hub.case.service import cases
from hub.models.enums import CaseStatus
from hub.subscription.schemas import SubscriptionFilters
from hub.subscription.service import SubscriptionService
from hub.vendor.service import VendorService
from hub.web.console.access import client_names, staff
from hub.web.console.cases import STATUS_WORDS, account_vendors
from hub.web.pages import Ctx, PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
OPEN_CASES = (CaseStatus.draft, CaseStatus.open, CaseStatus.waiting_vendor, CaseStatus.waiting_client)


@router.get("/console/vendors/{vendor_id}")
async def vendor_page(vendor_id: uuid.UUID, ctx: Ctx) -> Response:
    principal = staff(ctx)
    async with ctx.runtime.unit_of_work(write=False) as session:
        vendor = await VendorService().get(session, principal, vendor_id)
        accounts, accounts_total = await VendorAccountService().list(
            session, principal, VendorAccountFilters(vendor_id=vendor_id, limit=200)
        )
        subscriptions, subscriptions_total = await SubscriptionService().list(
            session, principal, SubscriptionFilters(vendor_id=vendor_id, limit=200)
        )
        open_cases = []
        for status in OPEN_CASES:
            found, _ = await cases.list(
                session, principal, CaseFilters(vendor_id=vendor_id, status=status, limit=100)
            )
            open_cases.extend(found)
        open_cases.sort(key=lambda c: c.created_at, reverse=True)
        case_vendors = await account_vendors(session, {c.vendor_account_id for c in open_cases})
        names = await client_names(
            session, [a.client_id for a in accounts] + [c.client_id for c in open_cases]
        )
    return render(
        ctx,
        "console/vendor.html",
        vendor=vendor,
        accounts=accounts,
        accounts_total=accounts_total,
        subscriptions=subscriptions,
        subscriptions_total=subscriptions_total,
        names=names,
        cases=open_cases,
        case_vendors=case_vendors,
        status_words=STATUS_WORDS,
        now=ctx.runtime.now(),
    )
