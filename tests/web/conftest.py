"""The web pages in process: an httpx client that keeps cookies, people made through the
account service, and a world of two clients built through the API."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from hub.auth import users
from hub.auth.principal import CLI
from hub.kit.time import today
from hub.models.enums import Role
from hub.runtime import HubRuntime
from tests import factories as f
from tests.notify.conftest import smtp

__all__ = ["smtp"]  # a real SMTP server on loopback (aiosmtpd), for the e-mailed links

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    """A clock the test moves (assigned to `runtime.clock`)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(runtime: HubRuntime) -> Clock:
    c = Clock()
    runtime.clock = c
    return c


def browser(app: Any, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """A browser: keeps cookies, does not follow redirects (the tests look at them)."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://hub.test")


@pytest.fixture
async def web(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app) as client:
        yield client


async def make_user(
    runtime: HubRuntime,
    email: str,
    role: Role = Role.technician,
    *,
    client_id: str | uuid.UUID | None = None,
    password: str | None = PASSWORD,
) -> uuid.UUID:
    async with runtime.unit_of_work() as session:
        user = await users.create_user(
            session,
            CLI,
            email=email,
            name=email.split("@")[0].title(),
            role=role,
            client_id=uuid.UUID(str(client_id)) if client_id else None,
        )
        if password is not None:
            users.set_password(user, password, runtime.now())
        return user.id


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


async def form_token(client: httpx.AsyncClient, path: str = "/sign-in") -> str:
    page = await client.get(path)
    if page.status_code == 303:  # signed in already: any page of ours carries the token
        page = await client.get("/account")
    assert page.status_code == 200, page.text[:300]
    return csrf_of(page.text)


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    token = await form_token(client)
    return await client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token})


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, str] | None = None, page: str = "/account"
) -> httpx.Response:
    token = await form_token(client, page)
    return await client.post(path, data={**(data or {}), "csrf_token": token})


@dataclass
class World:
    a: str
    b: str
    renewal_a: str
    renewal_b: str


async def build_world(api: httpx.AsyncClient, runtime: HubRuntime) -> World:
    """Two clients, each with an auto-renewing subscription due soon: the plan gives
    each a renewal, put in `awaiting_approval` (the state a price rise leaves it in)."""
    from sqlalchemy import update

    from hub.models import Renewal
    from hub.models.enums import RenewalState

    ids = []
    for name in ("Alfa Srl", "Beta Spa"):
        client = await f.client(api, name=name, slug=name.split()[0].lower())
        vendor = await f.vendor(api)
        account = await f.account(api, client["id"], vendor["id"])
        await f.subscription(
            api,
            account["id"],
            starts_on=(today() - timedelta(days=300)).isoformat(),
            ends_on=(today() + timedelta(days=10)).isoformat(),
            renewal_type="auto_hub",
        )
        domain = await f.domain(api, client["id"], name=f"{client['slug']}-example.com")
        check = await api.post(
            "/checks", json={"client_id": client["id"], "kind": "spf", "target_ref": domain["id"]}
        )
        assert check.status_code == 201, check.text
        await f.asset(api, client["id"])
        ids.append(client["id"])
    assert (await api.post("/renewals/plan")).status_code == 200
    items = (await api.get("/renewals", params={"limit": 100})).json()["items"]
    by_client = {i["client_id"]: i["id"] for i in items}
    async with runtime.unit_of_work() as session:
        await session.execute(
            update(Renewal).values(state=RenewalState.awaiting_approval, next_action_at=None)
        )
    return World(ids[0], ids[1], by_client[ids[0]], by_client[ids[1]])
