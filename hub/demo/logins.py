"""The demo's sign-ins: an admin, a technician and one client admin per demo client (never
for a client the user added), with generated passwords kept in `var/demo-logins.json`
(mode 0600). A second run keeps the same people and passwords (a password that no longer
verifies is set again)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth import passwords, users
from hub.auth.principal import CLI
from hub.demo.catalogue import CLIENTS
from hub.kit.time import utcnow
from hub.models import Client
from hub.models.enums import ClientStatus, Role

LOGINS_FILE = "demo-logins.json"
STAFF = (
    ("admin@msp.example", "Demo Admin", Role.admin),
    ("tech@msp.example", "Demo Technician", Role.technician),
)


def _new_password() -> str:
    while True:
        candidate = secrets.token_urlsafe(15)  # 20 characters
        if passwords.problem(candidate) is None:
            return candidate


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {e["email"]: e["password"] for e in data.get("logins", []) if isinstance(e, dict) and "email" in e}


def _write(path: Path, logins: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"logins": logins}, fh, indent=2)
        fh.write("\n")
    path.chmod(0o600)  # an existing file keeps its old mode through O_CREAT


async def ensure_logins(session: AsyncSession, data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / LOGINS_FILE
    known = _read(path)
    wanted: list[tuple[str, str, Role, Any]] = [(e, n, r, None) for e, n, r in STAFF]
    clients = (
        await session.execute(
            select(Client)
            .where(Client.status != ClientStatus.archived, Client.slug.in_([c.slug for c in CLIENTS]))
            .order_by(Client.name)
        )
    ).scalars()
    wanted += [(f"portal@{c.slug}.example", f"{c.name} (portal)", Role.client_admin, c) for c in clients]
    logins = []
    for email, name, role, client in wanted:
        user = await users.by_email(session, email)
        if user is None:
            user = await users.create_user(
                session, CLI, email=email, name=name, role=role, client_id=client.id if client else None
            )
        password = known.get(email)
        if password is None or not passwords.verify_password(user.password_hash, password)[0]:
            password = _new_password()
            users.set_password(user, password, utcnow())
        logins.append(
            {
                "email": email,
                "password": password,
                "role": role.value,
                "client": client.name if client else None,
            }
        )
    await session.flush()
    _write(path, logins)
    return logins


__all__ = ["LOGINS_FILE", "ensure_logins"]
