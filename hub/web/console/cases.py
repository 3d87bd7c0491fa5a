"""Vendor cases in the console: the list (client, vendor, state, breaching, search), one
case (vendor, their case number, the vendor's clock, the whole timeline with internal
notes marked, files, outbound mail) and its actions. Every action is the API's service
call (`hub.case.service`: reply, add_event, transition, set_chasers;
`hub.case.chasers.escalate`; `hub.case.outbox.resend`) under the signed-in person's
principal; a form answers with a redirect back to the case and a notice."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from fastapi import APIRouter
from pydantic import BaseModel, ValidationError
from starlette.responses import Response

from hub.case import chasers, outbox, service
from hub.case.endpoints import content_disposition, download_type
from hub.case.schemas import CaseEscalation, CaseEventCreate, CaseFilters, CaseReply, CaseTransition
from hub.client.schemas import ClientFilters
from hub.client.service import ClientService
from hub.errors import InvalidInput
from hub.mail.parse import MessageParser
from hub.models import Vendor, VendorAccount
from hub.models.enums import CaseEventKind, CaseStatus, MailDirection
from hub.vendor.schemas import VendorFilters
from hub.vendor.service import VendorService
from hub.web.console.access import client_names, staff
from hub.web.labels import N_
from hub.web.pages import Ctx, Form, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE = 50
M = TypeVar("M", bound=BaseModel)
# The words of a case's states and timeline events for the technician (the keys are the
# stored values; the portal has its own, in the client's words).
STATUS_WORDS = {
    "draft": N_("draft"),
    "open": N_("open"),
    "waiting_vendor": N_("waiting for the vendor"),
    "waiting_client": N_("waiting for the client"),
    "resolved": N_("resolved"),
    "closed": N_("closed"),
}
EVENT_WORDS = {
    "note": N_("Note"),
    "email_out": N_("Mail to the vendor"),
    "email_in": N_("Mail from the vendor"),
    "status_change": N_("Status"),
    "escalation": N_("Escalated"),
    "time_spent": N_("Time logged"),
    "call_logged": N_("Call logged"),
    "chaser": N_("Chaser"),
    "verification": N_("Verification"),
}


def parse(model: type[M], values: dict[str, Any]) -> M:
    """A form's values as the API's input model; a bad value is the 422 page naming the
    field, as the API's answer would."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "form"
        raise InvalidInput(field, str(first.get("msg", "is not valid"))) from None


def _addresses(value: str) -> list[str]:
    return [a.strip() for a in value.replace(";", ",").split(",") if a.strip()]


def _checked(form: dict[str, str], name: str) -> bool:
    return form.get(name) in ("1", "on", "true")


async def account_vendors(session: Any, account_ids: set[uuid.UUID]) -> dict[uuid.UUID, Vendor]:
    """The vendor of each vendor account a case list points at."""
    from sqlalchemy import select

    if not account_ids:
        return {}
    rows = await session.execute(
        select(VendorAccount.id, Vendor)
        .join(Vendor, Vendor.id == VendorAccount.vendor_id)
        .where(VendorAccount.id.in_(account_ids))
    )
    return {account_id: vendor for account_id, vendor in rows}


@router.get("/console/cases")
async def cases_page(ctx: Ctx) -> Response:
    principal = staff(ctx)
    query = {k: v for k, v in ctx.request.query_params.items() if v != ""}
    breaching = query.pop("breaching", None)
    filters = parse(
        CaseFilters,
        {
            **{k: v for k, v in query.items() if k in ("client_id", "vendor_id", "status", "q", "offset")},
            "breaching": True if breaching in ("1", "on", "true") else None,
            "limit": PAGE,
        },
    )
    async with ctx.runtime.unit_of_work(write=False) as session:
        rows, total = await service.cases.list(session, principal, filters)
        names = await client_names(session, [c.client_id for c in rows])
        vendors = await account_vendors(session, {c.vendor_account_id for c in rows})
        clients, _ = await ClientService().list(session, principal, ClientFilters(limit=1000, sort="name"))
        all_vendors, _ = await VendorService().list(
            session, principal, VendorFilters(limit=1000, sort="name")
        )
    return render(
        ctx,
        "console/cases.html",
        cases=rows,
        total=total,
        names=names,
        vendors=vendors,
        clients=clients,
        all_vendors=all_vendors,
        filters=filters,
        statuses=list(CaseStatus),
        status_words=STATUS_WORDS,
        now=ctx.runtime.now(),
        page=PAGE,
        query={k: v for k, v in ctx.request.query_params.items() if k != "offset" and v},
    )


@router.get("/console/cases/{case_id}")
async def case_page(case_id: uuid.UUID, ctx: Ctx) -> Response:
    principal = staff(ctx)
    async with ctx.runtime.unit_of_work(write=False) as session:
        found = await service.detail(session, principal, case_id)
        account = await session.get(VendorAccount, found["vendor_account_id"])
        vendor = await session.get(Vendor, account.vendor_id) if account else None
        names = await client_names(session, [found["client_id"]])
    status = found["status"]
    # What we wrote, for the timeline: an outbound event names only the subject.
    written = {
        m.id: MessageParser().parse(m.raw).text.strip()
        for m in found["mails"]
        if m.direction is MailDirection.outbound
    }
    return render(
        ctx,
        "console/case.html",
        case=found,
        account=account,
        vendor=vendor,
        names=names,
        escalation=chasers.escalation_contacts(vendor) if vendor is not None else [],
        moves=sorted(service.ALLOWED[status], key=list(CaseStatus).index),
        status_words=STATUS_WORDS,
        event_words=EVENT_WORDS,
        now=ctx.runtime.now(),
        kinds=CaseEventKind,
        written=written,
    )


def _back(case_id: uuid.UUID, notice: str) -> str:
    return f"/console/cases/{case_id}?notice={notice}"


@router.post("/console/cases/{case_id}/reply")
async def reply(case_id: uuid.UUID, ctx: Ctx, form: Form) -> Response:
    principal = staff(ctx)
    data = parse(CaseReply, {"body": form.get("body", ""), "cc": _addresses(form.get("cc", ""))})
    async with ctx.runtime.unit_of_work() as session:
        await service.reply(session, principal, case_id, data)
    return redirect(ctx, _back(case_id, "case_reply_queued"))


@router.post("/console/cases/{case_id}/events")
async def add_event(case_id: uuid.UUID, ctx: Ctx, form: Form) -> Response:
    principal = staff(ctx)
    data = parse(
        CaseEventCreate,
        {
            "kind": form.get("kind", "note"),
            "body": form.get("body", ""),
            "minutes": form.get("minutes") or None,
            "client_visible": _checked(form, "client_visible"),
        },
    )
    async with ctx.runtime.unit_of_work() as session:
        await service.add_event(session, principal, case_id, data)
    return redirect(ctx, _back(case_id, f"case_{data.kind}"))


@router.post("/console/cases/{case_id}/status")
async def change_status(case_id: uuid.UUID, ctx: Ctx, form: Form) -> Response:
    principal = staff(ctx)
    data = parse(
        CaseTransition,
        {
            "status": form.get("status", ""),
            "note": form.get("note", ""),
            "skip_verification": _checked(form, "skip_verification"),
        },
    )
    async with ctx.runtime.unit_of_work() as session:
        await service.transition(session, principal, case_id, data)
    return redirect(ctx, _back(case_id, "case_moved"))


@router.post("/console/cases/{case_id}/escalate")
async def escalate(case_id: uuid.UUID, ctx: Ctx, form: Form) -> Response:
    principal = staff(ctx)
    data = parse(CaseEscalation, {"contact": form.get("contact", ""), "body": form.get("body", "")})
    async with ctx.runtime.unit_of_work() as session:
        await chasers.escalate(session, principal, case_id, data)
    return redirect(ctx, _back(case_id, "case_escalated"))


@router.post("/console/cases/{case_id}/chasers")
async def set_chasers(case_id: uuid.UUID, ctx: Ctx, form: Form) -> Response:
    principal = staff(ctx)
    paused = _checked(form, "paused")
    async with ctx.runtime.unit_of_work() as session:
        await service.set_chasers(session, principal, case_id, paused)
    return redirect(ctx, _back(case_id, "case_chasers_paused" if paused else "case_chasers_resumed"))


def _mail_id(value: str) -> int:
    try:
        found = int(value)
    except ValueError:
        raise InvalidInput("mail_id", "must be the message's number as shown") from None
    if not 1 <= found < 2**63:
        raise InvalidInput("mail_id", "must be the message's number as shown")
    return found


@router.post("/console/cases/{case_id}/resend")
async def resend(case_id: uuid.UUID, ctx: Ctx, form: Form) -> Response:
    principal = staff(ctx)
    mail_id = _mail_id(form.get("mail_id", ""))
    async with ctx.runtime.unit_of_work() as session:
        await outbox.resend(session, principal, case_id, mail_id, service.now_of(session))
    return redirect(ctx, _back(case_id, "case_mail_resent"))


@router.get("/console/cases/{case_id}/attachments/{attachment_id}")
async def download(case_id: uuid.UUID, attachment_id: int, ctx: Ctx) -> Response:
    """A case's file, with the API's download headers (saved, never rendered)."""
    principal = staff(ctx)
    if not 1 <= attachment_id < 2**63:
        raise InvalidInput("attachment_id", "no such file", location="path")
    async with ctx.runtime.unit_of_work(write=False) as session:
        found = await service.attachment(session, principal, case_id, attachment_id)
        content, ctype, filename = found.content, found.content_type, found.filename
    response = Response(
        content=content,
        media_type=download_type(ctype),
        headers={
            "Content-Disposition": content_disposition(filename),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
    return ctx.apply(response)
