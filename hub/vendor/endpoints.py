from hub.api.router import crud_router
from hub.vendor.schemas import VendorClientRead, VendorCreate, VendorFilters, VendorRead, VendorUpdate
from hub.vendor.service import VendorService

vendors = VendorService()

router = crud_router(
    vendors,
    prefix="/vendors",
    name="vendor",
    plural="vendors",
    tag="vendors",
    read=VendorRead,
    client_read=VendorClientRead,
    create=VendorCreate,
    update=VendorUpdate,
    filters=VendorFilters,
)
