"""Clients: the list with search, and one screen per client."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from hub.account.service import VendorAccountService
from hub.asset.schemas import AssetFilters, WarrantyFilters
from hub.asset.service import AssetService, WarrantyService
from hub.card.service import who
from hub.case.schemas import CaseFilters
from hub.case.service import cases
from hub.check.service import client_health
from hub.client.schemas import ClientFilters
from hub.client.service import ClientService
from hub.domain.schemas import DomainFilters
from hub.domain.service import DomainService
from hub.errors import InvalidInput
from hub.line.schemas import LineFilters
from hub.line.service import LineService
from hub.renewal.schemas import RenewalFilters
from hub.renewal.service import renewals
from hub.report.service import spend_report, upcoming
from hub.web.console.access import staff
from hub.web.console.cases import STATUS_WORDS, account_vendors
from hub.web.pages import Ctx, Form, PageRoute, is_htmx, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE = 50


def _offset(value: str | None) -> int:
    try:
        return max(0, min(int(value or 0), 1_000_000))
    except ValueError:
        raise InvalidInput("offset", "must be a whole number") from None


@router.get("/console/clients")
async def clients_page(ctx: Ctx) -> Response:
    principal = staff(ctx)
    q = (ctx.request.query_params.get("q") or "").strip()[:100]
    offset = _offset(ctx.request.query_params.get("offset"))
    async with ctx.runtime.unit_of_work(write=False) as session:
        rows, total = await ClientService().list(
            session, principal, ClientFilters(q=q or None, limit=PAGE, offset=offset)
        )
    return render(ctx, "console/clients.html", clients=rows, total=total, q=q, offset=offset, page=PAGE)


def _latest_warranty(warranties: list[Any]) -> dict[uuid.UUID, Any]:
    latest: dict[uuid.UUID, Any] = {}
    for w in warranties:
        if w.asset_id not in latest or w.ends_on > latest[w.asset_id].ends_on:
            latest[w.asset_id] = w
    return latest


@router.get("/console/clients/{client_id}")
async def client_page(client_id: uuid.UUID, ctx: Ctx) -> Response:
    principal = staff(ctx)
    today: date = ctx.runtime.today()
    async with ctx.runtime.unit_of_work(write=False) as session:
        client = await ClientService().get(session, principal, client_id)
        health = await client_health(session, principal, client_id)
        ending, ending_total = await upcoming(
            session, principal, within_days=365, client_id=client_id, limit=PAGE, today=today
        )
        spend = await spend_report(session, principal, client_id, today=today)
        assets, assets_total = await AssetService().list(
            session, principal, AssetFilters(client_id=client_id, limit=200)
        )
        warranties, _ = await WarrantyService().list(
            session, principal, WarrantyFilters(client_id=client_id, limit=1000)
        )
        domains, _ = await DomainService().list(
            session, principal, DomainFilters(client_id=client_id, limit=200)
        )
        open_renewals, _ = await renewals.list(
            session, principal, RenewalFilters(client_id=client_id, limit=PAGE)
        )
        # Who to call: the card of every vendor the client has an account with (hub.card).
        cards = await who(session, principal, client_id, None, ctx.runtime.now())
        lines, _ = await LineService().list(session, principal, LineFilters(client_id=client_id, limit=200))
        client_cases, cases_total = await cases.list(
            session, principal, CaseFilters(client_id=client_id, limit=PAGE)
        )
        case_vendors = await account_vendors(session, {c.vendor_account_id for c in client_cases})
    return render(
        ctx,
        "console/client.html",
        client=client,
        health=health,
        ending=ending,
        ending_total=ending_total,
        spend=spend,
        assets=assets,
        assets_total=assets_total,
        warranty_of=_latest_warranty(warranties),
        domains=domains,
        renewals=[r for r in open_renewals if r.state.value not in ("confirmed", "declined")],
        today=today,
        cards=[m["card"] for m in cards["matches"]],
        lines=lines,
        cases=client_cases,
        cases_total=cases_total,
        case_vendors=case_vendors,
        status_words=STATUS_WORDS,
        now=ctx.runtime.now(),
    )


@router.post("/console/vendor-accounts/{account_id}/pin")
async def reveal_pin(account_id: uuid.UUID, ctx: Ctx, form: Form) -> Response:
    """The support PIN in clear, for the technician on the phone with the vendor: the
    API's audited reveal (`VendorAccountService.reveal_pin`); never cached."""
    principal = staff(ctx)
    async with ctx.runtime.unit_of_work() as session:
        pin = await VendorAccountService().reveal_pin(session, principal, account_id)
        account = await VendorAccountService().get(session, principal, account_id)
        client_id = account.client_id
    template = "console/pin.html" if is_htmx(ctx.request) else "console/pin_page.html"
    response = render(ctx, template, pin=pin, account_id=account_id, client_id=client_id)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
