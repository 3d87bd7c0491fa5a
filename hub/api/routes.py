"""Route trees made flat, for fast matching.

FastAPI >= 0.16x keeps an included router as a branch and matches a request against it
level by level, twice (once to find the route, once to run it), re-deriving each branch's
routes-version on the way: with the API's ~145 routes under two levels of inclusion,
finding a route cost more than a cached report's database read (profiled: 0.14 ms per
matching pass for /api/v1/..., 0.42 ms for /livez, which came after the whole API).
`flat_router` gives one router holding the tree's leaf routes in the same order, which
the app mounts under its prefix: a request outside it is turned away by one regular
expression, and one inside walks one plain list.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from starlette.routing import BaseRoute, Mount, Router


def leaf_routes(router: APIRouter) -> Iterator[BaseRoute]:
    """The routes of `router` and of every router included in it, in matching order.

    Routers here are included without a prefix of their own (each sub-router carries its
    prefix in its routes' paths), so a leaf route's path is already the path it serves."""
    for route in router.routes:
        # An included branch (FastAPI >= 0.16x); older FastAPI copies the routes instead.
        inner = getattr(route, "original_router", None)
        if isinstance(inner, APIRouter):
            yield from leaf_routes(inner)
        else:
            yield route


def flat_router(router: APIRouter) -> APIRouter:
    flat = APIRouter()
    flat.routes.extend(leaf_routes(router))
    return flat


def served_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """(full path, route) of every route an app serves: into mounts that hold routes (the
    API's, not a static-files mount) and included routers."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if isinstance(inner, APIRouter):
            yield from served_routes(inner.routes, prefix)
        elif isinstance(route, Mount) and isinstance(route.app, Router):
            yield from served_routes(route.routes, prefix + route.path)
        else:
            yield prefix + str(getattr(route, "path", "")), route
