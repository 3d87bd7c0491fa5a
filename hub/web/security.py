"""Cookies of the web pages and the request's page context: who is signed in (a
`Principal` made exactly like a token's), the language, the CSRF token.

Cookies: `hub_session` (the session token, signed; HttpOnly, SameSite=Lax, Secure when
the public URL is https), `hub_pre` (a random anchor for the CSRF token of the forms
shown before signing in), `hub_mfa` (who passed the password step, 5 minutes),
`hub_oidc` (authlib's state, nonce and PKCE verifier, 10 minutes), `hub_known` (this
browser signed in to that account before: exempts it from the account-wide sign-in
throttle), `hub_locale` (the language picked before signing in).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import Response

from hub.auth import csrf, sessions
from hub.auth.principal import Principal
from hub.db import session_scope
from hub.errors import HubError
from hub.models import User
from hub.runtime import HubRuntime
from hub.web import i18n

log = logging.getLogger("hub.web")

SESSION = "hub_session"
PRE = "hub_pre"
MFA = "hub_mfa"
OIDC = "hub_oidc"
KNOWN = "hub_known"
LOCALE = "hub_locale"

MFA_SECONDS = 300
OIDC_SECONDS = 600
KNOWN_SECONDS = 90 * 24 * 3600


class SignInRequired(HubError):
    status = 401
    title = "Sign-in required"
    type_slug = "sign-in-required"


class CsrfRefused(HubError):
    status = 403
    title = "Form refused"
    type_slug = "csrf"


def signer(runtime: HubRuntime, purpose: str) -> URLSafeTimedSerializer:
    # itsdangerous verifies with every key and signs with the last: newest key last.
    keys = list(reversed(runtime.secrets.derive_keys(f"hub.web.cookie.{purpose}")))
    return URLSafeTimedSerializer(keys, salt=purpose)


def unsign(runtime: HubRuntime, purpose: str, value: str | None, max_age: int | None = None) -> Any:
    if not value:
        return None
    try:
        return signer(runtime, purpose).loads(value, max_age=max_age)
    except BadSignature:
        return None


def secure_cookies(runtime: HubRuntime) -> bool:
    return runtime.settings.notify.public_url.lower().startswith("https://")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@dataclass
class PageContext:
    """What every page knows about its request."""

    request: Request
    runtime: HubRuntime
    locale: str
    user: User | None = None
    session_id: Any = None
    anchor: str | None = None  # what the CSRF token is bound to
    cookies: list[tuple[str, str, int | None]] = field(default_factory=list)
    clear: list[str] = field(default_factory=list)

    @property
    def principal(self) -> Principal | None:
        return sessions.principal_of(self.user) if self.user is not None else None

    def require_user(self) -> Principal:
        principal = self.principal
        if principal is None:
            raise SignInRequired("please sign in")
        return principal

    @property
    def csrf_token(self) -> str:
        key = self.runtime.secrets.derive_keys("hub.web.csrf")[0]
        return csrf.token_for(key, self.anchor or "")

    def csrf_ok(self, token: str | None) -> bool:
        return csrf.is_valid(self.runtime.secrets.derive_keys("hub.web.csrf"), self.anchor, token)

    def set_cookie(self, name: str, value: str, max_age: int | None = None) -> None:
        self.cookies.append((name, value, max_age))

    def apply(self, response: Response) -> Response:
        secure = secure_cookies(self.runtime)
        for name in self.clear:
            response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="lax")
        for name, value, max_age in self.cookies:
            response.set_cookie(
                name, value, max_age=max_age, path="/", secure=secure, httponly=True, samesite="lax"
            )
        return response

    def gettext(self, message: str) -> str:
        templates = self.request.app.state.web.templates
        return str(templates.gettext(self.locale, message))


async def page_context(request: Request) -> PageContext:
    """The signed-in user (if any) from the session cookie, checked in a short session of
    its own before the page's unit of work, like a token."""
    runtime: HubRuntime = request.app.state.runtime
    now = runtime.now()
    user: User | None = None
    session_id = None
    token = unsign(runtime, "session", request.cookies.get(SESSION))
    stale = False
    if isinstance(token, str):
        async with runtime.sessionmaker() as session:
            found = await sessions.current(session, token, now, runtime.settings.auth)
        if found is not None:
            user, session_id, stale = found.user, found.row.id, found.stale
    if stale and session_id is not None:
        try:
            async with session_scope(runtime.sessionmaker) as session:
                await sessions.touch(session, session_id, now)
        except OperationalError as exc:  # a busy database must not fail the page
            log.warning("could not record session activity: %s", type(exc).__name__)
    locale = (
        (user.locale if user is not None else None)
        or _known_locale(request.cookies.get(LOCALE))
        or i18n.negotiate(request.headers.get("accept-language"))
    )
    context = PageContext(request=request, runtime=runtime, locale=locale, user=user, session_id=session_id)
    request.state.page = context  # the error pages render in the same language
    if user is not None and isinstance(token, str):
        context.anchor = token
    else:
        pre = request.cookies.get(PRE)
        if not pre or len(pre) < 32:
            pre = secrets.token_urlsafe(32)
            context.set_cookie(PRE, pre)
        context.anchor = pre
        if token is not None:
            context.clear.append(SESSION)  # a dead session's cookie goes
    return context


def _known_locale(value: str | None) -> str | None:
    return value if value in i18n.LOCALES else None
