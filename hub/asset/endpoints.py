import uuid
from typing import Any

from fastapi import APIRouter

from hub.api.projection import json_response, shape
from hub.api.router import crud_router
from hub.asset.schemas import (
    AssetClientRead,
    AssetCreate,
    AssetFilters,
    AssetRead,
    AssetUpdate,
    WarrantyClientRead,
    WarrantyCreate,
    WarrantyFilters,
    WarrantyRead,
    WarrantyUpdate,
)
from hub.asset.service import AssetService, WarrantyService
from hub.deps import PrincipalDep, SessionDep

assets = AssetService()
warranties = WarrantyService()

router = APIRouter()
asset_routes = crud_router(
    assets,
    prefix="/assets",
    name="asset",
    plural="assets",
    tag="assets",
    read=AssetRead,
    client_read=AssetClientRead,
    create=AssetCreate,
    update=AssetUpdate,
    filters=AssetFilters,
)


@asset_routes.get(
    "/{item_id}/warranties",
    response_model=list[WarrantyRead] | list[WarrantyClientRead],
    operation_id="list_asset_warranties",
    summary="Warranties of an asset, latest end first",
)
async def asset_warranties(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
    await assets.get(session, principal, item_id)
    items, _ = await warranties.list(
        session, principal, WarrantyFilters(asset_id=item_id, sort="-ends_on", limit=1000)
    )
    return json_response([shape(principal, w, WarrantyRead, WarrantyClientRead) for w in items])


router.include_router(asset_routes)
router.include_router(
    crud_router(
        warranties,
        prefix="/warranties",
        name="warranty",
        plural="warranties",
        tag="assets",
        read=WarrantyRead,
        client_read=WarrantyClientRead,
        create=WarrantyCreate,
        update=WarrantyUpdate,
        filters=WarrantyFilters,
    )
)
