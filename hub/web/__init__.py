"""The hub's web pages: sign-in, the technicians' console and the clients' portal,
server-rendered (Jinja2, Babel) with htmx for progressive enhancement; every script and
stylesheet is served by the hub itself from hub/web/static (it works offline)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from hub.api.routes import leaf_routes

STATIC_DIR = Path(__file__).parent / "static"


@dataclass
class WebState:
    """What the pages share in one app (never a module global)."""

    templates: Any
    oidc: Any = None  # hub.auth.oidc.OidcClient, built on first use for the settings in force
    extra: dict[str, Any] = field(default_factory=dict)


@cache
def web_router() -> APIRouter:
    """The pages' routers, composed once per process (each app includes the same tree:
    FastAPI analyses an included tree's routes on inclusion, a cost paid once this way)."""
    from hub.web.auth_pages import router as auth_pages
    from hub.web.console import router as console
    from hub.web.portal import router as portal
    from hub.web.reports import router as reports

    router = APIRouter(include_in_schema=False)
    for sub in (auth_pages, console, portal, reports):
        router.include_router(sub)
    return router


def install(app: FastAPI) -> None:
    """The pages and their static files on `app` (what hub.app calls)."""
    from hub.web.templating import Templates

    app.state.web = WebState(templates=Templates())
    app.router.routes.extend(leaf_routes(web_router()))  # flat: see hub.api.routes
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
