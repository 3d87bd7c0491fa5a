"""Support PINs of the demo's accounts, so that the "who to call" cards show one on file.

Apart from `load_demo` because a PIN is stored encrypted: this needs the runtime's keyring
(a session made by a `HubRuntime`), which the bare dataset loader does not."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import secret_box
from hub.demo.catalogue import CLIENTS, VENDORS_BY_KEY
from hub.kit.crypto import Purpose
from hub.kit.time import utcnow
from hub.models import Client, Vendor, VendorAccount

# Vendors whose desks ask for the account's PIN on the phone (lines, domains, mail, voice).
PIN_VENDORS = (
    "fastweb",
    "tim",
    "eolo",
    "swisscom",
    "registerit",
    "aruba",
    "microsoft365",
    "google",
    "messagenet",
)


def demo_pin(account_number: str) -> str:
    """A fictitious six-digit PIN, the same for the same account on every run."""
    return f"{int(hashlib.sha256(account_number.encode()).hexdigest(), 16) % 1_000_000:06d}"


async def ensure_support_pins(session: AsyncSession) -> int:
    """Store a PIN on the demo clients' accounts with those vendors that have none; the
    number stored. A PIN someone set is never replaced."""
    names = [VENDORS_BY_KEY[key].name for key in PIN_VENDORS]
    accounts = (
        await session.execute(
            select(VendorAccount)
            .join(Vendor, Vendor.id == VendorAccount.vendor_id)
            .join(Client, Client.id == VendorAccount.client_id)
            .where(
                Vendor.name.in_(names),
                Client.slug.in_([c.slug for c in CLIENTS]),
                VendorAccount.support_pin_encrypted.is_(None),
            )
        )
    ).scalars()
    box = secret_box(session, Purpose.support_pin)
    stored = 0
    for account in accounts:
        account.support_pin_encrypted = box.encrypt(demo_pin(account.account_number))
        account.support_pin_changed_at = utcnow()
        stored += 1
    await session.flush()
    return stored
