"""How a page answers: rendering with the common context, redirects that keep the
cookies, CSRF on every form, and errors as HTML pages (the API's problem+json is for
programs). A page raises the same `HubError`s as the services: a client user asking for
another client's object gets the same 404 page as for a missing one."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hub.auth import csrf
from hub.errors import Forbidden, HubError, NotFound
from hub.web.security import CsrfRefused, PageContext, SignInRequired, page_context

log = logging.getLogger("hub.web")

Ctx = Annotated[PageContext, Depends(page_context)]


# The pages load only the hub's own stylesheet and scripts (no inline script or style: the
# templates have none, htmx is told not to add its indicator style), post forms only to the
# hub, and are never framed. Every other response keeps hub.api.headers' `default-src 'none'`.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(ctx: PageContext, template: str, status: int = 200, **data: Any) -> HTMLResponse:
    templates = ctx.request.app.state.web.templates
    principal = ctx.principal
    context = {
        "user": ctx.user,
        "principal": principal,
        "is_staff": bool(principal and principal.is_staff),
        "is_admin": bool(principal and principal.role.value == "admin"),
        "csrf_token": ctx.csrf_token,
        "csrf_field": csrf.FIELD,
        "path": ctx.request.url.path,
        "notice": ctx.request.query_params.get("notice"),
        "oidc_label": ctx.runtime.settings.auth.oidc_label
        if ctx.runtime.settings.auth.oidc_enabled
        else None,
        **data,
    }
    html = templates.render(ctx.locale, template, context)
    response = HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": PAGE_CSP})
    return ctx.apply(response)  # type: ignore[return-value]


def redirect(ctx: PageContext, url: str) -> Response:
    """303 after a form post; an htmx request follows it with HX-Redirect instead."""
    if is_htmx(ctx.request):
        return ctx.apply(Response(status_code=204, headers={"HX-Redirect": url}))
    return ctx.apply(RedirectResponse(url, status_code=303))


async def checked_form(request: Request, ctx: Ctx) -> dict[str, str]:
    """The posted form, once its CSRF token (form field or X-CSRF-Token header) is
    good for this browser."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    token = values.get(csrf.FIELD) or request.headers.get(csrf.HEADER)
    if not ctx.csrf_ok(token):
        raise CsrfRefused("this form expired or came from another site; reload the page and try again")
    return values


Form = Annotated[dict[str, str], Depends(checked_form)]

_ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible now",
    422: "Invalid input",
}


def error_page(request: Request, exc: HubError) -> Response:
    from hub.web.security import PageContext as _Ctx

    runtime = request.app.state.runtime
    ctx = getattr(request.state, "page", None) or _Ctx(request=request, runtime=runtime, locale="en")
    if isinstance(exc, SignInRequired):
        target = f"/sign-in?next={quote(request.url.path)}"
        if is_htmx(request):
            return ctx.apply(Response(status_code=204, headers={"HX-Redirect": target}))
        return ctx.apply(RedirectResponse(target, status_code=303))
    status = exc.status if exc.status in _ERROR_TITLES else 400
    if isinstance(exc, NotFound):
        detail = "There is nothing here, or it is not yours to see."
    elif isinstance(exc, Forbidden):
        detail = "Your role does not allow this."
    else:
        detail = exc.detail
    return render(ctx, "error.html", status=status, title=_ERROR_TITLES[status], detail=detail)


class PageRoute(APIRoute):
    """Routes of the web pages: a HubError becomes an HTML page (or a sign-in redirect)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except HubError as exc:
                return error_page(request, exc)

        return page_handler
