"""Vendor cases: creating them (blank, or from a failing check run, an asset or a
subscription, evidence attached), their states, their timeline and the vendor's clock.

States: draft -> open -> waiting_vendor <-> waiting_client -> resolved -> closed, and a
resolved or closed case reopens. Every transition happens here (`transition`), so the
rules hold for the API, the CLI, the inbound mail and the jobs alike. The vendor's clock
(`hub.kit.business_clock`, pure) is computed from the timeline on every write and read; the
case keeps the instant that matters next (`vendor_sla_due_at`) so that "breaching" is a
query."""

from __future__ import annotations

import builtins
import hashlib
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.crud import CrudService, Resource, contains_text, equals
from hub.audit.service import record
from hub.auth.principal import Principal
from hub.case import evidence as ev
from hub.case import outbox
from hub.case.schemas import (
    CaseCreate,
    CaseEventCreate,
    CaseFilters,
    CaseReply,
    CaseTransition,
    MailProfileWrite,
    MirrorCaseStatus,
    VerifyCase,
)
from hub.case.settings import CaseSettings
from hub.case.timeline import (
    ACTIVE,
    CLOCK_RUNNING,
    check_calendar,
    check_entitlement,
    due_of,
    report,
    targets,
    terms_for,
)
from hub.client.service import require_client
from hub.db import runtime_of
from hub.errors import Conflict, InvalidInput, NotFound
from hub.jobs import enqueue
from hub.mail.case_numbers import compile_pattern
from hub.mail.compose import parse_recipient
from hub.mail.identity import new_case_token
from hub.models import (
    CaseAttachment,
    CaseEvent,
    CaseMail,
    Vendor,
    VendorAccount,
    VendorCase,
    VendorMailProfile,
)
from hub.models.enums import AuditAction, CaseChannel, CaseEventKind, CaseStatus

ALLOWED: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.draft: frozenset({CaseStatus.open, CaseStatus.closed}),
    CaseStatus.open: frozenset(
        {CaseStatus.waiting_vendor, CaseStatus.waiting_client, CaseStatus.resolved, CaseStatus.closed}
    ),
    CaseStatus.waiting_vendor: frozenset(
        {CaseStatus.open, CaseStatus.waiting_client, CaseStatus.resolved, CaseStatus.closed}
    ),
    CaseStatus.waiting_client: frozenset(
        {CaseStatus.open, CaseStatus.waiting_vendor, CaseStatus.resolved, CaseStatus.closed}
    ),
    CaseStatus.resolved: frozenset({CaseStatus.closed, CaseStatus.open}),
    CaseStatus.closed: frozenset({CaseStatus.open}),
}
_CATEGORY_NEEDS = {"mail_hosting": ("domain",), "hardware": ("model", "serial"), "isp": ("circuit_id",)}


def now_of(session: AsyncSession) -> datetime:
    return runtime_of(session).now()


def _settings(session: AsyncSession) -> CaseSettings:
    return runtime_of(session).settings.case


class CaseService(CrudService[VendorCase]):
    resource = Resource(
        model=VendorCase,
        label="case",
        subject_type="vendor_case",
        client_column=VendorCase.client_id,
        sort_fields={
            "created_at": VendorCase.created_at,
            "opened_at": VendorCase.opened_at,
            "status": VendorCase.status,
            "severity": VendorCase.severity,
            "due": VendorCase.vendor_sla_due_at,
        },
        default_sort="-created_at",
        filters={"client_id": equals(VendorCase.client_id), "status": equals(VendorCase.status)},
    )

    def scope(self, stmt: Select[Any], principal: Principal) -> Select[Any]:
        stmt = super().scope(stmt, principal)
        # A renewal's purchase-order thread carries our cost: staff only.
        return stmt.where(VendorCase.renewal_id.is_(None)) if principal.is_client else stmt

    async def check_visible(self, session: AsyncSession, principal: Principal, obj: VendorCase) -> None:
        await super().check_visible(session, principal, obj)
        if principal.is_client and obj.renewal_id is not None:
            raise NotFound("case not found")

    async def list(  # type: ignore[override]
        self, session: AsyncSession, principal: Principal, params: CaseFilters
    ) -> tuple[builtins.list[VendorCase], int]:
        stmt = self.scope(select(VendorCase), principal)
        if params.client_id is not None:
            stmt = stmt.where(VendorCase.client_id == params.client_id)
        if params.status is not None:
            stmt = stmt.where(VendorCase.status == params.status)
        if params.vendor_id is not None:
            accounts = select(VendorAccount.id).where(VendorAccount.vendor_id == params.vendor_id)
            stmt = stmt.where(VendorCase.vendor_account_id.in_(accounts))
        if params.breaching is not None:
            late = (VendorCase.vendor_sla_due_at <= now_of(session)) & VendorCase.status.in_(CLOCK_RUNNING)
            stmt = stmt.where(late if params.breaching else ~late | VendorCase.vendor_sla_due_at.is_(None))
        if params.q:
            stmt = contains_text(VendorCase.title, VendorCase.token, VendorCase.external_ref)(stmt, params.q)
        total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        stmt = stmt.order_by(*self._order_by(params.sort or self.resource.default_sort))
        rows = (await session.execute(stmt.limit(params.limit).offset(params.offset))).scalars().all()
        return list(rows), int(total)


cases = CaseService()


# --- creating ------------------------------------------------------------------------------


async def mail_profile(session: AsyncSession, vendor_id: uuid.UUID) -> VendorMailProfile | None:
    return await session.get(VendorMailProfile, vendor_id)


def _addresses(field: str, values: list[str]) -> list[str]:
    # A bad address is a MailInputError: a 422 naming the field.
    return [parse_recipient(f"{field}[{i}]", v).addr_spec for i, v in enumerate(values)]


async def _evidence(session: AsyncSession, client_id: uuid.UUID, data: CaseCreate) -> ev.Evidence | None:
    if data.check_run_id is not None or data.check_id is not None:
        return await ev.from_check_run(session, client_id, data.check_run_id, data.check_id)
    if data.asset_id is not None:
        return await ev.from_asset(session, client_id, data.asset_id)
    if data.subscription_id is not None:
        return await ev.from_subscription(session, client_id, data.subscription_id)
    if data.line_id is not None:
        return await ev.from_line(session, client_id, data.line_id)
    return None


async def new_token(session: AsyncSession) -> str:
    for _ in range(20):
        token = new_case_token()
        if (await session.execute(select(VendorCase.id).where(VendorCase.token == token))).first() is None:
            return token
    raise Conflict("could not draw a free case token; try again")


def _category(vendor: Vendor, context: dict[str, Any]) -> str | None:
    """The vendor's category template when the case has what it shows (a domain for a
    mail host, a serial for hardware), else the generic one."""
    needs = _CATEGORY_NEEDS.get(vendor.category.value)
    if needs is None:
        return None
    return vendor.category.value if all(context.get(k) for k in needs) else None


async def create_case(session: AsyncSession, principal: Principal, data: CaseCreate) -> VendorCase:
    """One call: the case, its evidence as files and lines of the description, and (with
    `submit`) the first message to the vendor queued and the clock started."""
    principal.require_staff()
    account = await session.get(VendorAccount, data.vendor_account_id)
    if account is None or (principal.client_id is not None and account.client_id != principal.client_id):
        raise InvalidInput("vendor_account_id", "no vendor account with that id")
    await require_client(session, principal, account.client_id, field="vendor_account_id")
    vendor = await session.get(Vendor, account.vendor_id)
    assert vendor is not None
    profile = await mail_profile(session, vendor.id)
    found = await _evidence(session, account.client_id, data)
    if data.domain_id is not None and (found is None or "domain_id" not in found.links):
        found = found or ev.Evidence()
        from hub.models import Domain

        domain = await session.get(Domain, data.domain_id)
        if domain is None or domain.client_id != account.client_id:
            raise InvalidInput("domain_id", "no domain of this client with that id")
        found.links["domain_id"] = domain.id
        found.context["domain"] = domain.name
    title = data.title or (found.title if found and found.title else None)
    if not title:
        raise InvalidInput("title", "a title is required for a blank case")
    to = _addresses("to", data.to) or ([profile.support_email] if profile and profile.support_email else [])
    description = data.description
    if found and found.lines:
        description = (description + "\n\n" if description else "") + "\n".join(f"- {x}" for x in found.lines)
    default_first = profile.sla_first_response if profile else None
    if default_first is None and vendor.default_response_sla_hours:
        default_first = f"{vendor.default_response_sla_hours}h"
    now = now_of(session)
    case = VendorCase(
        client_id=account.client_id,
        vendor_account_id=account.id,
        title=title[:300],
        description=description,
        severity=data.severity,
        status=CaseStatus.draft,
        channel=data.channel,
        opened_by=principal.actor,
        token=await new_token(session),
        language=profile.language if profile else "en",
        to_addresses=to,
        cc_addresses=_addresses("cc", data.cc),
        sla_first_response=check_entitlement(data.sla_first_response, "sla_first_response") or default_first,
        sla_resolution=check_entitlement(data.sla_resolution, "sla_resolution")
        or (profile.sla_resolution if profile else None),
        **(found.links if found else {}),
    )
    session.add(case)
    await session.flush()
    _event(session, case, CaseEventKind.note, principal.actor, now, f"Case created: {title}", visible=True)
    if found:
        for name, content, ctype in found.files:
            session.add(
                CaseAttachment(
                    case_id=case.id,
                    filename=name,
                    content_type=ctype,
                    size=len(content),
                    sha256=hashlib.sha256(content).hexdigest(),
                    content=content,
                    created_at=now,
                )
            )
    record(
        session,
        principal,
        AuditAction.create,
        subject_type="vendor_case",
        subject_id=case.id,
        client_id=case.client_id,
        after={"title": case.title, "vendor_account_id": str(account.id), "status": case.status.value},
    )
    await session.flush()
    if data.submit:
        await submit(session, principal, case, context=found.context if found else {})
    return case


async def submit(
    session: AsyncSession, principal: Principal, case: VendorCase, *, context: dict[str, Any] | None = None
) -> VendorCase:
    """Open a draft: the first message to the vendor (evidence attached) goes to the
    outbox and the case waits on the vendor, its clock running."""
    if case.status is not CaseStatus.draft:
        raise Conflict(f"the case is {case.status.value}: only a draft is submitted")
    now = now_of(session)
    if case.channel is CaseChannel.email:
        _, vendor, _ = await outbox.mail_context(session, case)
        files = (
            (await session.execute(select(CaseAttachment).where(CaseAttachment.case_id == case.id)))
            .scalars()
            .all()
        )
        ctx = dict(context or {})
        lines = case.description.splitlines()
        ctx["evidence"] = [line[2:] for line in lines if line.startswith("- ")]
        ctx["description"] = "\n".join(line for line in lines if not line.startswith("- ")).strip()
        await outbox.queue_message(
            session,
            case,
            "open",
            now,
            _settings(session),
            principal=principal,
            context=ctx,
            category=_category(vendor, ctx),
            attachments=files,
        )
    case.opened_at = now
    await move(session, principal, case, CaseStatus.open, now, "")
    await move(session, principal, case, CaseStatus.waiting_vendor, now, "")
    return case


# --- the timeline --------------------------------------------------------------------------


def _event(
    session: AsyncSession,
    case: VendorCase,
    kind: CaseEventKind,
    actor: str,
    at: datetime,
    body: str,
    *,
    visible: bool,
    minutes: int | None = None,
    meta: dict[str, Any] | None = None,
    mail_id: int | None = None,
) -> CaseEvent:
    event = CaseEvent(
        case_id=case.id,
        kind=kind,
        occurred_at=at,
        actor=actor,
        body=body,
        minutes_spent=minutes,
        client_visible=visible,
        meta=meta or {},
        mail_id=mail_id,
    )
    session.add(event)
    return event


def add_system_event(
    session: AsyncSession,
    case: VendorCase,
    kind: CaseEventKind,
    actor: str,
    at: datetime,
    body: str,
    *,
    visible: bool,
    meta: dict[str, Any] | None = None,
) -> CaseEvent:
    """An event the hub itself records (verification, chasers)."""
    return _event(session, case, kind, actor, at, body, visible=visible, meta=meta)


async def events_of(
    session: AsyncSession, case_id: uuid.UUID, *, client_view: bool = False
) -> list[CaseEvent]:
    stmt = select(CaseEvent).where(CaseEvent.case_id == case_id)
    if client_view:
        stmt = stmt.where(CaseEvent.client_visible.is_(True))
    return list((await session.execute(stmt.order_by(CaseEvent.occurred_at, CaseEvent.id))).scalars())


async def clock_of(session: AsyncSession, case: VendorCase, now: datetime) -> Any:
    account = await session.get(VendorAccount, case.vendor_account_id)
    profile = await mail_profile(session, account.vendor_id) if account else None
    terms = terms_for(case.sla_first_response, case.sla_resolution, profile.calendar if profile else None)
    return report(terms, await events_of(session, case.id), now)


async def refresh_clock(session: AsyncSession, case: VendorCase, now: datetime) -> None:
    await session.flush()
    case.vendor_sla_due_at = due_of(await clock_of(session, case, now))


async def move(
    session: AsyncSession, principal: Principal, case: VendorCase, to: CaseStatus, now: datetime, note: str
) -> None:
    before = case.status
    if to == before:
        raise Conflict(f"the case is already {to.value}")
    if to not in ALLOWED[before]:
        allowed = ", ".join(sorted(s.value for s in ALLOWED[before]))
        raise Conflict(f"a {before.value} case cannot become {to.value}; it can become: {allowed}")
    case.status = to
    if before in (CaseStatus.resolved, CaseStatus.closed) and to in ACTIVE:
        case.cycle += 1
        case.resolved_at = None
    if to is CaseStatus.resolved:
        case.resolved_at = now
    if before is CaseStatus.draft and case.opened_at is None:
        case.opened_at = now
    text = f"Status: {before.value} -> {to.value}" + (f". {note}" if note else "")
    _event(
        session,
        case,
        CaseEventKind.status_change,
        principal.actor,
        now,
        text,
        visible=True,
        meta={"from": before.value, "to": to.value},
    )
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="vendor_case",
        subject_id=case.id,
        client_id=case.client_id,
        before={"status": before.value},
        after={"status": to.value},
    )
    await refresh_clock(session, case, now)


async def transition(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, data: CaseTransition
) -> VendorCase:
    principal.require_staff()
    case = await cases.get(session, principal, case_id)
    if case.status is CaseStatus.draft and data.status is CaseStatus.open:
        return await submit(session, principal, case)
    now = now_of(session)
    before = case.status
    await move(session, principal, case, data.status, now, data.note)
    if data.status is CaseStatus.resolved and case.check_run_id is not None and not data.skip_verification:
        await enqueue(session, VerifyCase(case_id=case.id), dedupe_key=f"case.verify:{case.id}")
    await _mirror_at_vendor(session, case, before, data.status)
    await session.flush()
    return case


async def _mirror_at_vendor(
    session: AsyncSession, case: VendorCase, before: CaseStatus, to: CaseStatus
) -> None:
    """An api-channel case closed or reopened by us is closed or reopened at the vendor
    too (a job, queued with the decision: the vendor is called with no transaction open)."""
    if case.channel is not CaseChannel.api or case.vendor_external_id is None:
        return
    if to is CaseStatus.closed:
        wanted = "closed"
    elif before in (CaseStatus.resolved, CaseStatus.closed) and to in ACTIVE:
        wanted = "reopened"
    else:
        return
    await enqueue(
        session,
        MirrorCaseStatus(case_id=case.id, status=wanted),
        dedupe_key=f"case.api_status:{case.id}:{case.cycle}:{wanted}",
    )


async def add_event(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, data: CaseEventCreate
) -> CaseEvent:
    principal.require_staff()
    case = await cases.get(session, principal, case_id)
    kind = CaseEventKind(data.kind)
    body = data.body or {"call_logged": "Call logged", "time_spent": "Time logged"}.get(data.kind, "")
    event = _event(
        session,
        case,
        kind,
        principal.actor,
        now_of(session),
        body,
        visible=data.client_visible,
        minutes=data.minutes,
    )
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="vendor_case",
        subject_id=case.id,
        client_id=case.client_id,
        meta={"event": data.kind, "minutes": data.minutes},
    )
    await session.flush()
    return event


async def reply(session: AsyncSession, principal: Principal, case_id: uuid.UUID, data: CaseReply) -> CaseMail:
    """A message to the vendor on the case's thread; the case then waits on the vendor."""
    principal.require_staff()
    case = await cases.get(session, principal, case_id)
    if case.status in (CaseStatus.draft, CaseStatus.closed):
        raise Conflict(f"the case is {case.status.value}: submit or reopen it before writing to the vendor")
    if case.channel is CaseChannel.api and case.vendor_external_id is not None:
        raise Conflict("the case is followed through the vendor's API: write with POST /cases/{id}/comments")
    now = now_of(session)
    mail = await outbox.queue_message(
        session,
        case,
        "follow_up",
        now,
        _settings(session),
        principal=principal,
        context={"message": data.body},
        cc=_addresses("cc", data.cc),
    )
    record(
        session,
        principal,
        AuditAction.vendor_action,
        subject_type="vendor_case",
        subject_id=case.id,
        client_id=case.client_id,
        meta={"action": "mail_queued", "mail_id": mail.id, "kind": "follow_up"},
    )
    if case.status in (CaseStatus.open, CaseStatus.waiting_client):
        await move(session, principal, case, CaseStatus.waiting_vendor, now, "")
    return mail


async def set_chasers(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, paused: bool
) -> VendorCase:
    principal.require_staff()
    case = await cases.get(session, principal, case_id)
    if case.chasers_paused != paused:
        case.chasers_paused = paused
        _event(
            session,
            case,
            CaseEventKind.note,
            principal.actor,
            now_of(session),
            "Chasers paused" if paused else "Chasers resumed",
            visible=False,
            meta={"chasers_paused": paused},
        )
        await session.flush()
    return case


# --- reading -------------------------------------------------------------------------------


async def detail(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> dict[str, Any]:
    """The case with its timeline (client users: the client-visible part only, no mail
    internals), attachments and the vendor's clock."""
    case = await cases.get(session, principal, case_id)
    client_view = principal.is_client
    events = await events_of(session, case.id, client_view=client_view)
    files = (await session.execute(select(CaseAttachment).where(CaseAttachment.case_id == case.id))).scalars()
    visible: set[int | None] = {None, *(e.id for e in events)}
    clock = await clock_of(session, case, now_of(session))
    out: dict[str, Any] = {c.key: getattr(case, c.key) for c in VendorCase.__table__.columns}
    out.update(
        timeline=events,
        attachments=[a for a in files if not client_view or (a.client_visible and a.event_id in visible)],
        clock=targets(clock),
        minutes_charged=sum(e.minutes_spent or 0 for e in events if e.client_visible),
    )
    if not client_view:
        out["mails"] = list(
            (
                await session.execute(
                    select(CaseMail).where(CaseMail.case_id == case.id).order_by(CaseMail.id)
                )
            ).scalars()
        )
    return out


async def attachment(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, attachment_id: int
) -> CaseAttachment:
    case = await cases.get(session, principal, case_id)
    found = await session.get(CaseAttachment, attachment_id)
    if (
        found is None
        or found.case_id != case.id
        or (principal.is_client and not await _client_may_see(session, found))
    ):
        raise NotFound(f"attachment {attachment_id} not found")
    return found


async def _client_may_see(session: AsyncSession, found: CaseAttachment) -> bool:
    """A client user reads a file marked client-visible whose event (if any) it can read
    on the timeline too: a file on an internal note is internal whatever its own flag."""
    if not found.client_visible:
        return False
    if found.event_id is None:
        return True
    event = await session.get(CaseEvent, found.event_id)
    return event is None or event.client_visible


# --- vendor mail profiles ------------------------------------------------------------------


async def put_mail_profile(
    session: AsyncSession, principal: Principal, vendor_id: uuid.UUID, data: MailProfileWrite
) -> VendorMailProfile:
    principal.require_staff()
    if await session.get(Vendor, vendor_id) is None:
        raise NotFound(f"vendor {vendor_id} not found")
    if data.support_email:
        data.support_email = parse_recipient("support_email", data.support_email).addr_spec
    for i, regex in enumerate(data.case_number_patterns):
        compile_pattern(regex, f"case_number_patterns[{i}]")  # a MailInputError names the field
    check_calendar(data.calendar)
    values = data.model_dump()
    values["sla_first_response"] = check_entitlement(data.sla_first_response, "sla_first_response")
    values["sla_resolution"] = check_entitlement(data.sla_resolution, "sla_resolution")
    values["mail_domains"] = sorted({d.strip().lower() for d in data.mail_domains if d.strip()})
    profile = await session.get(VendorMailProfile, vendor_id)
    if profile is None:
        profile = VendorMailProfile(vendor_id=vendor_id)
        session.add(profile)
    for key, value in values.items():
        setattr(profile, key, value)
    profile.updated_at = now_of(session)
    record(
        session,
        principal,
        AuditAction.update,
        subject_type="vendor",
        subject_id=vendor_id,
        client_id=None,
        after={"mail_profile": {k: v for k, v in values.items() if k != "calendar"}},
    )
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("the vendor's mail profile was changed meanwhile; try again") from None
    return profile


async def get_mail_profile(
    session: AsyncSession, principal: Principal, vendor_id: uuid.UUID
) -> VendorMailProfile:
    principal.require_staff()
    profile = await session.get(VendorMailProfile, vendor_id)
    if profile is None:
        if await session.get(Vendor, vendor_id) is None:
            raise NotFound(f"vendor {vendor_id} not found")
        return VendorMailProfile(vendor_id=vendor_id, language="en", mail_domains=[], case_number_patterns=[])
    return profile
