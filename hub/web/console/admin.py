"""Admins' pages: the job queue, the reminders ledger, and people (invite, send a
password reset, sign out everywhere)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.responses import Response

from hub.audit.service import record
from hub.auth import sessions, users
from hub.client.schemas import ClientFilters
from hub.client.service import ClientService
from hub.errors import InvalidInput, NotFound
from hub.jobs.queue import list_jobs
from hub.models import User
from hub.models.enums import AuditAction, Role, UserTokenPurpose
from hub.models.job import JobState
from hub.notify.schemas import NoticeFilters
from hub.notify.service import notices
from hub.web import mail
from hub.web.auth_pages import send_or_log
from hub.web.console.access import admin, client_names
from hub.web.pages import Ctx, Form, PageRoute, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/console/jobs")
async def jobs_page(ctx: Ctx) -> Response:
    admin(ctx)
    raw = ctx.request.query_params.get("state") or None
    try:
        state = JobState(raw) if raw else None
    except ValueError:
        raise InvalidInput("state", f"must be one of {', '.join(s.value for s in JobState)}") from None
    async with ctx.runtime.unit_of_work(write=False) as session:
        rows, total = await list_jobs(session, state=state, limit=200)
    return render(ctx, "console/jobs.html", jobs=rows, total=total, state=state, states=list(JobState))


@router.get("/console/reminders")
async def reminders_page(ctx: Ctx) -> Response:
    principal = admin(ctx)
    async with ctx.runtime.unit_of_work(write=False) as session:
        rows, total = await notices.list(
            session, principal, NoticeFilters(open=True, sort="due_on", limit=200)
        )
        names = await client_names(session, [n.client_id for n in rows])
    return render(ctx, "console/reminders.html", reminders=rows, total=total, names=names)


async def _users_page(
    ctx: Ctx, *, link: str | None = None, error: str | None = None, status: int = 200
) -> Response:
    principal = admin(ctx)
    async with ctx.runtime.unit_of_work(write=False) as session:
        people = await users.list_users(session, principal)
        clients, _ = await ClientService().list(session, principal, ClientFilters(limit=1000))
    return render(
        ctx,
        "console/users.html",
        status=status,
        people=people,
        clients=clients,
        names={c.id: c.name for c in clients},
        roles=list(Role),
        link=link,
        error=error,
    )


@router.get("/console/users")
async def users_page(ctx: Ctx) -> Response:
    return await _users_page(ctx)


def _role(value: str | None) -> Role:
    try:
        return Role(value or "")
    except ValueError:
        raise InvalidInput("role", f"must be one of {', '.join(r.value for r in Role)}") from None


def _uuid(field: str, value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput(field, "is not an id") from None


@router.post("/console/users")
async def invite(ctx: Ctx, form: Form) -> Response:
    principal = admin(ctx)
    runtime = ctx.runtime
    role = _role(form.get("role"))
    client_id = _uuid("client_id", form.get("client_id")) if role in users.CLIENT_ROLES else None
    try:
        async with runtime.unit_of_work() as session:
            user = await users.create_user(
                session,
                principal,
                email=form.get("email", ""),
                name=form.get("name", ""),
                role=role,
                client_id=client_id,
            )
            token = await users.issue_link(
                session,
                user,
                UserTokenPurpose.invite,
                now=runtime.now(),
                settings=runtime.settings.auth,
                created_by=principal.actor,
            )
    except InvalidInput as bad:
        return await _users_page(ctx, error=bad.detail, status=422)
    path = f"/invite/{token}"
    if await send_or_log(runtime, user, "invite", path):
        return redirect(ctx, "/console/users?notice=user_invited")
    # No mail server: the admin hands the link over another way (shown once, never stored).
    return await _users_page(ctx, link=mail.link(runtime, path))


async def _target(session: object, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)  # type: ignore[attr-defined]
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user  # type: ignore[no-any-return]


@router.post("/console/users/{user_id}/sign-out-everywhere")
async def sign_out_user(user_id: uuid.UUID, ctx: Ctx, form: Form) -> Response:
    principal = admin(ctx)
    async with ctx.runtime.unit_of_work() as session:
        user = await _target(session, user_id)
        ended = await sessions.end_all(session, user.id, ctx.runtime.now())
        record(
            session,
            principal,
            AuditAction.sign_out,
            subject_type="user",
            subject_id=user.id,
            client_id=user.client_id,
            meta={"everywhere": True, "sessions_ended": ended, "by_admin": True},
        )
    return redirect(ctx, "/console/users?notice=user_signed_out")


@router.post("/console/users/{user_id}/reset")
async def send_reset(user_id: uuid.UUID, ctx: Ctx, form: Form) -> Response:
    principal = admin(ctx)
    runtime = ctx.runtime
    async with runtime.unit_of_work() as session:
        user = await _target(session, user_id)
        token = await users.issue_link(
            session,
            user,
            UserTokenPurpose.reset,
            now=runtime.now(),
            settings=runtime.settings.auth,
            created_by=principal.actor,
        )
    path = f"/reset/{token}"
    if await send_or_log(runtime, user, "reset", path):
        return redirect(ctx, "/console/users?notice=reset_sent")
    return await _users_page(ctx, link=mail.link(runtime, path))
