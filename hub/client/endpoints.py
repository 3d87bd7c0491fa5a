import uuid

from fastapi import APIRouter

from hub.api.router import crud_router
from hub.client.schemas import (
    ClientClientRead,
    ClientCreate,
    ClientFilters,
    ClientRead,
    ClientUpdate,
    ContactClientRead,
    ContactCreate,
    ContactFilters,
    ContactRead,
    ContactUpdate,
)
from hub.client.service import ClientService, ContactService
from hub.deps import PrincipalDep, SessionDep

clients = ClientService()
contacts = ContactService()

router = APIRouter()
client_routes = crud_router(
    clients,
    prefix="/clients",
    name="client",
    plural="clients",
    tag="clients",
    read=ClientRead,
    client_read=ClientClientRead,
    create=ClientCreate,
    update=ClientUpdate,
    filters=ClientFilters,
    delete_summary="Archive a client (clients are never destroyed; restore undoes it)",
)


@client_routes.post(
    "/{item_id}/restore",
    response_model=ClientRead,
    operation_id="restore_client",
    summary="Restore an archived client",
)
async def restore_client(item_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> ClientRead:
    return ClientRead.model_validate(await clients.restore(session, principal, item_id))


router.include_router(client_routes)
router.include_router(
    crud_router(
        contacts,
        prefix="/contacts",
        name="contact",
        plural="contacts",
        tag="contacts",
        read=ContactRead,
        client_read=ContactClientRead,
        create=ContactCreate,
        update=ContactUpdate,
        filters=ContactFilters,
    )
)
