"""The clients' portal (client users): "who do we pay for what" with its charts, the
renewals waiting for the client's approval (approve or decline, through the same
renewal service as the API; an approved renewal is then ordered by the renewal engine),
the health of what the MSP checks in plain words, the vendor cases handled for the
client (each with its client-visible timeline, `/portal/cases/{id}`), and its calendar
link. Only the client-safe projection (`overview`)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from markupsafe import Markup
from starlette.responses import Response

from hub.auth.principal import Principal
from hub.check.enums import CheckStatus
from hub.errors import InvalidInput, NotFound
from hub.models.enums import Role
from hub.notify.service import create_own_feed
from hub.renewal.service import decide_as_client
from hub.web import i18n
from hub.web.mail import link
from hub.web.pages import Ctx, Form, PageRoute, redirect, render
from hub.web.portal import charts
from hub.web.portal.overview import (
    CASE_WORDS,
    CHECK_WORDS,
    EVENT_WORDS,
    OTHER_CHECK,
    PAYS_SHORT,
    PAYS_WORDS,
    PERIOD_WORDS,
    RENEWS_WORDS,
    STATUS_WORDS,
    Overview,
    case_page,
    overview,
)
from hub.web.security import PageContext

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAYS_WORDS_KEYED = {f"pays:{k}": v for k, v in PAYS_WORDS.items()}
RENEWS_WORDS_KEYED = {f"renews:{k}": v for k, v in RENEWS_WORDS.items()}

PAYS_TONES = {"vendor": "a", "msp": "b", "included": "c"}


def client_user(ctx: PageContext) -> Principal:
    """The portal is for client users; staff (and anyone else) get the 404 page."""
    principal = ctx.require_user()
    if principal.client_id is None:
        raise NotFound("the portal is for client users")
    return principal


def _charts(ctx: PageContext, view: Overview) -> dict[str, Markup]:
    fmt = i18n.Formats(ctx.locale)
    _ = ctx.gettext
    cur = view.currency

    def money(value: Decimal) -> str:
        return fmt.money(value, cur)

    category = [charts.Bar(_(k), v, money(v)) for k, v in view.by_category.items()]
    payers = [charts.Bar(_(PAYS_SHORT[k]), v, money(v), PAYS_TONES[k]) for k, v in view.by_pays.items()]
    months = [charts.Bar(fmt.date(m, "MMM yy"), v, money(v), "d") for m, v in view.months]
    top = max((v for _m, v in view.months), default=Decimal(0))
    return {
        "category": charts.bars("chart-category", _("What you pay per month, by category"), category),
        "payer": charts.bars("chart-payer", _("What you pay per month, by who is paid"), payers),
        "months": charts.columns(
            "chart-months", _("Renewals in the next 12 months, by month"), months, money(top)
        ),
    }


async def _page(ctx: PageContext, principal: Principal, **extra: Any) -> Response:
    async with ctx.runtime.unit_of_work(write=False) as session:
        view = await overview(
            session,
            principal,
            ctx.runtime.today(),
            ctx.runtime.now(),
            getattr(ctx.request.app.state, "spend_cache", None),
        )
    _ = ctx.gettext
    return render(
        ctx,
        "portal/home.html",
        # Words repeated on every row, translated once per page rather than per row.
        words={k: _(v) for k, v in {**PAYS_WORDS_KEYED, **RENEWS_WORDS_KEYED}.items()}
        | {c: _(c) for c in {line["category"] for line in view.lines}},
        client=view.client,
        view=view,
        charts=_charts(ctx, view),
        may_decide=principal.role is Role.client_admin,
        pays_words=PAYS_WORDS,
        renews_words=RENEWS_WORDS,
        check_words=CHECK_WORDS,
        period_words=PERIOD_WORDS,
        case_words=CASE_WORDS,
        other_check=OTHER_CHECK,
        duration=_duration(ctx),
        status_words=STATUS_WORDS,
        statuses=CheckStatus,
        **extra,
    )


def _duration(ctx: PageContext) -> Any:
    """Minutes as "1 h 05 min" / "25 min" (the same in both languages)."""
    _ = ctx.gettext

    def duration(minutes: int | None) -> str:
        if minutes is None:
            return ""
        hours, rest = divmod(minutes, 60)
        if not hours:
            return _("%(m)s min") % {"m": rest}
        return _("%(h)s h %(m)02d min") % {"h": hours, "m": rest}

    return duration


@router.get("/portal")
async def portal_home(ctx: Ctx) -> Response:
    return await _page(ctx, client_user(ctx))


@router.get("/portal/cases/{case_id}")
async def portal_case(case_id: uuid.UUID, ctx: Ctx) -> Response:
    """One vendor case: the client-visible timeline (who contacted which vendor, when and
    why), the vendor's first response against its target, the time charged. Another
    client's case is the 404 page."""
    principal = client_user(ctx)
    async with ctx.runtime.unit_of_work(write=False) as session:
        page = await case_page(session, principal, case_id)
    return render(
        ctx,
        "portal/case.html",
        page=page,
        case_words=CASE_WORDS,
        event_words=EVENT_WORDS,
        duration=_duration(ctx),
    )


def _version(form: dict[str, str]) -> int:
    try:
        return int(form.get("version", ""))
    except ValueError:
        raise InvalidInput("version", "must be the renewal's version as shown") from None


async def _decide(
    ctx: PageContext, renewal_id: uuid.UUID, form: dict[str, str], *, approve: bool
) -> Response:
    principal = client_user(ctx)
    version = _version(form)
    async with ctx.runtime.unit_of_work() as session:
        await decide_as_client(
            session, principal, renewal_id, version=version, approve=approve, now=ctx.runtime.now()
        )
    return redirect(ctx, f"/portal?notice=renewal_{'approved' if approve else 'declined'}#renewals")


@router.post("/portal/renewals/{renewal_id}/approve")
async def approve(renewal_id: uuid.UUID, ctx: Ctx, form: Form) -> Response:
    return await _decide(ctx, renewal_id, form, approve=True)


@router.post("/portal/renewals/{renewal_id}/decline")
async def decline(renewal_id: uuid.UUID, ctx: Ctx, form: Form) -> Response:
    return await _decide(ctx, renewal_id, form, approve=False)


@router.post("/portal/calendar")
async def new_calendar_link(ctx: Ctx, form: Form) -> Response:
    """A new calendar link (the previous one this person made stops working); its URL
    is on this answer only (only its hash is kept)."""
    principal = client_user(ctx)
    async with ctx.runtime.unit_of_work() as session:
        _feed, token = await create_own_feed(session, principal)
    response = await _page(ctx, principal, feed_url=link(ctx.runtime, f"/api/v1/calendar/{token}.ics"))
    response.headers["Cache-Control"] = "no-store"  # the page carries a capability URL
    return response
