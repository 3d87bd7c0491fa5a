import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from hub.api.projection import respond_page
from hub.api.router import crud_router
from hub.deps import PrincipalDep, RuntimeDep, SessionDep
from hub.kit.schema import Page
from hub.notify import ledger, service
from hub.notify.schemas import (
    FeedClientRead,
    FeedCreate,
    FeedCreated,
    FeedFilters,
    FeedRead,
    LadderRead,
    LadderSet,
    NoticeFilters,
    NoticeRead,
    ReminderTest,
    ReminderTestOutcome,
    RunOutcome,
    Snooze,
    WebhookCreate,
    WebhookFilters,
    WebhookRead,
    WebhookUpdate,
)

router = APIRouter()
# Notice ids are ordered integers (append-only ledger); bounded so nothing reaches the
# database that a BIGINT cannot hold.
NoticeId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the notice's id")]

notice_routes = APIRouter(prefix="/notices", tags=["notify"])


@notice_routes.get("", response_model=Page[NoticeRead], operation_id="list_notices", summary="List reminders")
async def list_notices(
    session: SessionDep, principal: PrincipalDep, params: Annotated[NoticeFilters, Query()]
) -> Any:
    principal.require_staff()  # reminders to the MSP's technicians (recipients, thresholds)
    items, total = await service.notices.list(session, principal, params)
    return {"items": items, "total": total, "limit": params.limit, "offset": params.offset}


@notice_routes.post(
    "/{item_id}/acknowledge",
    response_model=NoticeRead,
    operation_id="acknowledge_notice",
    summary="Acknowledge a reminder: no more reminders for this item's term",
)
async def acknowledge_notice(item_id: NoticeId, session: SessionDep, principal: PrincipalDep) -> Any:
    return await service.notices.acknowledge(session, principal, item_id)


@notice_routes.post(
    "/{item_id}/snooze",
    response_model=NoticeRead,
    operation_id="snooze_notice",
    summary="Snooze a reminder: silent until then, then the latest due reminder goes out once",
)
async def snooze_notice(item_id: NoticeId, body: Snooze, session: SessionDep, principal: PrincipalDep) -> Any:
    return await service.notices.snooze(session, principal, item_id, body.until)


webhook_routes = crud_router(
    service.webhooks,
    prefix="/webhooks",
    name="webhook",
    plural="webhooks",
    tag="notify",
    read=WebhookRead,
    create=WebhookCreate,
    update=WebhookUpdate,
    filters=WebhookFilters,
)

calendar_routes = APIRouter(prefix="/calendar", tags=["notify"])


@calendar_routes.get(
    "/feeds",
    response_model=Page[FeedRead] | Page[FeedClientRead],
    operation_id="list_calendar_feeds",
    summary="List calendar feeds",
)
async def list_feeds(
    session: SessionDep, principal: PrincipalDep, params: Annotated[FeedFilters, Query()]
) -> Any:
    feeds = await service.list_feeds(
        session,
        principal,
        client_id=params.client_id,
        include_revoked=params.include_revoked,
        sort=params.sort,
    )
    page = feeds[params.offset : params.offset + params.limit]
    return respond_page(principal, page, len(feeds), params.limit, params.offset, FeedRead, FeedClientRead)


@calendar_routes.post(
    "/feeds",
    response_model=FeedCreated,
    status_code=201,
    operation_id="create_calendar_feed",
    summary="Create a calendar feed (its URL is shown once)",
)
async def create_feed(
    body: FeedCreate, request: Request, session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
) -> Any:
    feed, token = await service.create_feed(session, principal, body)
    base = (runtime.settings.notify.public_url or str(request.base_url)).rstrip("/")
    data = FeedRead.model_validate(feed).model_dump()
    return FeedCreated(**data, token=token, url=f"{base}/api/v1/calendar/{token}.ics")


@calendar_routes.delete(
    "/feeds/{item_id}",
    status_code=204,
    operation_id="revoke_calendar_feed",
    summary="Revoke a calendar feed (its URL answers 404 from now on)",
)
async def revoke_feed(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Response:
    await service.revoke_feed(session, principal, item_id)
    return Response(status_code=204)


@calendar_routes.get(
    "/{token}.ics",
    operation_id="get_calendar_feed",
    summary="The renewals calendar of a feed token (no bearer token: calendar apps cannot send one)",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, 404: {"description": "unknown or revoked token"}},
)
async def calendar_feed(token: str, runtime: RuntimeDep) -> Response:
    async with runtime.sessionmaker() as session:
        body = await service.render_feed(session, token)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "cache-control": "private, max-age=300",
            "content-disposition": 'inline; filename="renewals.ics"',
        },
    )


notify_routes = APIRouter(prefix="/notify", tags=["notify"])


@notify_routes.post(
    "/run",
    response_model=RunOutcome,
    operation_id="run_reminders",
    summary="Record the reminders due now (deliveries go out with the next digest / webhook run)",
)
async def run_reminders(session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep) -> Any:
    principal.require_staff()
    return await ledger.run_reminders(session, runtime.now(), runtime.settings.notify)


@notify_routes.post(
    "/test",
    response_model=ReminderTestOutcome,
    operation_id="send_test_reminder",
    summary="Send a sample reminder through one channel now and report the outcome",
)
async def send_test(body: ReminderTest, session: SessionDep, principal: PrincipalDep) -> Any:
    return await service.send_test(session, principal, body)


@notify_routes.get(
    "/ladders",
    response_model=list[LadderRead],
    operation_id="list_reminder_ladders",
    summary="Reminder ladders in effect per category and the items' own",
)
async def list_ladders(session: SessionDep, principal: PrincipalDep) -> Any:
    return await service.list_ladders(session, principal)


@notify_routes.post(
    "/ladders",
    response_model=LadderRead,
    operation_id="set_reminder_ladder",
    summary="Set the ladder of a category or of one item (days null: back to the default)",
)
async def set_ladder(body: LadderSet, session: SessionDep, principal: PrincipalDep) -> Any:
    return await service.set_ladder(session, principal, body)


router.include_router(notice_routes)
router.include_router(webhook_routes)
router.include_router(calendar_routes)
router.include_router(notify_routes)
