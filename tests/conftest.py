"""Test databases and API clients.

Every test gets its own database: a copy of a template migrated once per run. On SQLite
(the default) the template is a file copied per test; with HUB_TEST_DATABASE_URL set to a
PostgreSQL server, each test gets `CREATE DATABASE ... TEMPLATE`. Real databases, real
migrations, no shared state between tests.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub import migrate
from hub.app import create_app
from hub.auth.tokens import issue_token
from hub.db import runtime_of
from hub.kit.crypto import Keyring
from hub.models.enums import Role
from hub.runtime import HubRuntime
from hub.settings import Settings, normalise_database_url

PG_URL = os.environ.get("HUB_TEST_DATABASE_URL", "")
TEST_KEY = Fernet.generate_key().decode()
# Fixtures through which a test reaches the database under test.
_DATABASE_FIXTURES = frozenset({"database", "_template"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, run only the tests that touch the database.

    The suite runs twice in CI (SQLite, then PostgreSQL); a test that never opens the
    database under test (a parser, a simulator, the DNS wire format) would prove the same
    thing twice. A test reaching PostgreSQL by itself says so with @pytest.mark.postgres."""
    if not PG_URL:
        return
    keep, drop = [], []
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        uses_db = bool(names & _DATABASE_FIXTURES) or item.get_closest_marker("postgres") is not None
        (keep if uses_db else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _pg_admin_url(url: str) -> str:
    return normalise_database_url(url).replace("postgresql+psycopg://", "postgresql://")


@dataclass
class TestDatabase:
    url: str  # async SQLAlchemy URL
    kind: str  # "sqlite" | "postgresql"


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if PG_URL:
        admin = _pg_admin_url(PG_URL)
        name = f"hub_tpl_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = _db_url(PG_URL, name)
        migrate.upgrade(url)
        yield name
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        migrate.upgrade(f"sqlite+aiosqlite:///{path}")
        yield str(path)


def _db_url(base: str, name: str) -> str:
    url = normalise_database_url(base)
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


@pytest.fixture
def database(_template: str, tmp_path: Path) -> Iterator[TestDatabase]:
    if PG_URL:
        admin = _pg_admin_url(PG_URL)
        name = f"hub_t_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_template}"')
        yield TestDatabase(_db_url(PG_URL, name), "postgresql")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = tmp_path / "hub.db"
        shutil.copyfile(_template, path)
        yield TestDatabase(f"sqlite+aiosqlite:///{path}", "sqlite")


@pytest.fixture
def settings(database: TestDatabase, tmp_path: Path) -> Settings:
    return Settings(database_url=database.url, data_dir=tmp_path / "data", secret_key=SecretStr(TEST_KEY))


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[HubRuntime]:
    """The test's composition root: its own database, the test key; tests swap in their
    fakes (renewers, failpoints, clock, settings groups) on it instead of patching modules."""
    async with HubRuntime.open(settings, secrets=Keyring([TEST_KEY.encode()])) as built:
        # Test simulators listen on loopback: allowed explicitly, as the demo does (never
        # by default; see hub.connection.policy).
        built.use_settings(adapters={"allow_hosts": "127.0.0.1"})
        yield built


@pytest.fixture
def sessionmaker(runtime: HubRuntime) -> async_sessionmaker[AsyncSession]:
    return runtime.sessionmaker


@pytest.fixture
async def app(runtime: HubRuntime) -> AsyncIterator[object]:
    application = create_app(runtime)
    async with application.router.lifespan_context(application):
        yield application


def runtime_from(sessionmaker: async_sessionmaker[AsyncSession]) -> HubRuntime:
    """The runtime a sessionmaker belongs to (for helpers handed only the sessionmaker)."""
    return runtime_of(sessionmaker())


async def make_token(app: object, role: Role = Role.admin, client_id: uuid.UUID | None = None) -> str:
    async with app.state.runtime.sessionmaker() as session:  # type: ignore[attr-defined]
        issued = await issue_token(session, name=f"test-{role.value}", role=role, client_id=client_id)
        await session.commit()
        return issued.token


def client_for(app: object, token: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://hub.test/api/v1",  # type: ignore[arg-type]
        headers=headers,
    )


@pytest.fixture
async def api(app: object) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's API client."""
    async with client_for(app, await make_token(app)) as http:
        yield http
