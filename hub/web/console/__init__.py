"""The technicians' console: every page reads and acts through the same services as the
API, under the signed-in user's principal."""

from __future__ import annotations

from fastapi import APIRouter

from hub.web.console import (
    admin,
    case_new,
    cases,
    checks,
    clients,
    connections,
    renewals,
    today,
    triage,
    vendors,
)
from hub.web.pages import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
# case_new before cases: /console/cases/new is not a case id.
for module in (today, clients, vendors, renewals, connections, checks, case_new, cases, triage, admin):
    router.include_router(module.router)
