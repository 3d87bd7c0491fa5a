"""Connections: an adapter instance with its encrypted config, scoped to the MSP or one
client; create/update validate the config with the adapter's model, and `verify` asks the
vendor whether the credentials work (three phases: no transaction is open while the
vendor is called)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.api.crud import CrudService, Resource, equals
from hub.audit.service import record
from hub.auth.principal import Principal
from hub.client.service import require_client
from hub.connection import health, policy, secrets
from hub.connection.schemas import ConnectionRead, ConnectionTestResult
from hub.db import keyring_of, runtime_of
from hub.errors import Conflict, Forbidden, InvalidInput, NotFound
from hub.models import Connection
from hub.models.enums import AuditAction, ConnectionHealth, ConnectionScope, Role
from hub.sdk.errors import AdapterError, ConfigurationError
from hub.sdk.manifest import AdapterSpec

if TYPE_CHECKING:
    from hub.runtime import HubRuntime

log = logging.getLogger("hub.connection")


class ConnectionService(CrudService[Connection]):
    resource = Resource(
        model=Connection,
        label="connection",
        subject_type="connection",
        # A viewer's scope is `client_id = <its client>`: MSP-wide connections (no client)
        # are never visible to a viewer.
        client_column=Connection.client_id,
        sort_fields={
            "name": Connection.name,
            "adapter_slug": Connection.adapter_slug,
            "health": Connection.health,
            "created_at": Connection.created_at,
            "next_sync_at": Connection.next_sync_at,
        },
        default_sort="name",
        filters={
            "adapter_slug": equals(Connection.adapter_slug),
            "client_id": equals(Connection.client_id),
            "scope": equals(Connection.scope),
            "health": equals(Connection.health),
            "enabled": equals(Connection.enabled),
        },
    )

    async def _unique_account(
        self, session: AsyncSession, slug: str, account_ref: str, *, skip: uuid.UUID | None = None
    ) -> None:
        stmt = select(Connection.id, Connection.name).where(
            Connection.adapter_slug == slug, Connection.account_ref == account_ref
        )
        for found_id, name in (await session.execute(stmt)).all():
            if found_id != skip:
                raise Conflict(
                    f"connection '{name}' already connects to this {slug} account ({account_ref}); "
                    "one vendor account has one connection"
                )

    async def prepare_create(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any]
    ) -> dict[str, Any]:
        spec = runtime_of(session).connections.require_spec(values["adapter_slug"])
        client_id = values.get("client_id")
        scope = values.get("scope") or (ConnectionScope.client if client_id else ConnectionScope.msp)
        if scope is ConnectionScope.client:
            if client_id is None:
                raise InvalidInput("client_id", "a client-scoped connection needs its client")
            await require_client(session, principal, client_id)
        elif client_id is not None:
            raise InvalidInput("client_id", "an MSP-wide connection belongs to no client; use scope=client")
        config = secrets.parse(spec, values.pop("config"))
        plain = secrets.plain_config(config)
        self._check_hosts(session, principal, spec, plain)
        account_ref = spec.account_ref(config)
        if len(account_ref) > 200 or not account_ref.strip():
            raise InvalidInput(f"config.{spec.manifest.account_ref_field}", "must be 1 to 200 characters")
        await self._unique_account(session, spec.manifest.slug, account_ref)
        now = runtime_of(session).now()
        values.update(
            scope=scope,
            account_ref=account_ref,
            config_encrypted=secrets.encrypt(keyring_of(session), plain),
            config_changed_at=now,
            secrets_changed_at=secrets.changed_secrets(spec, None, plain, now, {}),
            health=ConnectionHealth.unknown,
            next_sync_at=now if values.get("enabled", True) else None,
        )
        return values

    async def prepare_update(
        self, session: AsyncSession, principal: Principal, obj: Connection, changes: dict[str, Any]
    ) -> dict[str, Any]:
        for name in ("name", "enabled", "config"):
            if name in changes and changes[name] is None:
                raise InvalidInput(name, "cannot be null")
        if changes.get("enabled") and not obj.enabled:
            changes["next_sync_at"] = runtime_of(session).now()
        if "config" in changes:
            spec = runtime_of(session).connections.require_spec(obj.adapter_slug, field="config")
            box = keyring_of(session)
            stored = secrets.decrypt(box, obj.config_encrypted)
            sent = changes.pop("config")
            config = secrets.parse(spec, secrets.merge_keeping_secrets(spec, stored, sent))
            plain = secrets.plain_config(config)
            moved = policy.changed_endpoints(spec.manifest.endpoint_fields, stored, plain)
            if moved:
                # The credentials would go somewhere else: the stored secrets stay behind.
                self._require_fresh_secrets(spec, sent, moved)
                config = secrets.parse(spec, sent)
                plain = secrets.plain_config(config)
                self._check_hosts(session, principal, spec, plain)
            account_ref = spec.account_ref(config)
            await self._unique_account(session, obj.adapter_slug, account_ref, skip=obj.id)
            if plain != stored:
                now = runtime_of(session).now()
                changes.update(
                    account_ref=account_ref,
                    config_encrypted=secrets.encrypt(box, plain),
                    config_changed_at=now,
                    secrets_changed_at=secrets.changed_secrets(
                        spec, stored, plain, now, dict(obj.secrets_changed_at or {})
                    ),
                    # New credentials deserve a fresh look, not the old verdict.
                    health=ConnectionHealth.unknown,
                    consecutive_failures=0,
                    last_error=None,
                    next_sync_at=now,
                )
        return changes

    @staticmethod
    def _require_fresh_secrets(spec: AdapterSpec, sent: dict[str, Any], moved: list[str]) -> None:
        what = ", ".join(f"config.{name}" for name in moved)
        for name in sorted(secrets.secret_field_names(spec.manifest.config_model)):
            if sent.get(name) in (None, ""):
                raise InvalidInput(
                    f"config.{name}",
                    f"send the secret again: {what} changed, which sends the credentials elsewhere, "
                    "so the stored secret is not kept",
                )

    @staticmethod
    def _check_hosts(
        session: AsyncSession, principal: Principal, spec: AdapterSpec, plain: dict[str, Any]
    ) -> None:
        """A host that is neither the vendor's nor allowed by the settings needs an admin."""
        manifest = spec.manifest
        extra = runtime_of(session).settings.adapters.allowed_hosts
        bad = policy.unofficial_hosts(manifest.endpoint_fields, plain, manifest.official_hosts, extra)
        if bad and principal.role is not Role.admin:
            field, hosts = next(iter(bad.items()))
            official = ", ".join(manifest.official_hosts) or "none declared"
            raise Forbidden(
                f"config.{field}: {', '.join(hosts)} is not a host of {manifest.vendor} ({official}); "
                "only an admin may send a connection's credentials elsewhere",
                errors=[{"field": f"config.{field}", "in": "body", "message": "not an official host"}],
            )


connections = ConnectionService()


def to_read(session: AsyncSession, obj: Connection) -> ConnectionRead:
    spec = runtime_of(session).connections.spec_for(obj.adapter_slug)
    stored = secrets.decrypt(keyring_of(session), obj.config_encrypted) if spec is not None else {}
    return ConnectionRead.model_validate(
        {
            **{k: getattr(obj, k) for k in ConnectionRead.model_fields if hasattr(obj, k)},
            "adapter_installed": spec is not None,
            "config": secrets.public_view(spec, stored, dict(obj.secrets_changed_at or {})),
        }
    )


async def apply_outcome(
    session: AsyncSession,
    connection: Connection,
    *,
    error: BaseException | None,
    message: str | None,
    degraded_after: int,
    success_at: datetime | None = None,
) -> None:
    """Connection health after a vendor call (sync, warranty lookups and `test` share this)."""
    if error is None:
        state = health.after_success()
        if success_at is not None:
            connection.last_success_at = success_at
    else:
        state = health.after_failure(
            connection.health, connection.consecutive_failures, error, message or "", degraded_after
        )
    connection.health = state.health
    connection.consecutive_failures = state.consecutive_failures
    connection.last_error = state.last_error


async def verify(runtime: HubRuntime, principal: Principal, connection_id: uuid.UUID) -> ConnectionTestResult:
    """Ask the vendor whether the connection's credentials work, and record the answer as
    the connection's health (audited as a vendor action)."""
    principal.require_staff()
    settings = runtime.settings.adapters
    # 1. short read: the connection and its decrypted config
    async with runtime.sessionmaker() as session:
        connection = await connections.get(session, principal, connection_id)
        spec = runtime.connections.require_spec(connection.adapter_slug, field="adapter_slug")
        stored = secrets.decrypt(keyring_of(session), connection.config_encrypted)
        changed_at = connection.config_changed_at
    hidden = secrets.secrets_of(spec, stored)
    identity = None
    error: BaseException | None = None
    mismatch = ""
    # 2. the vendor call, no transaction open
    try:
        config = spec.parse_config(stored)
        async with (
            asyncio.timeout(settings.verify_timeout_seconds),
            runtime.connections.open(
                spec, config, connection_id, http_timeout=runtime.settings.sync.http_timeout_seconds
            ) as adapter,
        ):
            identity = await adapter.verify()
        if identity.account_ref != connection.account_ref:
            mismatch = (
                f"the credentials belong to account {identity.account_ref}, "
                f"not {connection.account_ref} as configured"
            )
            error = ConfigurationError(mismatch)
    except (AdapterError, TimeoutError) as exc:
        error = exc
    except Exception as exc:  # a bug in an adapter must not take the API down
        log.error("verify of connection %s failed: %s", connection_id, type(exc).__name__)
        error = exc
    message = None
    if error is not None:
        # The caller (and the audit, and last_error) get the hub's words for the failure,
        # never the answer's text: the target may be any host. The server log keeps it.
        log.info("verify of connection %s: %s", connection_id, secrets.redact(health.describe(error), hidden))
        message = secrets.redact(mismatch if mismatch else health.describe_for_caller(error), hidden)
    # 3. short write: health and the audit record
    async with runtime.unit_of_work() as session:
        current = await session.get(Connection, connection_id)
        if current is None:
            raise NotFound(f"connection {connection_id} not found")
        if current.config_changed_at == changed_at:
            await apply_outcome(
                session, current, error=error, message=message, degraded_after=settings.degraded_after
            )
        record(
            session,
            principal,
            AuditAction.vendor_action,
            subject_type="connection",
            subject_id=connection_id,
            client_id=current.client_id,
            meta={"action": "verify", "ok": error is None, "error": message},
        )
        current_health = current.health
    return ConnectionTestResult(
        connection_id=connection_id,
        ok=error is None,
        health=current_health,
        account_ref=identity.account_ref if identity else None,
        account_name=identity.name if identity else None,
        error=message,
    )
