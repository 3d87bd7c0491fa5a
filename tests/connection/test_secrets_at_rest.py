"""Secrets at rest (ADR 0007): a key per purpose derived from the master key, so a value
encrypted for one purpose never decrypts as another; values written under the bare key
before still read, and `hub secrets rotate` moves every encrypted column, whatever its
table, onto the per-purpose keys of the newest master key."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update
from typer.testing import CliRunner

from hub.auth.users import begin_totp
from hub.cli import app as cli
from hub.connection.rotate import encrypted_columns
from hub.kit.crypto import Keyring, Purpose, SecretBox, SecretDecryptionError
from hub.models import User, VendorAccount
from hub.models.base import Base
from hub.models.enums import Role
from tests import factories as f
from tests.conftest import TEST_KEY
from tests.sync.helpers import create_connection

runner = CliRunner()
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@pytest.fixture(autouse=True)
def loopback_webhooks(runtime):
    runtime.use_settings(notify={"webhook_allowed_hosts": "127.0.0.1"})


def test_a_value_encrypted_for_one_purpose_never_decrypts_as_another():
    keyring = Keyring([Fernet.generate_key()])
    for purpose in Purpose:
        token = keyring.box(purpose).encrypt("4321")
        assert keyring.box(purpose).decrypt(token) == "4321"
        for other in Purpose:
            if other is not purpose:
                with pytest.raises(SecretDecryptionError):
                    keyring.box(other).decrypt(token)


def test_values_under_the_bare_key_still_read_until_legacy_reads_are_turned_off():
    master = Fernet.generate_key()
    old = SecretBox([master]).encrypt("pin from last year")  # how the hub wrote values before
    assert Keyring([master]).box(Purpose.support_pin).decrypt(old) == "pin from last year"
    assert not Keyring([master]).box(Purpose.support_pin).is_current(old)
    with pytest.raises(SecretDecryptionError):
        Keyring([master], legacy_reads=False).box(Purpose.support_pin).decrypt(old)
    # New values are never written under the bare key.
    new = Keyring([master]).box(Purpose.support_pin).encrypt("1234")
    with pytest.raises(SecretDecryptionError):
        SecretBox([master]).decrypt(new)


def test_every_encrypted_column_of_the_models_declares_its_purpose():
    named = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.name.endswith("_encrypted")
    }
    declared = {c.label for c in encrypted_columns()}
    assert named, "no *_encrypted column found: the walk is broken"
    assert named <= declared, f"encrypted columns without a purpose: {sorted(named - declared)}"
    # Every purpose but the signing one has a column, so each is exercised below.
    assert {c.purpose for c in encrypted_columns()} == set(Purpose) - {Purpose.approval_link}


async def _store_one_of_each(api: httpx.AsyncClient, vendor: Any, sessionmaker: Any) -> None:
    vendor.sim.partner("P1")
    conn = await create_connection(api, vendor.config("P1"))
    assert (await api.post(f"/connections/{conn['id']}/test")).json()["ok"]  # stores an OAuth token
    c = await f.client(api)
    v = await f.vendor(api)
    await f.account(api, c["id"], v["id"], support_pin="4321")
    hook = await api.post(
        "/webhooks", json={"name": "PSA", "url": "http://127.0.0.1:9/h", "secret": WEBHOOK_SECRET}
    )
    assert hook.status_code == 201, hook.text
    async with sessionmaker() as session:  # a TOTP secret, as a user enrolling stores it
        user = User(email="tech@msp.example", name="Tech", role=Role.technician)
        session.add(user)
        begin_totp(session, user)
        await session.commit()


def _env(settings: Any, key: str) -> dict[str, str]:
    return {
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_SECRET_KEY": key,
        "HUB_DATA_DIR": str(settings.data_dir),
        "HUB_ADAPTER_EXTRA": "tests.sync.testvendor:spec",
    }


async def test_secrets_rotate_reencrypts_every_encrypted_column_under_the_newest_key(
    app, api, settings, vendor
):
    sm = app.state.runtime.sessionmaker
    await _store_one_of_each(api, vendor, sm)
    # One value still under the bare key, as an install upgraded from before per-purpose keys has.
    async with sm() as session:
        account = (await session.execute(select(VendorAccount))).scalar_one()
        await session.execute(
            update(VendorAccount)
            .where(VendorAccount.id == account.id)
            .values(support_pin_encrypted=SecretBox([TEST_KEY.encode()]).encrypt("4321"))
        )
        await session.commit()
    new_key = Fernet.generate_key().decode()
    rotated = await asyncio.to_thread(
        runner.invoke, cli, ["secrets", "rotate"], env=_env(settings, f"{new_key},{TEST_KEY}")
    )
    assert rotated.exit_code == 0, rotated.output
    assert "1 value(s) were under a bare master key" in rotated.output
    only_new = Keyring([new_key.encode()], legacy_reads=False)
    async with sm() as session:
        for target in encrypted_columns():
            values = (
                (await session.execute(select(target.column).where(target.column.is_not(None))))
                .scalars()
                .all()
            )
            assert values, f"the test stored no value in {target.label}: extend _store_one_of_each"
            assert f"{len(values)} {target.label}" in rotated.output
            for token in values:
                plain = only_new.box(target.purpose).decrypt(token)  # raises if it was not rotated
                assert plain
    # And the hub runs on the new key alone: the PIN reveals, the webhook signs, the connection tests.
    account_id = str(account.id)
    async with sm() as session:
        pin_token = (await session.execute(select(VendorAccount.support_pin_encrypted))).scalar_one()
    assert only_new.box(Purpose.support_pin).decrypt(pin_token or "") == "4321"
    assert account_id
