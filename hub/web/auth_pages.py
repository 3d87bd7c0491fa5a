"""Pages of signing in and out: password (and TOTP), OIDC, invitations, password reset,
the account page (language, two-step sign-in, sign out everywhere)."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter
from starlette.responses import Response

from hub.auth import passwords, sessions, signin, users
from hub.auth.oidc import OidcClient
from hub.auth.policy import OidcRefused
from hub.auth.settings import AuthSettings
from hub.errors import InvalidInput, NotFound
from hub.models import User
from hub.models.enums import AuditAction, UserTokenPurpose
from hub.notify.email import EmailNotConfigured
from hub.web import i18n, mail
from hub.web.pages import Ctx, Form, PageRoute, redirect, render
from hub.web.security import (
    KNOWN,
    KNOWN_SECONDS,
    LOCALE,
    MFA,
    MFA_SECONDS,
    OIDC,
    OIDC_SECONDS,
    PRE,
    SESSION,
    PageContext,
    client_address,
    signer,
    unsign,
)

log = logging.getLogger("hub.web")
router = APIRouter(route_class=PageRoute, include_in_schema=False)


def home_of(ctx: PageContext) -> str:
    principal = ctx.principal
    if principal is None:
        return "/sign-in"
    return "/console" if principal.is_staff else "/portal"


def _safe_next(value: str | None) -> str | None:
    """Only a path of this site (never //host or a scheme): no open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else None


@router.get("/")
async def index(ctx: Ctx) -> Response:
    if ctx.user is None:
        return sign_in_page(ctx)
    return redirect(ctx, home_of(ctx))


def sign_in_page(
    ctx: PageContext, *, error: str | None = None, email: str = "", status: int = 200
) -> Response:
    return render(
        ctx,
        "auth/sign_in.html",
        status=status,
        error=error,
        email=email,
        next=_safe_next(ctx.request.query_params.get("next")) or "",
    )


@router.get("/sign-in")
async def sign_in_form(ctx: Ctx) -> Response:
    if ctx.user is not None:
        return redirect(ctx, _safe_next(ctx.request.query_params.get("next")) or home_of(ctx))
    return sign_in_page(ctx)


async def _begin_session(ctx: PageContext, user: User, method: str) -> None:
    """A new session (rotation: whatever cookie came in is replaced, and that session
    ends), the known-device mark for the throttle, and the pre-session anchor dropped."""
    runtime = ctx.runtime
    now = runtime.now()
    async with runtime.unit_of_work() as session:
        old = unsign(runtime, "session", ctx.request.cookies.get(SESSION))
        if isinstance(old, str):
            await sessions.end(session, old, now)
        fresh = await session.get(User, user.id)
        assert fresh is not None
        started = await sessions.start(
            session,
            fresh,
            method=method,
            now=now,
            settings=runtime.settings.auth,
            address=client_address(ctx.request),
            user_agent=ctx.request.headers.get("user-agent"),
        )
    ctx.set_cookie(SESSION, signer(runtime, "session").dumps(started.token))
    ctx.set_cookie(KNOWN, signer(runtime, "known").dumps(str(user.id)), KNOWN_SECONDS)
    ctx.clear.extend([PRE, MFA, OIDC])


def _retry_text(ctx: PageContext, until: datetime | None) -> str:
    minutes = max(1, int(((until or ctx.runtime.now()) - ctx.runtime.now()).total_seconds() + 59) // 60)
    return ctx.gettext("Too many failed attempts. Try again in %(minutes)s minutes.") % {"minutes": minutes}


@router.post("/sign-in")
async def sign_in(ctx: Ctx, form: Form) -> Response:
    runtime = ctx.runtime
    email = form.get("email", "").strip()[:320]
    password = form.get("password", "")
    target = _safe_next(form.get("next"))
    known_id = unsign(runtime, "known", ctx.request.cookies.get(KNOWN), KNOWN_SECONDS)
    async with runtime.unit_of_work() as session:
        found = await users.by_email(session, email) if email else None
        known = found is not None and known_id == str(found.id)
        attempt = await signin.with_password(
            session,
            email,
            password,
            address=client_address(ctx.request),
            known_device=known,
            now=runtime.now(),
            settings=runtime.settings.auth,
        )
    if attempt.outcome is signin.Outcome.locked:
        return sign_in_page(ctx, error=_retry_text(ctx, attempt.retry_at), email=email, status=429)
    if attempt.outcome is signin.Outcome.refused or attempt.user is None:
        return sign_in_page(ctx, error=ctx.gettext("Wrong e-mail or password."), email=email, status=401)
    if attempt.outcome is signin.Outcome.needs_totp:
        payload = {"u": str(attempt.user.id), "n": target or ""}
        ctx.set_cookie(MFA, signer(runtime, "mfa").dumps(payload), MFA_SECONDS)
        return redirect(ctx, "/sign-in/code")
    await _begin_session(ctx, attempt.user, "password")
    return redirect(
        ctx, target or ("/console" if attempt.user.role.value in ("admin", "technician") else "/portal")
    )


def _pending_mfa(ctx: PageContext) -> dict[str, Any] | None:
    data = unsign(ctx.runtime, "mfa", ctx.request.cookies.get(MFA), MFA_SECONDS)
    return data if isinstance(data, dict) and isinstance(data.get("u"), str) else None


@router.get("/sign-in/code")
async def totp_form(ctx: Ctx) -> Response:
    if _pending_mfa(ctx) is None:
        return redirect(ctx, "/sign-in")
    return render(ctx, "auth/totp.html", error=None)


@router.post("/sign-in/code")
async def totp_submit(ctx: Ctx, form: Form) -> Response:
    import uuid

    pending = _pending_mfa(ctx)
    if pending is None:
        return redirect(ctx, "/sign-in")
    runtime = ctx.runtime
    async with runtime.unit_of_work() as session:
        user = await session.get(User, uuid.UUID(pending["u"]))
        if user is None or not user.active:
            raise NotFound("no such user")
        attempt = await signin.with_totp(
            session,
            user,
            form.get("code", ""),
            address=client_address(ctx.request),
            now=runtime.now(),
            settings=runtime.settings.auth,
        )
    if attempt.outcome is signin.Outcome.locked:
        return render(ctx, "auth/totp.html", status=429, error=_retry_text(ctx, attempt.retry_at))
    if attempt.outcome is not signin.Outcome.signed_in or attempt.user is None:
        return render(
            ctx, "auth/totp.html", status=401, error=ctx.gettext("That code is not right. Try the next one.")
        )
    await _begin_session(ctx, attempt.user, "password+totp")
    return redirect(ctx, _safe_next(pending.get("n")) or home_of_user(attempt.user))


def home_of_user(user: User) -> str:
    return "/console" if user.role.value in ("admin", "technician") else "/portal"


@router.post("/sign-out")
async def sign_out(ctx: Ctx, form: Form) -> Response:
    runtime = ctx.runtime
    token = unsign(runtime, "session", ctx.request.cookies.get(SESSION))
    if isinstance(token, str):
        async with runtime.unit_of_work() as session:
            row = await sessions.end(session, token, runtime.now())
            if row is not None and ctx.user is not None:
                _audit_sign_out(session, ctx.user, everywhere=False)
    ctx.clear.append(SESSION)
    return redirect(ctx, "/sign-in?notice=signed_out")


def _audit_sign_out(session: Any, user: User, *, everywhere: bool, ended: int = 1) -> None:
    from hub.audit.service import record

    record(
        session,
        sessions.principal_of(user),
        AuditAction.sign_out,
        subject_type="user",
        subject_id=user.id,
        client_id=user.client_id,
        meta={"everywhere": everywhere, "sessions_ended": ended},
    )


@router.post("/account/sign-out-everywhere")
async def sign_out_everywhere(ctx: Ctx, form: Form) -> Response:
    ctx.require_user()
    assert ctx.user is not None
    runtime = ctx.runtime
    async with runtime.unit_of_work() as session:
        ended = await sessions.end_all(session, ctx.user.id, runtime.now())
        _audit_sign_out(session, ctx.user, everywhere=True, ended=ended)
    ctx.clear.append(SESSION)
    return redirect(ctx, "/sign-in?notice=signed_out_everywhere")


# --- language -------------------------------------------------------------------------------


@router.post("/language")
async def choose_language(ctx: Ctx, form: Form) -> Response:
    choice = form.get("locale")
    if choice not in i18n.LOCALES:
        raise InvalidInput("locale", f"must be one of {', '.join(i18n.LOCALES)}")
    if ctx.user is not None:
        async with ctx.runtime.unit_of_work() as session:
            user = await session.get(User, ctx.user.id)
            assert user is not None
            users.set_locale(user, choice)
    ctx.set_cookie(LOCALE, choice, 365 * 24 * 3600)
    ctx.locale = choice
    return redirect(ctx, _safe_next(form.get("next")) or home_of(ctx))


# --- OIDC -----------------------------------------------------------------------------------


def _oidc(ctx: PageContext) -> OidcClient:
    settings: AuthSettings = ctx.runtime.settings.auth
    if not settings.oidc_enabled:
        raise NotFound("single sign-on is not configured")
    state = ctx.request.app.state.web
    if state.oidc is None or state.oidc.settings != settings:
        state.oidc = OidcClient(settings)
    return state.oidc  # type: ignore[no-any-return]


def _callback_url(ctx: PageContext) -> str:
    return mail.link(ctx.runtime, "/auth/oidc/callback")


@router.get("/auth/oidc/start")
async def oidc_start(ctx: Ctx) -> Response:
    client = _oidc(ctx)
    ctx.request.scope["session"] = {}
    response = await client.redirect(ctx.request, _callback_url(ctx))
    ctx.set_cookie(OIDC, signer(ctx.runtime, "oidc").dumps(ctx.request.scope["session"]), OIDC_SECONDS)
    return ctx.apply(response)


@router.get("/auth/oidc/callback")
async def oidc_callback(ctx: Ctx) -> Response:
    client = _oidc(ctx)
    runtime = ctx.runtime
    carried = unsign(runtime, "oidc", ctx.request.cookies.get(OIDC), OIDC_SECONDS)
    ctx.request.scope["session"] = carried if isinstance(carried, dict) else {}
    ctx.clear.append(OIDC)
    address = client_address(ctx.request)
    claims: dict[str, Any] = {}
    try:
        identity, claims = await client.identity(ctx.request)
        async with runtime.unit_of_work() as session:
            user = await signin.with_oidc(session, identity, address=address, settings=runtime.settings.auth)
    except OidcRefused as refused:
        async with runtime.unit_of_work() as session:
            signin.refused_claims(session, claims, refused, address)
        return sign_in_page(ctx, error=str(refused), status=403)
    await _begin_session(ctx, user, "oidc")
    return redirect(ctx, home_of_user(user))


# --- invitations and password resets ------------------------------------------------------


async def _link_page(
    ctx: PageContext, token: str, purpose: UserTokenPurpose, error: str | None = None, status: int = 200
) -> Response:
    async with ctx.runtime.unit_of_work(write=False) as session:
        user = await users.link_user(session, token, purpose, ctx.runtime.now())
    return render(
        ctx,
        "auth/set_password.html",
        status=status,
        error=error,
        invited=purpose is UserTokenPurpose.invite,
        email=user.email,
        min_length=passwords.MIN_LENGTH,
    )


@router.get("/invite/{token}")
async def invite_form(token: str, ctx: Ctx) -> Response:
    return await _link_page(ctx, token, UserTokenPurpose.invite)


@router.get("/reset/{token}")
async def reset_form(token: str, ctx: Ctx) -> Response:
    return await _link_page(ctx, token, UserTokenPurpose.reset)


async def _spend(ctx: PageContext, token: str, purpose: UserTokenPurpose, form: dict[str, str]) -> Response:
    password = form.get("password", "")
    if password != form.get("password_again", ""):
        return await _link_page(ctx, token, purpose, ctx.gettext("The two passwords differ."), 422)
    try:
        async with ctx.runtime.unit_of_work() as session:
            user = await users.spend_link(session, token, purpose, password, ctx.runtime.now())
    except InvalidInput as bad:
        message = ctx.gettext("The password %(reason)s.") % {
            "reason": ctx.gettext(bad.errors[0]["message"] if bad.errors else bad.detail)
        }
        return await _link_page(ctx, token, purpose, message, 422)
    await _begin_session(ctx, user, "password")
    return redirect(ctx, home_of_user(user) + "?notice=password_set")


@router.post("/invite/{token}")
async def invite_accept(token: str, ctx: Ctx, form: Form) -> Response:
    return await _spend(ctx, token, UserTokenPurpose.invite, form)


@router.post("/reset/{token}")
async def reset_submit(token: str, ctx: Ctx, form: Form) -> Response:
    return await _spend(ctx, token, UserTokenPurpose.reset, form)


@router.get("/forgot")
async def forgot_form(ctx: Ctx) -> Response:
    return render(ctx, "auth/forgot.html", sent=False)


@router.post("/forgot")
async def forgot_submit(ctx: Ctx, form: Form) -> Response:
    """Always the same answer, whether the address has an account or not."""
    runtime = ctx.runtime
    email = form.get("email", "").strip()
    async with runtime.unit_of_work() as session:
        user = await users.by_email(session, email) if email else None
        token = None
        if user is not None and user.active:
            token = await users.issue_link(
                session,
                user,
                UserTokenPurpose.reset,
                now=runtime.now(),
                settings=runtime.settings.auth,
                created_by="self-service reset",
            )
    if user is not None and token is not None:
        await send_or_log(runtime, user, "reset", f"/reset/{token}")
    return render(ctx, "auth/forgot.html", sent=True)


async def send_or_log(runtime: Any, user: User, purpose: str, path: str) -> bool:
    """Send the link; a mail failure is logged (without the link) and reported as False."""
    try:
        await mail.send_link(runtime, user, purpose=purpose, url=mail.link(runtime, path))
    except (EmailNotConfigured, OSError, smtplib.SMTPException) as exc:
        log.warning("could not send the %s e-mail to user %s: %s", purpose, user.id, type(exc).__name__)
        return False
    return True


# --- the account page ----------------------------------------------------------------------


@router.get("/account")
async def account(ctx: Ctx) -> Response:
    ctx.require_user()
    assert ctx.user is not None
    async with ctx.runtime.unit_of_work(write=False) as session:
        live = await sessions.live_sessions(session, ctx.user.id, ctx.runtime.now())
    return render(
        ctx, "auth/account.html", sessions=live, current_session=ctx.session_id, enrolment=None, error=None
    )


@router.post("/account/totp")
async def totp_begin(ctx: Ctx, form: Form) -> Response:
    ctx.require_user()
    assert ctx.user is not None
    async with ctx.runtime.unit_of_work() as session:
        user = await session.get(User, ctx.user.id)
        assert user is not None
        enrolment = users.begin_totp(session, user)
        live = await sessions.live_sessions(session, user.id, ctx.runtime.now())
    return render(
        ctx,
        "auth/account.html",
        sessions=live,
        current_session=ctx.session_id,
        enrolment=enrolment,
        error=None,
    )


@router.post("/account/totp/confirm")
async def totp_confirm(ctx: Ctx, form: Form) -> Response:
    ctx.require_user()
    assert ctx.user is not None
    try:
        async with ctx.runtime.unit_of_work() as session:
            user = await session.get(User, ctx.user.id)
            assert user is not None
            users.confirm_totp(session, user, form.get("code", ""), ctx.runtime.now())
    except InvalidInput:
        async with ctx.runtime.unit_of_work(write=False) as session:
            live = await sessions.live_sessions(session, ctx.user.id, ctx.runtime.now())
        return render(
            ctx,
            "auth/account.html",
            status=422,
            sessions=live,
            current_session=ctx.session_id,
            enrolment=None,
            error=ctx.gettext("The code did not match. Start again."),
        )
    return redirect(ctx, "/account?notice=totp_on")


@router.post("/account/totp/off")
async def totp_off(ctx: Ctx, form: Form) -> Response:
    principal = ctx.require_user()
    assert ctx.user is not None
    async with ctx.runtime.unit_of_work() as session:
        user = await session.get(User, ctx.user.id)
        assert user is not None
        users.disable_totp(session, principal, user)
    return redirect(ctx, "/account?notice=totp_off")
