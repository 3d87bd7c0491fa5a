"""Opening a vendor case from the console: blank, or from what is failing (a check, an
asset, a subscription, an ISP line). The "Open a case" buttons lead here with the source
in the query; the form comes filled in (the client, the vendor account most likely to fix
it, the title) and shows the evidence that will be attached. Posting it is the API's
`POST /cases` (`hub.case.service.create_case`), evidence and all."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from hub.account.schemas import VendorAccountFilters
from hub.account.service import VendorAccountService
from hub.asset.service import AssetService
from hub.auth.principal import Principal
from hub.card.engine import CHECK_ROLES, Role
from hub.case import evidence as ev
from hub.case import service
from hub.case.schemas import CaseCreate
from hub.check.service import CheckService
from hub.client.schemas import ClientFilters
from hub.client.service import ClientService
from hub.errors import InvalidInput
from hub.line.service import LineService
from hub.models import Asset, Check, Domain
from hub.models.enums import CaseChannel, CaseSeverity, CheckTarget
from hub.subscription.service import SubscriptionService
from hub.web.console.access import staff, vendor_names
from hub.web.console.cases import parse
from hub.web.pages import Ctx, Form, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SOURCES = ("check_id", "asset_id", "subscription_id", "line_id")
_ROLE_ACCOUNT = {
    Role.registrar: "registrar_account_id",
    Role.dns_host: "dns_host_account_id",
    Role.mail_host: "mail_host_account_id",
}


def _uuid(name: str, value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput(name, "is not a valid id", location="query") from None


async def _check_account(session: AsyncSession, check: Check) -> uuid.UUID | None:
    """The account of the vendor role a failing check of this kind points at first (the
    card's `CHECK_ROLES`): a domain's mail host for SPF, its registrar for expiry; an
    asset's support contract."""
    try:
        ref = uuid.UUID(check.target_ref)
    except ValueError:
        return None
    if check.target_type is CheckTarget.domain:
        domain = await session.get(Domain, ref)
        if domain is None:
            return None
        roles = CHECK_ROLES.get(check.kind, ()) + tuple(_ROLE_ACCOUNT)
        for role in roles:
            account_id: uuid.UUID | None = getattr(domain, _ROLE_ACCOUNT[role])
            if account_id is not None:
                return account_id
        return None
    if check.target_type is CheckTarget.asset:
        asset = await session.get(Asset, ref)
        return asset.vendor_account_id if asset is not None else None
    return None


async def _source(
    session: AsyncSession, principal: Principal, name: str, source_id: uuid.UUID
) -> tuple[uuid.UUID, uuid.UUID | None, str]:
    """(client, suggested vendor account, what it is) of the thing the case is opened
    from, read through its service (another client's is a 404 for a client's principal)."""
    if name == "check_id":
        check = await CheckService().get(session, principal, source_id)
        return check.client_id, await _check_account(session, check), check.kind
    if name == "asset_id":
        asset = await AssetService().get(session, principal, source_id)
        return asset.client_id, asset.vendor_account_id, asset.name
    if name == "subscription_id":
        sub = await SubscriptionService().get(session, principal, source_id)
        return sub.client_id, sub.vendor_account_id, sub.product
    line = await LineService().get(session, principal, source_id)
    return line.client_id, line.vendor_account_id, line.name


async def _evidence(
    session: AsyncSession, client_id: uuid.UUID, name: str, source_id: uuid.UUID
) -> tuple[ev.Evidence | None, str | None]:
    """What `create_case` will attach, or why it would refuse this source."""
    try:
        if name == "check_id":
            return await ev.from_check_run(session, client_id, None, source_id), None
        if name == "asset_id":
            return await ev.from_asset(session, client_id, source_id), None
        if name == "subscription_id":
            return await ev.from_subscription(session, client_id, source_id), None
        return await ev.from_line(session, client_id, source_id), None
    except InvalidInput as exc:
        return None, exc.detail


@router.get("/console/cases/new")
async def new_case_page(ctx: Ctx) -> Response:
    principal = staff(ctx)
    params = ctx.request.query_params
    client_id = _uuid("client_id", params.get("client_id"))
    given = [(n, _uuid(n, params.get(n))) for n in SOURCES if params.get(n)]
    if len(given) > 1:
        raise InvalidInput(given[1][0], "open a case from one thing at a time", location="query")
    source = given[0] if given else None
    suggested: uuid.UUID | None = _uuid("vendor_account_id", params.get("vendor_account_id"))
    found: ev.Evidence | None = None
    problem: str | None = None
    what = ""
    async with ctx.runtime.unit_of_work(write=False) as session:
        if source is not None and source[1] is not None:
            client_id, account_id, what = await _source(session, principal, source[0], source[1])
            suggested = suggested or account_id
            found, problem = await _evidence(session, client_id, source[0], source[1])
        clients, _ = await ClientService().list(session, principal, ClientFilters(limit=1000, sort="name"))
        accounts: list[Any] = []
        if client_id is not None:
            client = await ClientService().get(session, principal, client_id)
            accounts, _ = await VendorAccountService().list(
                session, principal, VendorAccountFilters(client_id=client.id, limit=500)
            )
        vendors = await vendor_names(session, [a.vendor_id for a in accounts])
    return render(
        ctx,
        "console/case_new.html",
        clients=clients,
        client_id=client_id,
        accounts=sorted(accounts, key=lambda a: (vendors.get(a.vendor_id, ""), a.account_number)),
        vendors=vendors,
        suggested=suggested,
        source=source,
        what=what,
        evidence=found,
        problem=problem,
        severities=list(CaseSeverity),
        channels=[CaseChannel.email, CaseChannel.phone, CaseChannel.portal],
    )


@router.post("/console/cases/new")
async def create_case(ctx: Ctx, form: Form) -> Response:
    principal = staff(ctx)
    values: dict[str, Any] = {
        "vendor_account_id": form.get("vendor_account_id", ""),
        "title": form.get("title") or None,
        "description": form.get("description", ""),
        "severity": form.get("severity") or CaseSeverity.normal.value,
        "channel": form.get("channel") or CaseChannel.email.value,
        "sla_first_response": form.get("sla_first_response") or None,
        "submit": form.get("submit") in ("1", "on", "true"),
    }
    for name in SOURCES:
        if form.get(name):
            values[name] = form[name]
    data = parse(CaseCreate, values)
    async with ctx.runtime.unit_of_work() as session:
        case = await service.create_case(session, principal, data)
        case_id = case.id
    return redirect(ctx, f"/console/cases/{case_id}?notice=case_opened")
