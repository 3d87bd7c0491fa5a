import uuid

from fastapi import Response

from hub.account.schemas import (
    RevealedPin,
    VendorAccountClientRead,
    VendorAccountCreate,
    VendorAccountFilters,
    VendorAccountRead,
    VendorAccountUpdate,
)
from hub.account.service import VendorAccountService
from hub.api.router import crud_router
from hub.deps import PrincipalDep, SessionDep

accounts = VendorAccountService()

router = crud_router(
    accounts,
    prefix="/vendor-accounts",
    name="vendor_account",
    plural="vendor_accounts",
    tag="vendor accounts",
    read=VendorAccountRead,
    client_read=VendorAccountClientRead,
    create=VendorAccountCreate,
    update=VendorAccountUpdate,
    filters=VendorAccountFilters,
)


@router.post(
    "/{item_id}/support-pin/reveal",
    response_model=RevealedPin,
    operation_id="reveal_vendor_account_pin",
    summary="Show the support PIN in clear (staff only; audited)",
)
async def reveal_pin(
    item_id: uuid.UUID, response: Response, session: SessionDep, principal: PrincipalDep
) -> RevealedPin:
    pin = await accounts.reveal_pin(session, principal, item_id)
    # A secret in clear: no browser, proxy or client cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return RevealedPin(vendor_account_id=item_id, support_pin=pin)
