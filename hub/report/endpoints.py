import uuid
from enum import StrEnum
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field

from hub.audit.service import record
from hub.deps import PrincipalDep, RuntimeDep, SessionDep
from hub.errors import NotFound
from hub.kit.schema import Input
from hub.kit.time import today as current_day
from hub.models.enums import AuditAction
from hub.renewal.forecast import forecast
from hub.renewal.schemas import Forecast, ForecastParams
from hub.report import service, snapshots
from hub.report.cache import CachedReport, ReportCache
from hub.report.csv_export import client_spend_csv, forecast_csv, spend_csv, upcoming_csv
from hub.report.schemas import (
    BackfillRequest,
    BackfillResult,
    ClientSpendReport,
    SpendReport,
    UpcomingPage,
)
from hub.terms.client_view import project_spend

router = APIRouter(tags=["reports"])
CSV = "text/csv; charset=utf-8"


class Format(StrEnum):
    json = "json"
    csv = "csv"


class UpcomingKind(StrEnum):
    subscription = "subscription"
    warranty = "warranty"
    domain = "domain"
    endpoint = "endpoint"


class UpcomingParams(Input):
    """Unknown parameters are refused: a typo (clientid=) must not silently widen the list."""

    within_days: int = Field(30, ge=0, le=3650)
    lapsed_days: int = Field(0, ge=0, le=3650, description="also what ended up to N days ago")
    kind: list[UpcomingKind] | None = None
    client_id: uuid.UUID | None = None
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000)
    format: Format | None = None


def wants_csv(request: Request, fmt: Format | None) -> bool:
    if fmt is not None:
        return fmt is Format.csv
    return "text/csv" in request.headers.get("accept", "")


def _json(body: object) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


_CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with Accept: text/csv or format=csv"}
}


@router.get(
    "/clients/{client_id}/spend",
    response_model=SpendReport | ClientSpendReport,
    operation_id="get_client_spend",
    summary="Who do we pay for what: every vendor, service and cost of one client",
    responses=_CSV_DOC,
)
async def client_spend(
    client_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    format: Annotated[Format | None, Query()] = None,
) -> Response:
    service.refuse_unless_visible(principal, client_id)
    day = current_day()
    cache: ReportCache = request.app.state.spend_cache
    # A cached report costs this one read (the client's existence comes with it).
    fingerprint = await service.spend_fingerprint(session, client_id, day)
    if fingerprint is None:
        raise NotFound(f"client {client_id} not found")
    cached = cache.get(client_id, fingerprint)
    if cached is None or not cached.body:
        # The statement (portal, PDF) caches the report without its JSON: rendered once here.
        if cached is not None:
            report = cached.report
        else:
            client = await service.visible_client(session, principal, client_id)
            report = await service.build_spend_report(session, client, day)
        cached = CachedReport(fingerprint, report, orjson.dumps(report))
        cache.put(client_id, cached)
    report = cached.report
    if principal.is_client:
        # The client's own view: what it pays, never the MSP's cost (hub.terms.client_view).
        own = project_spend(report)
        if wants_csv(request, format):
            name = f"spend-{own['client']['slug']}.csv"
            return Response(
                client_spend_csv(own),
                media_type=CSV,
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        return _json(own)
    if wants_csv(request, format):
        name = f"spend-{report['client']['slug']}.csv"
        return Response(
            spend_csv(report),
            media_type=CSV,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    # The bytes rendered when the report was cached: a 300-line report is ~200 kB of JSON,
    # and dumping it again was a quarter of a cache hit's time.
    return Response(cached.body, media_type="application/json")


@router.get(
    "/renewals/upcoming",
    response_model=UpcomingPage,
    operation_id="list_upcoming_renewals",
    summary="Subscriptions, warranties, domains and certificates ending soon, soonest first",
    responses=_CSV_DOC,
)
async def upcoming_renewals(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    params: Annotated[UpcomingParams, Query()],
) -> Response:
    within_days, lapsed_days, client_id = params.within_days, params.lapsed_days, params.client_id
    limit, offset, format = params.limit, params.offset, params.format
    kinds = {k.value for k in params.kind} if params.kind else None
    if wants_csv(request, format):
        # A spreadsheet wants the whole window, not a page.
        items, _ = await service.upcoming(
            session,
            principal,
            within_days=within_days,
            lapsed_days=lapsed_days,
            kinds=kinds,
            client_id=client_id,
            limit=None,
        )
        return Response(
            upcoming_csv(items),
            media_type=CSV,
            headers={"Content-Disposition": 'attachment; filename="upcoming-renewals.csv"'},
        )
    items, total = await service.upcoming(
        session,
        principal,
        within_days=within_days,
        lapsed_days=lapsed_days,
        kinds=kinds,
        client_id=client_id,
        limit=limit,
        offset=offset,
    )
    return _json(
        {"items": items, "total": total, "limit": limit, "offset": offset, "within_days": within_days}
    )


# -- the renewal forecast (here, not in hub.renewal: a report reads the renewal module, the
# renewal module does not depend on reports) ----------------------------------------------


@router.get(
    "/forecast",
    response_model=Forecast,
    operation_id="get_renewal_forecast",
    summary="What renews in the next N months, at what cost, paid by whom (JSON or CSV)",
    responses={200: {"content": {"text/csv": {}}}},
    tags=["renewals"],
)
async def get_forecast(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    params: Annotated[ForecastParams, Query()],
) -> Response:
    if params.client_id is not None and principal.client_id not in (None, params.client_id):
        raise NotFound(f"client {params.client_id} not found")
    body = await forecast(
        session, principal, today=runtime.today(), months=params.months, client_id=params.client_id
    )
    if params.format == "csv" or (params.format is None and "text/csv" in request.headers.get("accept", "")):
        return Response(forecast_csv(body["lines"]), media_type="text/csv; charset=utf-8")
    return Response(
        orjson.dumps(Forecast.model_validate(body).model_dump(mode="json")), media_type="application/json"
    )


# -- the coverage history of the quarterly review -------------------------------------------


@router.post(
    "/reports/backfill",
    response_model=BackfillResult,
    operation_id="backfill_coverage_snapshots",
    summary="Derive past days' coverage snapshots from the dates the hub keeps (admins)",
)
async def backfill_coverage(
    body: BackfillRequest, session: SessionDep, principal: PrincipalDep, runtime: RuntimeDep
) -> BackfillResult:
    """Days already snapshotted are kept; what cannot be derived (seats in use, expiries or
    firmware on days with no check run) stays unknown. Audited."""
    principal.require_admin()
    since, until = snapshots.backfill_window(body.since, body.until, runtime.today())
    if body.client_id is not None:
        await service.visible_client(session, principal, body.client_id)
    found = await snapshots.backfill(
        session, since=since, until=until, now=runtime.now(), client_id=body.client_id
    )
    record(
        session,
        principal,
        AuditAction.create,
        subject_type="coverage_snapshots",
        subject_id=body.client_id or "all",
        client_id=body.client_id,
        meta={"action": "backfill", "since": since.isoformat(), "until": until.isoformat(), **found},
    )
    return BackfillResult(**found, since=since, until=until)
