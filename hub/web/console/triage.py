"""The triage queue: inbound mail no case could be sure of (sender, subject, a snippet and
why it was not filed), filed on a case or dismissed by a person through the same calls as
`/api/v1/triage` (`hub.case.inbound.assign`, `dismiss`)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from hub.case import inbound, service
from hub.case.schemas import CaseFilters, TriageAssign, TriageFilters
from hub.errors import InvalidInput
from hub.mail.parse import MessageParser
from hub.models import CaseMail, VendorAccount, VendorCase, VendorMailProfile
from hub.models.enums import CaseStatus
from hub.web.console.access import client_names, staff
from hub.web.console.cases import parse
from hub.web.labels import N_
from hub.web.pages import Ctx, Form, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SNIPPET = 300
ITEMS = 50
CHOICES = 40  # cases offered per message: those of the sender's vendor first
# Why a message was not filed (hub.mail.match.TriageReason), in a technician's words.
REASON_WORDS = {
    "no_signal": N_("nothing in it points at a case"),
    "conflicting_signals": N_("it points at more than one case"),
    "sender_vendor_mismatch": N_("the sender is not the case's vendor"),
    "vendor_case_number_mismatch": N_("the vendor's case number is not the one we know"),
    "other_hub_instance": N_("it answers another hub's message"),
    "unknown_token": N_("it names a case token we do not know"),
    "sender_domain_ambiguous": N_("the sender's vendor has several open cases"),
    "sender_domain_without_case_number": N_("the sender's vendor gave no case number"),
}


def _snippet(raw: bytes) -> str:
    text = MessageParser().parse(raw).reply_text or ""
    text = " ".join(text.split())
    return text[:SNIPPET] + ("…" if len(text) > SNIPPET else "")


def _item_id(value: int) -> int:
    if not 1 <= value < 2**63:
        raise InvalidInput("item_id", "no such triage item", location="path")
    return value


async def _vendor_domains(session: AsyncSession, account_ids: set[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    """The mail domains of the vendor of each account (its case-mail profile)."""
    if not account_ids:
        return {}
    rows = await session.execute(
        select(VendorAccount.id, VendorMailProfile.mail_domains)
        .join(VendorMailProfile, VendorMailProfile.vendor_id == VendorAccount.vendor_id)
        .where(VendorAccount.id.in_(account_ids))
    )
    return {account_id: {d.lower() for d in found or []} for account_id, found in rows}


def _likely_first(
    cases: list[VendorCase], domains: dict[uuid.UUID, set[str]], sender: str
) -> list[VendorCase]:
    """The cases to offer for a message: those with the vendor the sender writes for first
    (by its mail domains), then the most recent others."""
    host = sender.rpartition("@")[2].lower()

    def theirs(case: VendorCase) -> bool:
        return any(host == d or host.endswith("." + d) for d in domains.get(case.vendor_account_id, ()))

    return sorted(cases, key=lambda c: not theirs(c))[:CHOICES]


@router.get("/console/triage")
async def triage_page(ctx: Ctx) -> Response:
    principal = staff(ctx)
    async with ctx.runtime.unit_of_work(write=False) as session:
        items, total = await inbound.list_triage(session, principal, TriageFilters(limit=ITEMS))
        raws = {
            row.id: row.raw
            for row in await session.execute(
                select(CaseMail.id, CaseMail.raw).where(CaseMail.id.in_([i["mail_id"] for i in items]))
            )
        }
        recent, _ = await service.cases.list(session, principal, CaseFilters(limit=300, sort="-created_at"))
        open_cases = [c for c in recent if c.status is not CaseStatus.closed]
        names = await client_names(session, [c.client_id for c in open_cases])
        domains = await _vendor_domains(session, {c.vendor_account_id for c in open_cases})
    rows: list[dict[str, Any]] = [
        {
            **i,
            "snippet": _snippet(raws.get(i["mail_id"], b"")),
            "choices": _likely_first(open_cases, domains, i["sender"]),
        }
        for i in items
    ]
    return render(
        ctx,
        "console/triage.html",
        items=rows,
        total=total,
        names=names,
        reason_words=REASON_WORDS,
    )


@router.post("/console/triage/{item_id}/assign")
async def assign(item_id: int, ctx: Ctx, form: Form) -> Response:
    principal = staff(ctx)
    data = parse(TriageAssign, {"case_id": form.get("case_id", "")})
    async with ctx.runtime.unit_of_work() as session:
        await inbound.assign(session, principal, _item_id(item_id), data.case_id)
    return redirect(ctx, f"/console/cases/{data.case_id}?notice=triage_filed")


@router.post("/console/triage/{item_id}/dismiss")
async def dismiss(item_id: int, ctx: Ctx, form: Form) -> Response:
    principal = staff(ctx)
    async with ctx.runtime.unit_of_work() as session:
        await inbound.dismiss(session, principal, _item_id(item_id))
    return redirect(ctx, "/console/triage?notice=triage_dismissed")
