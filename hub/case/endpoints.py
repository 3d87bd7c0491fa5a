# mypy: disable-error-code="valid-type,unused-ignore"
"""Routes of vendor cases (`/cases`), the triage queue (`/triage`), vendors' mail
profiles and the mail relay's inbound endpoint. Thin: parse, call the service, shape."""

import hmac
import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Path, Query, Request, Response

from hub.api.projection import json_response, respond, respond_page, shape
from hub.case import chasers, desk, inbound, outbox, service
from hub.case.schemas import (
    CaseClientRead,
    CaseComment,
    CaseControls,
    CaseCreate,
    CaseDetailClientRead,
    CaseDetailRead,
    CaseEscalation,
    CaseEventCreate,
    CaseEventRead,
    CaseFilters,
    CaseOpenViaApi,
    CaseRead,
    CaseReply,
    CaseTransition,
    InboundResult,
    MailProfileRead,
    MailProfileWrite,
    MailRead,
    TriageAssign,
    TriageFilters,
    TriageRead,
)
from hub.deps import PrincipalDep, RuntimeDep, SessionDep
from hub.errors import Forbidden, InvalidInput, Unauthorized
from hub.kit.schema import Page
from hub.sdk.records import PartRequest

router = APIRouter(tags=["cases"])
MAX_INBOUND_BYTES = 25 * 1024 * 1024
TriageId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the triage item's id")]
MailId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the outbound message's id")]
EventId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the timeline event's id")]
AttachmentId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the attachment's id")]
# Types a browser would render or run: served as bytes to save, never inline.
ACTIVE_TYPES = ("html", "xml", "svg", "javascript", "ecmascript")


@router.get(
    "/cases",
    response_model=Page[CaseRead] | Page[CaseClientRead],
    operation_id="list_cases",
    summary="List vendor cases (filters: client, vendor, state, breaching)",
)
async def list_cases(
    session: SessionDep, principal: PrincipalDep, params: Annotated[CaseFilters, Query()]
) -> Any:
    items, total = await service.cases.list(session, principal, params)
    return respond_page(principal, items, total, params.limit, params.offset, CaseRead, CaseClientRead)


@router.post(
    "/cases",
    response_model=CaseRead,
    status_code=201,
    operation_id="create_case",
    summary="Open a case: blank, or from a failing check run, an asset or a subscription (evidence attached)",
)
async def create_case(body: CaseCreate, session: SessionDep, principal: PrincipalDep) -> Any:
    case = await service.create_case(session, principal, body)
    return respond(principal, case, CaseRead, None, status_code=201)


@router.get(
    "/cases/{item_id}",
    response_model=CaseDetailRead | CaseDetailClientRead,
    operation_id="get_case",
    summary="A case with its timeline, attachments and the vendor's clock",
)
async def get_case(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    return respond(
        principal, await service.detail(session, principal, item_id), CaseDetailRead, CaseDetailClientRead
    )


@router.post(
    "/cases/{item_id}/events",
    response_model=CaseEventRead,
    status_code=201,
    operation_id="add_case_event",
    summary="Add a note, a logged call or logged time (internal or client-visible)",
)
async def add_event(
    item_id: uuid.UUID, body: CaseEventCreate, session: SessionDep, principal: PrincipalDep
) -> Any:
    event = await service.add_event(session, principal, item_id, body)
    return respond(principal, event, CaseEventRead, None, status_code=201)


@router.post(
    "/cases/{item_id}/status",
    response_model=CaseRead,
    operation_id="change_case_status",
    summary="Move a case: open (sends the first message), waiting on either side, resolved, closed, reopen",
    responses={409: {"description": "the transition is not allowed from the case's state"}},
)
async def change_status(
    item_id: uuid.UUID, body: CaseTransition, session: SessionDep, principal: PrincipalDep
) -> Any:
    return respond(principal, await service.transition(session, principal, item_id, body), CaseRead, None)


@router.post(
    "/cases/{item_id}/reply",
    response_model=MailRead,
    status_code=201,
    operation_id="reply_on_case",
    summary="Write to the vendor on the case's thread (through the outbox)",
)
async def reply(item_id: uuid.UUID, body: CaseReply, session: SessionDep, principal: PrincipalDep) -> Any:
    mail = await service.reply(session, principal, item_id, body)
    return respond(principal, mail, MailRead, None, status_code=201)


@router.post(
    "/cases/{item_id}/escalate",
    response_model=MailRead,
    status_code=201,
    operation_id="escalate_case",
    summary="Escalate now: write to the vendor on the case's thread copying one of its escalation contacts",
)
async def escalate(
    item_id: uuid.UUID, body: CaseEscalation, session: SessionDep, principal: PrincipalDep
) -> Any:
    mail = await chasers.escalate(session, principal, item_id, body)
    return respond(principal, mail, MailRead, None, status_code=201)


@router.post(
    "/cases/{item_id}/open-via-api",
    response_model=CaseRead,
    operation_id="open_case_via_api",
    summary="Open a draft api-channel case at the vendor through a connection's case API (evidence attached)",
    responses={
        409: {"description": "the case is not a draft"},
        502: {
            "description": "the vendor's API failed; the case stays a draft and a retry looks for it first"
        },
    },
)
async def open_via_api(
    item_id: uuid.UUID, body: CaseOpenViaApi, runtime: RuntimeDep, principal: PrincipalDep
) -> Any:
    parts = tuple(PartRequest(**p.model_dump()) for p in body.parts)
    case = await desk.open_through_api(
        runtime, principal, item_id, body.connection_id, subject=body.subject, parts=parts
    )
    return respond(principal, case, CaseRead, None)


@router.post(
    "/cases/{item_id}/comments",
    response_model=CaseEventRead,
    status_code=201,
    operation_id="comment_on_case_via_api",
    summary="Write to the vendor through its case API (api-channel cases)",
    responses={
        409: {"description": "not an api-channel case, closed, or the vendor takes no messages by API"},
        502: {"description": "the vendor refused or failed; the message is kept as failed or unknown"},
    },
)
async def comment(item_id: uuid.UUID, body: CaseComment, runtime: RuntimeDep, principal: PrincipalDep) -> Any:
    event = await desk.comment(runtime, principal, item_id, body.body)
    return respond(principal, event, CaseEventRead, None, status_code=201)


@router.post(
    "/cases/{item_id}/comments/{event_id}/retry",
    response_model=CaseEventRead,
    operation_id="retry_case_comment",
    summary="Send again a message whose outcome is unknown or that failed (looked for at the vendor first)",
    responses={409: {"description": "the message is not unknown or failed"}},
)
async def retry_comment(
    item_id: uuid.UUID, event_id: EventId, runtime: RuntimeDep, principal: PrincipalDep
) -> Any:
    event = await desk.retry_comment(runtime, principal, item_id, event_id)
    return respond(principal, event, CaseEventRead, None)


@router.post(
    "/cases/{item_id}/api-poll",
    response_model=CaseRead,
    operation_id="poll_case_via_api",
    summary="Read the vendor's updates of an api-channel case now (the periodic poll: every 5 minutes)",
    responses={502: {"description": "the vendor's API failed; recorded as the case's api_error"}},
)
async def poll_now(item_id: uuid.UUID, runtime: RuntimeDep, principal: PrincipalDep) -> Any:
    return respond(principal, await desk.poll_now(runtime, principal, item_id), CaseRead, None)


@router.post(
    "/cases/{item_id}/mails/{mail_id}/resend",
    response_model=MailRead,
    operation_id="resend_case_mail",
    summary="Send again a message whose delivery is unknown or that is dead (same bytes, same Message-ID)",
    responses={409: {"description": "the message is not unknown or dead (e.g. already sent)"}},
)
async def resend_mail(
    item_id: uuid.UUID, mail_id: MailId, session: SessionDep, principal: PrincipalDep
) -> Any:
    mail = await outbox.resend(session, principal, item_id, mail_id, service.now_of(session))
    return respond(principal, mail, MailRead, None)


@router.get(
    "/cases/{item_id}/attachments/{attachment_id}",
    response_class=Response,
    operation_id="download_case_attachment",
    summary="Download a case's file (client users: the files of the client-visible timeline)",
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download_attachment(
    item_id: uuid.UUID, attachment_id: AttachmentId, session: SessionDep, principal: PrincipalDep
) -> Response:
    found = await service.attachment(session, principal, item_id, attachment_id)
    return Response(
        content=found.content,
        media_type=download_type(found.content_type),
        headers={
            "Content-Disposition": content_disposition(found.filename),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def download_type(stored: str) -> str:
    """The stored type when it is a plain type/subtype a browser will not render as a
    page; application/octet-stream otherwise (HTML, SVG, XML, scripts, malformed)."""
    value = (stored or "").split(";", 1)[0].strip().lower()
    kind, _, sub = value.partition("/")
    if not kind or not sub or any(not (c.isalnum() or c in "+-.") for c in kind + sub):
        return "application/octet-stream"
    if any(word in value for word in ACTIVE_TYPES):
        return "application/octet-stream"
    return value


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the RFC 6266 UTF-8 one."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{fallback or 'attachment'}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.put(
    "/cases/{item_id}/chasers",
    response_model=CaseRead,
    operation_id="set_case_chasers",
    summary="Pause or resume the automatic chasers of a case",
)
async def set_chasers(
    item_id: uuid.UUID, body: CaseControls, session: SessionDep, principal: PrincipalDep
) -> Any:
    case = await service.set_chasers(session, principal, item_id, body.chasers_paused)
    return respond(principal, case, CaseRead, None)


@router.get(
    "/vendors/{item_id}/case-mail",
    response_model=MailProfileRead,
    operation_id="get_vendor_case_mail",
    summary="How a vendor is reached and recognised by mail",
)
async def get_mail_profile(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    profile = await service.get_mail_profile(session, principal, item_id)
    return respond(principal, profile, MailProfileRead, None)


@router.put(
    "/vendors/{item_id}/case-mail",
    response_model=MailProfileRead,
    operation_id="put_vendor_case_mail",
    summary="Set a vendor's case mail: language, support address, domains, case-number patterns, SLA",
)
async def put_mail_profile(
    item_id: uuid.UUID, body: MailProfileWrite, session: SessionDep, principal: PrincipalDep
) -> Any:
    profile = await service.put_mail_profile(session, principal, item_id, body)
    return respond(principal, profile, MailProfileRead, None)


# --- triage --------------------------------------------------------------------------------


@router.get(
    "/triage",
    response_model=Page[TriageRead],
    operation_id="list_triage",
    summary="Inbound messages no case could be sure of",
)
async def list_triage(
    session: SessionDep, principal: PrincipalDep, params: Annotated[TriageFilters, Query()]
) -> Any:
    items, total = await inbound.list_triage(session, principal, params)
    return respond_page(principal, items, total, params.limit, params.offset, TriageRead, None)


@router.post(
    "/triage/{item_id}/assign",
    response_model=TriageRead,
    operation_id="assign_triage",
    summary="File a triaged message on a case",
)
async def assign_triage(
    item_id: TriageId, body: TriageAssign, session: SessionDep, principal: PrincipalDep
) -> Any:
    item = await inbound.assign(session, principal, item_id, body.case_id)
    return json_response(shape(principal, item, TriageRead, None))


@router.post(
    "/triage/{item_id}/dismiss",
    response_model=TriageRead,
    operation_id="dismiss_triage",
    summary="Dismiss a triaged message (kept, filed nowhere)",
)
async def dismiss_triage(item_id: TriageId, session: SessionDep, principal: PrincipalDep) -> Any:
    item = await inbound.dismiss(session, principal, item_id)
    return json_response(shape(principal, item, TriageRead, None))


# --- the mail relay ------------------------------------------------------------------------


@router.post(
    "/cases/inbound",
    response_model=InboundResult,
    operation_id="receive_case_mail",
    summary="A raw RFC 5322 message from the mail relay (X-Hub-Relay-Token), filed like a polled one",
)
async def receive_mail(
    request: Request,
    runtime: RuntimeDep,
    x_hub_relay_token: Annotated[str | None, Header()] = None,
) -> Any:
    expected = runtime.settings.case.relay_token.get_secret_value()
    if not expected:
        raise Forbidden("the mail relay endpoint is off (HUB_CASE_RELAY_TOKEN is not set)")
    if not x_hub_relay_token or not hmac.compare_digest(x_hub_relay_token.encode(), expected.encode()):
        raise Unauthorized("the relay token (X-Hub-Relay-Token) is missing or wrong")
    raw = await request.body()
    if not raw.strip():
        raise InvalidInput("body", "a raw RFC 5322 message is required", location="body")
    if len(raw) > MAX_INBOUND_BYTES:
        raise InvalidInput("body", f"larger than {MAX_INBOUND_BYTES} bytes", location="body")
    async with runtime.unit_of_work() as session:
        result = await inbound.ingest(session, raw, runtime.now(), runtime.settings.case)
    return json_response(result.model_dump(mode="json"))
