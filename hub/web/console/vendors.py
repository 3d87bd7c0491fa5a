"""A vendor: how to reach its support, and which clients have accounts with it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.responses import Response

from hub.account.schemas import VendorAccountFilters
from hub.account.service import VendorAccountService
from hub.subscription.schemas import SubscriptionFilters
from hub.subscription.service import SubscriptionService
from hub.vendor.service import VendorService
from hub.web.console.access import client_names, staff
from hub.web.pages import Ctx, PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


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
        names = await client_names(session, [a.client_id for a in accounts])
    return render(
        ctx,
        "console/vendor.html",
        vendor=vendor,
        accounts=accounts,
        accounts_total=accounts_total,
        subscriptions=subscriptions,
        subscriptions_total=subscriptions_total,
        names=names,
    )
