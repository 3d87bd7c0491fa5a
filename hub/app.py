"""create_app(runtime): the FastAPI application and its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

from fastapi import APIRouter, FastAPI
from starlette.routing import Mount

from hub import __version__
from hub.api.headers import SecurityHeaders
from hub.api.routes import flat_router, leaf_routes
from hub.docs import install_docs
from hub.errors import install_error_handlers
from hub.kit.logmask import mask_logger
from hub.openapi import install_openapi
from hub.report.cache import ReportCache
from hub.runtime import HubRuntime, HubSettings
from hub.settings import Settings

API_PREFIX = "/api/v1"


@cache
def api_router() -> APIRouter:
    """The API's routes as one flat router (hub.api.routes), composed once per process:
    each app mounts the same one under API_PREFIX."""
    # Imported here so that importing hub.app stays cheap for the CLI.
    from hub.account.endpoints import router as accounts
    from hub.activity.endpoints import router as audit
    from hub.asset.endpoints import router as assets
    from hub.card.endpoints import router as cards
    from hub.case.endpoints import router as cases
    from hub.check.endpoints import router as checks
    from hub.client.endpoints import router as clients
    from hub.connection.endpoints import adapters_router
    from hub.connection.endpoints import router as connections
    from hub.domain.endpoints import router as domains
    from hub.jobs.endpoints import router as jobs
    from hub.line.endpoints import router as isp_lines
    from hub.link.endpoints import router as links
    from hub.notify.endpoints import router as notify
    from hub.renewal.endpoints import public_router as renewal_approvals
    from hub.renewal.endpoints import router as renewals
    from hub.report.endpoints import router as reports
    from hub.subscription.endpoints import router as subscriptions
    from hub.sync.endpoints import discrepancies_router, tenants_router
    from hub.vendor.endpoints import router as vendors
    from hub.warranty.endpoints import router as warranty_review
    from hub.web.reports import api_router as report_files

    router = APIRouter()  # its prefix is the Mount's, in create_app
    for sub in (
        clients,
        vendors,
        accounts,
        subscriptions,
        links,
        warranty_review,  # before assets: /warranties/review is not /warranties/{item_id}
        assets,
        domains,
        checks,
        isp_lines,
        reports,
        report_files,  # the statement and the quarterly review as files (rendered by hub.web)
        audit,
        jobs,
        renewals,
        renewal_approvals,
    ):
        router.include_router(sub)
    for sub in (connections, tenants_router, adapters_router, discrepancies_router):
        router.include_router(sub)
    router.include_router(notify)
    router.include_router(cards)
    router.include_router(cases)
    return flat_router(router)


def app_from_environment() -> FastAPI:
    """What each process of `hub serve --workers N` serves (uvicorn's factory): the settings,
    and the embedded worker's concurrency, come from the environment the command set."""
    settings = HubSettings.from_env()
    return create_app(settings=settings, worker_concurrency=settings.jobs.embedded_concurrency)


def create_app(
    runtime: HubRuntime | None = None,
    *,
    settings: HubSettings | Settings | None = None,
    worker_concurrency: int = 0,
) -> FastAPI:
    """The app over `runtime` (its caller closes it), or over a runtime of its own built
    from `settings` and closed when the app shuts down. `worker_concurrency` > 0 runs an
    embedded job worker for the app's lifetime (what `hub serve` does by default); tests
    and `--no-worker` leave it at 0."""
    if runtime is not None and not isinstance(runtime, HubRuntime):
        raise TypeError("create_app takes a HubRuntime; pass settings as settings=...")
    owned = runtime is None
    runtime = runtime or HubRuntime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from hub.jobs.worker import embedded_worker

        try:
            async with embedded_worker(runtime, concurrency=worker_concurrency):
                yield
        finally:
            if owned:
                await runtime.aclose()

    app = FastAPI(
        title="Vendor hub",
        version=__version__,
        summary="The MSP's single point of contact with every vendor of every client.",
        lifespan=lifespan,
        # hub.docs serves /docs and /openapi.json itself: from local files, behind HUB_API_DOCS.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(SecurityHeaders)
    app.state.runtime = runtime
    app.state.spend_cache = ReportCache()
    # Feed and approval-link tokens never reach a log line (the access log included).
    for logger in ("uvicorn.access", "uvicorn.error", "hub.errors"):
        mask_logger(logger)
    install_error_handlers(app)
    install_openapi(app, api=(API_PREFIX, api_router))
    # Mounted, not included: see hub.api.routes.
    app.router.routes.append(Mount(API_PREFIX, app=api_router()))
    from hub.health import router as health

    app.router.routes.extend(leaf_routes(health))  # /readyz, /metrics (no token: probes and scrapers)

    @app.get("/livez", include_in_schema=False)
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    from hub.web import install as install_web

    install_web(app)  # /: sign-in; the console, the portal and their static files
    install_docs(app)  # /docs, /openapi.json
    return app
