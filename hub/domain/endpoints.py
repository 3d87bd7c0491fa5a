from fastapi import APIRouter

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
from hub.kit.router import crud_router

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
        create=EndpointCreate,
        update=EndpointUpdate,
        filters=EndpointFilters,
    )
)
