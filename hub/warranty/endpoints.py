from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from hub.deps import PrincipalDep, SessionDep
from hub.warranty import service
from hub.warranty.csv_export import review_csv
from hub.warranty.schemas import Format, ReviewPage, ReviewParams

router = APIRouter(tags=["assets"])
CSV = "text/csv; charset=utf-8"


def _wants_csv(request: Request, fmt: Format | None) -> bool:
    if fmt is not None:
        return fmt is Format.csv
    return "text/csv" in request.headers.get("accept", "")


@router.get(
    "/warranties/review",
    response_model=ReviewPage,
    operation_id="review_warranties",
    summary="Assets out of warranty, ending within N days or with none known, per client (quarterly review)",
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
)
async def review_warranties(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    params: Annotated[ReviewParams, Query()],
) -> Response:
    if _wants_csv(request, params.format):
        items, _ = await service.review(session, principal, days=params.days, client_id=params.client_id)
        return Response(
            review_csv(items),
            media_type=CSV,
            headers={"Content-Disposition": 'attachment; filename="warranty-review.csv"'},
        )
    items, total = await service.review(
        session,
        principal,
        days=params.days,
        client_id=params.client_id,
        limit=params.limit,
        offset=params.offset,
    )
    body = {
        "items": items,
        "total": total,
        "limit": params.limit,
        "offset": params.offset,
        "days": params.days,
    }
    return Response(orjson.dumps(body), media_type="application/json")
