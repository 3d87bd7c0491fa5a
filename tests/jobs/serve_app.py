"""`hub serve` (API + embedded worker in the app's lifespan) on a given port, for the SQLite
chaos test: `python -m tests.jobs.serve_app PORT CONCURRENCY`."""

from __future__ import annotations

import sys

import uvicorn

from hub.app import create_app
from hub.runtime import HubSettings

if __name__ == "__main__":
    app = create_app(settings=HubSettings.from_env(), worker_concurrency=int(sys.argv[2]))
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
