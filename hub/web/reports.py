"""The reports as files and pages: the client's statement ("who do we pay for what") as a
PDF and a CSV, and the quarterly business review as a console page and a PDF.

The figures come from `hub.report.statement.statement` (the same builder as the portal
page) and `hub.report.review.review`; this module only words them, per the reader's
language (the signed-in user's; on the API `?locale=`, else Accept-Language, else the
client's), and turns the HTML into a PDF through `hub.report.pdf` (nothing fetched).

- portal: `/portal/statement.pdf|.csv`, the signed-in client user's own client only;
- console: `/console/clients/{id}/statement.pdf|.csv`, `/console/clients/{id}/review`
  (`?quarter=2026Q4`) and `review.pdf`, staff only;
- API (`api_router`): `GET /clients/{id}/statement?format=pdf|csv` (a client user: its
  own client, else 404), `GET /clients/{id}/review?quarter=` (staff only)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from markupsafe import Markup
from starlette.responses import Response

from hub.auth.principal import Principal
from hub.deps import PrincipalDep, RuntimeDep
from hub.report.pdf import render_pdf
from hub.report.review import Quarter, Review, parse_quarter, quarter_of, review
from hub.report.statement import PAYS_ORDER, Statement, statement, statement_csv
from hub.web import i18n
from hub.web.console.access import staff
from hub.web.pages import Ctx, PageRoute, render
from hub.web.portal import PAYS_TONES, client_user
from hub.web.portal import charts as svg
from hub.web.portal.overview import PAYS_SHORT, PAYS_WORDS, RENEWS_WORDS

router = APIRouter(route_class=PageRoute, include_in_schema=False)
api_router = APIRouter(tags=["reports"])

PDF = "application/pdf"
CSV = "text/csv; charset=utf-8"
QUARTERS_OFFERED = 8


def _templates(request: Request) -> Any:
    return request.app.state.web.templates


def _file(body: bytes | str, media_type: str, name: str) -> Response:
    # A statement is the client's business: not kept by shared caches.
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


# -- the statement -------------------------------------------------------------------------


# WeasyPrint draws an inline SVG with the SVG's own styling only (the page's stylesheet
# does not reach into it): each chart of a PDF carries hub.css's colours as presentation
# attributes of its shapes, and a style for its text.
PRINT_FILLS = {"a": "#1f5fbf", "b": "#6b3fa0", "c": "#1e7b34", "d": "#0f6e7a"}
SVG_PRINT_STYLE = Markup(
    "<style>text{fill:#1d1d1f}.chart-tick,.chart-scale{fill:#555;font-size:14px}"
    ".chart-axis{stroke:#bbb;stroke-width:1}</style>"
)


def for_print(chart: Markup) -> Markup:
    """The chart with its colours inside it."""
    head, sep, rest = str(chart).partition(">")
    for tone, colour in PRINT_FILLS.items():
        rest = rest.replace(f'class="chart-{tone}"', f'class="chart-{tone}" fill="{colour}"')
    rest = rest.replace('class="chart-axis"', 'class="chart-axis" stroke="#bbb"')
    # The chart is Markup already escaped by hub.web.portal.charts; only constants were added.
    return Markup(head + sep) + SVG_PRINT_STYLE + Markup(rest)  # noqa: S704


def _statement_charts(templates: Any, locale: str, view: Statement) -> dict[str, Markup]:
    fmt = i18n.Formats(locale)

    def _(message: str) -> str:
        return str(templates.gettext(locale, message))

    def money(value: Decimal) -> str:
        return fmt.money(value, view.currency)

    category = [svg.Bar(_(k), v, money(v)) for k, v in view.by_category.items()]
    payers = [svg.Bar(_(PAYS_SHORT[k]), v, money(v), PAYS_TONES[k]) for k, v in view.by_pays.items()]
    months = [svg.Bar(fmt.date(m, "MMM yy"), v, money(v), "d") for m, v in view.months]
    top = max((v for _m, v in view.months), default=Decimal(0))
    return {
        "category": for_print(svg.bars("chart-category", _("What you pay per month, by category"), category)),
        "payer": for_print(svg.bars("chart-payer", _("What you pay per month, by who is paid"), payers)),
        "months": for_print(
            svg.columns("chart-months", _("Renewals in the next 12 months, by month"), months, money(top))
        ),
    }


def statement_html(templates: Any, locale: str, view: Statement) -> str:
    def _(message: str) -> str:
        return str(templates.gettext(locale, message))

    words = {f"pays:{k}": _(v) for k, v in PAYS_WORDS.items()}
    words |= {f"renews:{k}": _(v) for k, v in RENEWS_WORDS.items()}
    words |= {c: _(c) for c in {line["category"] for line in view.lines}}
    return str(
        templates.render(
            locale,
            "reports/statement.html",
            {
                "view": view,
                "client": view.client,
                "words": words,
                "charts": _statement_charts(templates, locale, view),
                "pays_order": PAYS_ORDER,
            },
        )
    )


async def _statement_file(
    request: Request, runtime: Any, principal: Principal, client_id: uuid.UUID, locale: str, as_csv: bool
) -> Response:
    """Read in a short read-only transaction, render with none open (a long statement
    takes WeasyPrint seconds: no transaction waits on it)."""
    day = runtime.today()
    async with runtime.unit_of_work(write=False) as session:
        view = await statement(
            session, principal, client_id, day, getattr(request.app.state, "spend_cache", None)
        )
    name = f"statement-{view.client.slug}-{day.isoformat()}"
    if as_csv:
        return _file(statement_csv(view, locale), CSV, f"{name}.csv")
    pdf = await render_pdf(statement_html(_templates(request), locale, view))
    return _file(pdf, PDF, f"{name}.pdf")


def _own_client(principal: Principal) -> uuid.UUID:
    assert principal.client_id is not None  # client_user() refused anyone else
    return principal.client_id


@router.get("/portal/statement.pdf")
async def portal_statement_pdf(ctx: Ctx) -> Response:
    principal = client_user(ctx)
    response = await _statement_file(
        ctx.request, ctx.runtime, principal, _own_client(principal), ctx.locale, as_csv=False
    )
    return ctx.apply(response)


@router.get("/portal/statement.csv")
async def portal_statement_csv(ctx: Ctx) -> Response:
    principal = client_user(ctx)
    response = await _statement_file(
        ctx.request, ctx.runtime, principal, _own_client(principal), ctx.locale, as_csv=True
    )
    return ctx.apply(response)


@router.get("/console/clients/{client_id}/statement.pdf")
async def console_statement_pdf(client_id: uuid.UUID, ctx: Ctx) -> Response:
    """The statement exactly as the client's users get it (the client-safe projection)."""
    principal = staff(ctx)
    response = await _statement_file(ctx.request, ctx.runtime, principal, client_id, ctx.locale, as_csv=False)
    return ctx.apply(response)


@router.get("/console/clients/{client_id}/statement.csv")
async def console_statement_csv(client_id: uuid.UUID, ctx: Ctx) -> Response:
    principal = staff(ctx)
    response = await _statement_file(ctx.request, ctx.runtime, principal, client_id, ctx.locale, as_csv=True)
    return ctx.apply(response)


# -- the quarterly business review ---------------------------------------------------------


def _advice(templates: Any, locale: str, found: Review) -> list[tuple[str, str]]:
    """Each recommendation in the reader's words, its dates formatted for the locale."""
    fmt = i18n.Formats(locale)
    out = []
    for r in found.recommendations:
        params = {k: fmt.date(v) if isinstance(v, date) else v for k, v in r.params.items()}
        if "what" in params:
            params["what"] = templates.gettext(locale, str(params["what"]))
        text = str(templates.gettext(locale, r.message)) % params
        out.append((r.severity, text[:1].upper() + text[1:]))
    return out


def _review_context(templates: Any, locale: str, found: Review, today: date) -> dict[str, Any]:
    current = quarter_of(today)
    offered = [current]
    while len(offered) < QUARTERS_OFFERED:
        offered.append(offered[-1].previous)
    return {
        "review": found,
        "client": found.client,
        "advice": _advice(templates, locale, found),
        "quarters": offered,
        "renews_words": RENEWS_WORDS,
    }


async def _review(
    runtime: Any, principal: Principal, client_id: uuid.UUID, quarter: str | None
) -> tuple[Review, date]:
    today = runtime.today()
    chosen: Quarter = parse_quarter(quarter, today)
    async with runtime.unit_of_work(write=False) as session:
        found = await review(session, principal, client_id, chosen, today, runtime.now())
    return found, today


async def _review_pdf(request: Request, locale: str, found: Review, today: date) -> Response:
    templates = _templates(request)
    html = templates.render(
        locale, "reports/review_pdf.html", _review_context(templates, locale, found, today)
    )
    pdf = await render_pdf(str(html))
    return _file(pdf, PDF, f"review-{found.client.slug}-{found.quarter}.pdf")


@router.get("/console/clients/{client_id}/review")
async def console_review(client_id: uuid.UUID, ctx: Ctx, quarter: str | None = None) -> Response:
    principal = staff(ctx)
    found, today = await _review(ctx.runtime, principal, client_id, quarter)
    templates = _templates(ctx.request)
    return render(ctx, "reports/review.html", **_review_context(templates, ctx.locale, found, today))


@router.get("/console/clients/{client_id}/review.pdf")
async def console_review_pdf(client_id: uuid.UUID, ctx: Ctx, quarter: str | None = None) -> Response:
    principal = staff(ctx)
    found, today = await _review(ctx.runtime, principal, client_id, quarter)
    return ctx.apply(await _review_pdf(ctx.request, ctx.locale, found, today))


# -- the API -------------------------------------------------------------------------------


class FileFormat(StrEnum):
    pdf = "pdf"
    csv = "csv"


class Language(StrEnum):
    en = "en"
    it = "it"


def _api_locale(request: Request, wanted: Language | None, fallback: str | None) -> str:
    if wanted is not None:
        return wanted.value
    if request.headers.get("accept-language"):
        return i18n.negotiate(request.headers["accept-language"])
    return i18n.negotiate(fallback)


@api_router.get(
    "/clients/{client_id}/statement",
    operation_id="get_client_statement",
    summary="The client's statement, who do we pay for what, as a PDF or CSV (the client-safe figures)",
    responses={200: {"content": {PDF: {}, "text/csv": {}}, "description": "PDF, or CSV with format=csv"}},
    response_class=Response,
)
async def api_statement(
    client_id: uuid.UUID,
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    format: Annotated[FileFormat, Query()] = FileFormat.pdf,
    locale: Annotated[Language | None, Query(description="en or it; default: Accept-Language")] = None,
) -> Response:
    """The same figures as the portal page, for staff as for the client's own users: what
    the client pays, never the MSP's cost. Another client's statement is not found."""
    from hub.report.service import visible_client

    async with runtime.unit_of_work(write=False) as session:
        client = await visible_client(session, principal, client_id)
    chosen = _api_locale(request, locale, client.locale)
    return await _statement_file(request, runtime, principal, client_id, chosen, format is FileFormat.csv)


@api_router.get(
    "/clients/{client_id}/review",
    operation_id="get_client_review",
    summary="The quarterly business review of a client as a PDF (staff only: it shows the MSP's costs)",
    responses={200: {"content": {PDF: {}}, "description": "PDF"}},
    response_class=Response,
)
async def api_review(
    client_id: uuid.UUID,
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    quarter: Annotated[str | None, Query(description="e.g. 2026Q4; default: the current quarter")] = None,
    locale: Annotated[Language | None, Query(description="en or it; default: Accept-Language")] = None,
) -> Response:
    principal.require_staff()
    found, today = await _review(runtime, principal, client_id, quarter)
    return await _review_pdf(request, _api_locale(request, locale, found.client.locale), found, today)


__all__ = ["api_router", "router", "statement_html"]
