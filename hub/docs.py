"""`/docs`, `/openapi.json` and `/`: the interactive API docs, served entirely by the hub.

Swagger UI comes from `hub/static/swagger-ui` (a pinned copy, see SOURCE.md there), its
start-up script from `hub/static/docs-init.js`: the page loads nothing from outside the
hub, so it works offline and needs no inline script. Both routes answer only while
`HUB_API_DOCS` is on (read per request, so a test or an operator's runtime decides);
`GET /` points at the docs until the web UI exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from hub.deps import RuntimeDep
from hub.errors import NotFound

STATIC = Path(__file__).resolve().parent / "static"
# Not under /static: that prefix is the web console's mount, which would shadow these.
SWAGGER = "/docs-assets/swagger-ui"
# The docs page needs its own styles inline (Swagger UI sets style attributes) and data:
# images (its icons); scripts come from the hub only.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Vendor hub API</title>
<link rel="stylesheet" href="{SWAGGER}/swagger-ui.css">
<link rel="icon" type="image/png" href="{SWAGGER}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{SWAGGER}/swagger-ui-bundle.js"></script>
<script src="/docs-assets/docs-init.js"></script>
</body>
</html>
"""

router = APIRouter(include_in_schema=False)


def _require_docs(runtime: Any) -> None:
    if not runtime.settings.core.api_docs:
        raise NotFound("the API docs are off on this hub (HUB_API_DOCS=true turns them on)")


@router.get("/docs")
async def docs(runtime: RuntimeDep) -> Response:
    _require_docs(runtime)
    return HTMLResponse(_PAGE, headers={"Content-Security-Policy": DOCS_CSP})


@router.get("/openapi.json")
async def openapi_document(request: Request, runtime: RuntimeDep) -> Response:
    _require_docs(runtime)
    return JSONResponse(request.app.openapi())


@router.get("/docs-assets/docs-init.js")
async def docs_init(runtime: RuntimeDep) -> Response:
    _require_docs(runtime)
    return Response((STATIC / "docs-init.js").read_bytes(), media_type="text/javascript")


class _DocsAssets(StaticFiles):
    """Swagger UI's files, only while the docs are on."""

    async def get_response(self, path: str, scope: Any) -> Response:
        app = scope["app"]
        if not app.state.runtime.settings.core.api_docs:
            raise NotFound("the API docs are off on this hub (HUB_API_DOCS=true turns them on)")
        return await super().get_response(path, scope)


def install_docs(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(SWAGGER, _DocsAssets(directory=STATIC / "swagger-ui"), name="swagger-ui")


__all__ = ["DOCS_CSP", "install_docs"]
