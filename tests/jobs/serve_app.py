"""`hub serve` as the lead will wire it (API + embedded worker in the lifespan), for the
SQLite chaos test: `python -m tests.jobs.serve_app PORT CONCURRENCY`."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from hub.app import create_app
from hub.config import Settings
from hub.jobs.worker import embedded_worker


def build(settings: Settings, concurrency: int) -> FastAPI:
    app = create_app(settings)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with inner(a), embedded_worker(settings, concurrency=concurrency):
            yield

    app.router.lifespan_context = lifespan
    return app


if __name__ == "__main__":
    settings = Settings()
    uvicorn.run(
        build(settings, int(sys.argv[2])), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning"
    )
