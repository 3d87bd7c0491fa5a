"""The connection opener keeps each connection's decrypted config per process, keyed by
the ciphertext it came from: a changed secret, a disabled connection or a rotated key is
seen by the very next open, whether the opener reads the row itself or is handed the row
a caller read with its own statement (the renewal executor's snapshot)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hub.connection.secrets import encrypt
from hub.db import keyring_of, session_scope
from hub.models import Connection
from hub.models.enums import ConnectionScope
from hub.runtime import HubRuntime
from hub.sdk.errors import ConfigurationError


def pax8_config(secret: str) -> dict[str, Any]:
    return {"client_id": "hub-client", "client_secret": secret, "order_email": "renewals@msp.example"}


async def _pax8_connection(runtime: HubRuntime, secret: str) -> uuid.UUID:
    async with session_scope(runtime.sessionmaker) as session:
        connection = Connection(
            name="Pax8",
            adapter_slug="pax8",
            scope=ConnectionScope.msp,
            account_ref=f"pax8-{uuid.uuid4().hex[:8]}",
            config_encrypted=encrypt(keyring_of(session), pax8_config(secret)),
        )
        session.add(connection)
        await session.flush()
        return connection.id


async def _row(runtime: HubRuntime, connection_id: uuid.UUID) -> Any:
    async with runtime.sessionmaker() as session:
        return (
            await session.execute(
                select(
                    Connection.id, Connection.enabled, Connection.adapter_slug, Connection.config_encrypted
                ).where(Connection.id == connection_id)
            )
        ).one()


async def _secret(runtime: HubRuntime, connection_id: uuid.UUID, *, handed: bool) -> str:
    row = await _row(runtime, connection_id) if handed else None
    _spec, config = await runtime.connections.load(connection_id, row)
    return str(config.client_secret.get_secret_value())  # type: ignore[attr-defined]


@pytest.mark.parametrize("handed", [False, True], ids=["opener reads", "row handed"])
async def test_a_changed_secret_is_used_by_the_next_open(
    runtime: HubRuntime, api: httpx.AsyncClient, handed: bool
) -> None:
    connection_id = await _pax8_connection(runtime, "first-secret-1234")
    assert await _secret(runtime, connection_id, handed=handed) == "first-secret-1234"
    first = await runtime.connections.load(connection_id)
    # Unchanged: the same config object, decrypted once.
    assert (await runtime.connections.load(connection_id))[1] is first[1]

    version = (await api.get(f"/connections/{connection_id}")).json()["version"]
    r = await api.patch(
        f"/connections/{connection_id}",
        json={"version": version, "config": pax8_config("second-secret-5678")},
    )
    assert r.status_code == 200, r.text
    assert "second-secret-5678" not in r.text
    assert await _secret(runtime, connection_id, handed=handed) == "second-secret-5678"


@pytest.mark.parametrize("handed", [False, True], ids=["opener reads", "row handed"])
async def test_a_disabled_connection_is_refused_at_once(
    runtime: HubRuntime, api: httpx.AsyncClient, handed: bool
) -> None:
    connection_id = await _pax8_connection(runtime, "first-secret-1234")
    assert await _secret(runtime, connection_id, handed=handed) == "first-secret-1234"
    version = (await api.get(f"/connections/{connection_id}")).json()["version"]
    r = await api.patch(f"/connections/{connection_id}", json={"version": version, "enabled": False})
    assert r.status_code == 200, r.text
    with pytest.raises(ConfigurationError):
        await _secret(runtime, connection_id, handed=handed)


async def test_a_row_of_another_connection_is_not_trusted(runtime: HubRuntime) -> None:
    mine = await _pax8_connection(runtime, "mine-secret-1234")
    other = await _pax8_connection(runtime, "other-secret-5678")
    _spec, config = await runtime.connections.load(mine, await _row(runtime, other))
    assert config.client_secret.get_secret_value() == "mine-secret-1234"  # type: ignore[attr-defined]


async def test_the_cached_config_never_shows_its_secret(runtime: HubRuntime) -> None:
    connection_id = await _pax8_connection(runtime, "hidden-secret-1234")
    _spec, config = await runtime.connections.load(connection_id)
    assert "hidden-secret-1234" not in repr(config)
    assert "hidden-secret-1234" not in repr(runtime.connections.__dict__)
