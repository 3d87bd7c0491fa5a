import uuid

from hub.account.schemas import (
    RevealedPin,
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
async def reveal_pin(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> RevealedPin:
    pin = await accounts.reveal_pin(session, principal, item_id)
    return RevealedPin(vendor_account_id=item_id, support_pin=pin)
