from fastapi import APIRouter

from hub.api.router import crud_router
from hub.domain.schemas import (
    DomainCreate,
    DomainFilters,
    DomainRead,
    DomainUpdate,
    EndpointCreate,
    EndpointFilters,
    EndpointRead,
    EndpointUpdate,
)
from hub.domain.service import DomainService, EndpointService

domains = DomainService()
endpoints = EndpointService()

router = APIRouter()
router.include_router(
    crud_router(
        domains,
        prefix="/domains",
        name="domain",
        plural="domains",
        tag="domains",
        read=DomainRead,
        client_read=DomainRead,  # nothing of a domain is internal
        create=DomainCreate,
        update=DomainUpdate,
        filters=DomainFilters,
    )
)
router.include_router(
    crud_router(
        endpoints,
        prefix="/endpoints",
        name="endpoint",
        plural="endpoints",
        tag="domains",
        read=EndpointRead,
        client_read=EndpointRead,
        create=EndpointCreate,
        update=EndpointUpdate,
        filters=EndpointFilters,
    )
)
