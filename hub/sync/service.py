"""One sync of one connection, in three phases:

1. `plan` (short read transaction): the connection, its decrypted config, the serials
   to look warranties up for;
2. `collect` (no transaction open): every capability's records from the vendor, with
   bounded concurrency, inside an overall deadline;
3. `store` / `store_failure` (one short write transaction, the job's fenced completion):
   upsert records on (connection, kind, external id), mark the unseen missing, map
   tenants to clients, write the few safe facts into the hub, flag and resolve
   discrepancies, and update the connection's health.

Facts written into the hub (only where the match is unambiguous):
- a found warranty's entitlements become adapter-sourced `Warranty` rows of the asset with
  that serial (created or their end date updated; manually entered warranties are never
  changed: a different vendor date is flagged as a discrepancy instead);
- a firmware record sets `firmware_version` of the asset with that serial, and
  `firmware_latest` when the vendor names a newest version (an empty list of available
  versions means the box cannot ask its vendor: the last known latest is kept);
- a hub subscription with the record's external id (of this connection or of none) gets
  `last_synced_at`, and `missing_since` when the vendor no longer lists it; a licence's
  `seats_used` is written on it. Quantities (seats paid) and dates are never overwritten:
  they are flagged;
- hub subscriptions are never linked by sync: unlinked ones that match a listed vendor
  subscription of their client's tenant are proposed (`hub.link.proposals`), and a
  technician accepts or rejects each;
- a printer status record gives a print plan of that printer (a subscription whose
  `print_allowance` names the asset) its first counter reading of the current term, once
  per term (`term_start_reading`); the latest reading stays in the vendor record.

The daily warranty lookup (`hub.warranty`) reuses the warranty half of this: records
upserted without marking others missing, Warranty rows written, discrepancies flagged and
resolved only for the serials it looked up.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel
from sqlalchemy import Select, Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit.service import record as audit
from hub.auth.principal import Principal
from hub.connection import health, secrets
from hub.connection.service import apply_outcome
from hub.db import keyring_of, runtime_of
from hub.jobs import enqueue
from hub.kit.time import utcnow
from hub.link.proposals import propose_links
from hub.models import Asset, Connection, Domain, Subscription, VendorAccount, Warranty
from hub.models.enums import AuditAction, ConnectionScope, Role, WarrantySource
from hub.models.job import Job, JobState
from hub.models.sync import Discrepancy, MappedBy, TenantMapping, VendorRecord
from hub.sdk.capabilities import Capability
from hub.sdk.errors import AdapterError
from hub.sdk.manifest import AdapterSpec
from hub.sdk.records import Record, TenantRecord
from hub.subscription.service import SYNCED_READING
from hub.sync import engine
from hub.sync.schemas import SyncConnection
from hub.sync.settings import SyncSettings

if TYPE_CHECKING:
    from hub.runtime import HubRuntime

log = logging.getLogger("hub.sync")

SYNC_TASK = SyncConnection.kind
ASSET_KINDS = frozenset({"warranty", "firmware", "assets", "printer_status"})
# Records about a domain (a registrar's list): the client is whoever holds that domain in the
# hub, since a registrar account (a Gandi organisation) is usually the MSP's, for everyone.
DOMAIN_KINDS = frozenset({"domains"})
CHUNK = 500


def dedupe_key(connection_id: uuid.UUID) -> str:
    return f"{SYNC_TASK}:{connection_id}"


def system_principal(actor: str | None = None) -> Principal:
    return Principal(actor=actor or "system:sync", role=Role.admin)


# --- enqueueing --------------------------------------------------------------------------


async def request_sync(
    session: AsyncSession, connection: Connection, *, actor: str, audit_as: Principal | None = None
) -> tuple[int, bool]:
    """Queue a sync of `connection` (in the caller's transaction); (job id, already queued)."""
    key = dedupe_key(connection.id)
    job_id = await enqueue(session, SyncConnection(connection_id=connection.id, actor=actor), dedupe_key=key)
    already = job_id is None
    if job_id is None:
        stmt = select(Job.id).where(Job.dedupe_key == key, Job.state.in_([JobState.queued, JobState.running]))
        job_id = (await session.execute(stmt.order_by(Job.id.desc()).limit(1))).scalar_one()
    if audit_as is not None:
        audit(
            session,
            audit_as,
            AuditAction.vendor_action,
            subject_type="connection",
            subject_id=connection.id,
            client_id=connection.client_id,
            meta={"action": "sync_requested", "job_id": job_id},
        )
    return job_id, already


async def schedule_due(session: AsyncSession, settings: SyncSettings) -> int:
    """Queue a sync of every enabled connection that is due; its next_sync_at moves a full
    interval ahead at once, so a job that never finishes is not re-queued every minute."""
    now = utcnow()
    stmt = select(Connection).where(
        Connection.enabled.is_(True),
        (Connection.next_sync_at.is_(None)) | (Connection.next_sync_at <= now),
    )
    queued = 0
    for connection in (await session.execute(stmt)).scalars():
        if runtime_of(session).connections.spec_for(connection.adapter_slug) is None:
            continue  # adapter uninstalled: nothing can sync it
        _, already = await request_sync(session, connection, actor="system:schedule")
        connection.next_sync_at = now + timedelta(minutes=settings.interval_minutes)
        queued += 0 if already else 1
    return queued


# --- phase 1: plan -----------------------------------------------------------------------


def warranty_serials(connection: Connection, spec: AdapterSpec) -> Select[Any]:
    """The serials a warranty connection may look up: its client's assets (or every
    client's, for an MSP-wide connection) made by the adapter's vendor."""
    stmt = select(Asset.serial).where(Asset.serial.is_not(None))
    if connection.scope is ConnectionScope.client:
        stmt = stmt.where(Asset.client_id == connection.client_id)
    # A warranty vendor knows its own hardware: ask for that manufacturer's serials.
    return stmt.where(func.lower(Asset.manufacturer) == spec.manifest.vendor.lower())


@dataclass
class Plan:
    connection_id: uuid.UUID
    spec: AdapterSpec
    config: BaseModel | None  # None: the stored config no longer validates
    config_error: BaseException | None
    secrets: list[str]
    scope: ConnectionScope
    client_id: uuid.UUID | None
    config_changed_at: datetime | None
    serials: list[str] = field(default_factory=list)


async def plan(session: AsyncSession, connection_id: uuid.UUID) -> Plan | None:
    connection = await session.get(Connection, connection_id)
    if connection is None or not connection.enabled:
        return None
    spec = runtime_of(session).connections.spec_for(connection.adapter_slug)
    if spec is None:
        return None
    stored = secrets.decrypt(keyring_of(session), connection.config_encrypted)
    config: BaseModel | None = None
    error: BaseException | None = None
    try:
        config = spec.parse_config(stored)
    except Exception as exc:  # ConfigurationError: the adapter's model changed since
        error = exc
    serials: list[str] = []
    if Capability.warranty in spec.manifest.capabilities:
        stmt = warranty_serials(connection, spec)
        serials = sorted({s for s in (await session.execute(stmt)).scalars() if s})
    return Plan(
        connection_id,
        spec,
        config,
        error,
        secrets.secrets_of(spec, stored),
        connection.scope,
        connection.client_id,
        connection.config_changed_at,
        serials,
    )


# --- phase 2: collect --------------------------------------------------------------------


Collected = dict[str, list[Record]]


async def collect(p: Plan, runtime: HubRuntime) -> Collected:
    """Every record the vendor has for the connection's capabilities. Raises the first
    failure (an AdapterError, or TimeoutError past the deadline): a partial collection is
    never stored, so "missing" always means "a complete sync did not see it"."""
    if p.config is None:
        assert p.config_error is not None
        raise p.config_error
    settings = runtime.settings.sync
    out: Collected = {}
    gate = asyncio.Semaphore(settings.concurrency)

    async def drain(kind: str, items: AsyncIterator[Record]) -> None:
        async with gate:
            out.setdefault(kind, []).extend([item async for item in items])

    async def warranties(adapter: Any, batch: Sequence[str]) -> None:
        async with gate:
            out.setdefault("warranty", []).extend(await adapter.lookup_warranties(list(batch)))

    async def zones(adapter: Any) -> None:
        async with gate:
            found = [zone async for zone in adapter.list_zones()]
        out["dns_zones"] = list(found)
        out.setdefault("dns_records", [])
        async with asyncio.TaskGroup() as group:
            for zone in found:
                group.create_task(drain("dns_records", adapter.list_records(zone.external_id)))

    async with (
        asyncio.timeout(settings.deadline_seconds),
        runtime.connections.open(
            p.spec, p.config, p.connection_id, http_timeout=settings.http_timeout_seconds
        ) as adapter,
    ):
        can = {cap for cap, ok in p.spec.implemented(adapter).items() if ok}
        a: Any = adapter
        async with asyncio.TaskGroup() as group:
            streams = {
                Capability.tenants: ("tenants", "list_tenants"),
                Capability.subscriptions: ("subscriptions", "list_subscriptions"),
                Capability.license_usage: ("license_usage", "list_licenses"),
                Capability.assets: ("assets", "list_assets"),
                Capability.firmware: ("firmware", "list_firmware"),
                Capability.mail_domains: ("mail_domains", "list_mail_domains"),
                Capability.domains: ("domains", "list_domains"),
                Capability.printer_status: ("printer_status", "list_printers"),
            }
            for cap, (kind, method) in streams.items():
                if cap in can:
                    out.setdefault(kind, [])
                    group.create_task(drain(kind, getattr(a, method)()))
            if Capability.warranty in can:
                out.setdefault("warranty", [])
                size = max(1, int(getattr(a, "max_batch", 100)))
                for i in range(0, len(p.serials), size):
                    group.create_task(warranties(a, p.serials[i : i + size]))
            if Capability.dns_zones in can or Capability.dns_write in can:
                group.create_task(zones(a))
    return out


async def run_collect(p: Plan, runtime: HubRuntime) -> tuple[Collected | None, Exception | None]:
    """`collect`, with its failure returned instead of raised (unwrapped from task groups)."""
    try:
        return await collect(p, runtime), None
    except Exception as raised:
        exc: Exception = raised
        while isinstance(exc, ExceptionGroup):
            exc = exc.exceptions[0]
        if not isinstance(exc, AdapterError | TimeoutError):
            # A bug, not a vendor failure: log the type only (its text may hold anything).
            log.error("sync of connection %s failed unexpectedly: %s", p.connection_id, type(exc).__name__)
        return None, exc


# --- phase 3: store ----------------------------------------------------------------------


async def store_failure(session: AsyncSession, p: Plan, exc: BaseException, *, actor: str | None) -> None:
    connection = await session.get(Connection, p.connection_id)
    if connection is None or connection.config_changed_at != p.config_changed_at:
        return  # deleted, or new credentials since: this verdict is about the old ones
    runtime = runtime_of(session)
    settings = runtime.settings.sync
    message = secrets.redact(health.describe(exc), p.secrets)
    await apply_outcome(
        session,
        connection,
        error=exc,
        message=message,
        degraded_after=runtime.settings.adapters.degraded_after,
    )
    now = runtime.now()
    connection.next_sync_at = now + health.retry_delay(
        exc,
        connection.consecutive_failures,
        timedelta(minutes=settings.failure_backoff_minutes),
        timedelta(minutes=settings.interval_minutes),
    )
    audit(
        session,
        system_principal(actor),
        AuditAction.vendor_action,
        subject_type="connection",
        subject_id=connection.id,
        client_id=connection.client_id,
        meta={"action": "sync", "ok": False, "error": message, "health": connection.health.value},
    )


async def store(
    session: AsyncSession, p: Plan, collected: Collected, *, actor: str | None
) -> dict[str, Any] | None:
    connection = await session.get(Connection, p.connection_id)
    if connection is None or connection.config_changed_at != p.config_changed_at:
        return None
    runtime = runtime_of(session)
    settings = runtime.settings.sync
    now = runtime.now()
    tenants = [t for t in collected.get("tenants", []) if isinstance(t, TenantRecord)]
    tenant_clients = await _map_tenants(session, connection, tenants, now, seen_all="tenants" in collected)
    serials = {r.external_id for kind, items in collected.items() if kind in ASSET_KINDS for r in items}
    assets = await _assets_by_serial(session, serials)
    names = {r.external_id for kind, items in collected.items() if kind in DOMAIN_KINDS for r in items}
    stats = await _upsert_records(
        session,
        connection,
        collected,
        tenant_clients,
        assets,
        now,
        domains=await _domain_owners(session, names),
    )
    hub = await _write_hub_facts(session, connection, collected, assets, now)
    found, resolved = await _discrepancies(session, connection, collected, tenant_clients, now)
    # Proposed, never made: a technician accepts or rejects each (hub.link.proposals).
    links = await propose_links(session, connection.id, now)
    await apply_outcome(
        session,
        connection,
        error=None,
        message=None,
        degraded_after=runtime.settings.adapters.degraded_after,
        success_at=now,
    )
    connection.next_sync_at = now + timedelta(minutes=settings.interval_minutes)
    stats.update(hub, **links, discrepancies_open=found, discrepancies_resolved=resolved)
    audit(
        session,
        system_principal(actor),
        AuditAction.vendor_action,
        subject_type="connection",
        subject_id=connection.id,
        client_id=connection.client_id,
        meta={"action": "sync", "ok": True, "stats": stats},
    )
    return stats


async def store_warranty_lookup(
    session: AsyncSession, p: Plan, records: list[Record], now: datetime
) -> dict[str, Any] | None:
    """The warranty half of `store`, for a lookup of some serials only (the daily refresh):
    records upserted without marking the others missing, adapter-sourced Warranty rows
    written, and warranty discrepancies flagged, or resolved for the serials looked up.
    None when the connection is gone or its credentials changed since the plan."""
    connection = await session.get(Connection, p.connection_id)
    if connection is None or connection.config_changed_at != p.config_changed_at:
        return None
    collected: Collected = {"warranty": list(records)}
    assets = await _assets_by_serial(session, {r.external_id for r in records})
    stats = await _upsert_records(session, connection, collected, {}, assets, now, mark_missing=False)
    written = write_warranties(
        await _warranty_rows(session, collected, assets), collected, assets, now, session
    )
    await session.flush()
    found, resolved = await _discrepancies(
        session, connection, collected, {}, now, only={("warranty", r.external_id) for r in records}
    )
    stats.update(warranties_written=written, discrepancies_open=found, discrepancies_resolved=resolved)
    return stats


def _single(clients: set[uuid.UUID]) -> uuid.UUID | None:
    return next(iter(clients)) if len(clients) == 1 else None


@dataclass
class _TenantCandidates:
    """The clients each tenant could be, by the vendor account's external ref, by its
    account number, and by a domain of the tenant's."""

    by_ref: dict[str, set[uuid.UUID]] = field(default_factory=lambda: defaultdict(set))
    by_number: dict[str, set[uuid.UUID]] = field(default_factory=lambda: defaultdict(set))
    by_domain: dict[str, set[uuid.UUID]] = field(default_factory=lambda: defaultdict(set))

    def client_for(self, tenant: TenantRecord) -> tuple[MappedBy, uuid.UUID] | None:
        """The one client the first signal that names exactly one points at."""
        domain = (tenant.domain or "").lower().rstrip(".")
        for how, client in (
            (MappedBy.external_ref, _single(self.by_ref.get(tenant.external_id, set()))),
            (MappedBy.account_number, _single(self.by_number.get(tenant.external_id, set()))),
            (MappedBy.domain, _single(self.by_domain.get(domain, set())) if domain else None),
        ):
            if client is not None:
                return how, client
        return None


async def _tenant_candidates(session: AsyncSession, tenants: list[TenantRecord]) -> _TenantCandidates:
    found = _TenantCandidates()
    ids = [t.external_id for t in tenants]
    for i in range(0, len(ids), CHUNK):
        part = ids[i : i + CHUNK]
        for ref, cid in await session.execute(
            select(VendorAccount.external_ref, VendorAccount.client_id).where(
                VendorAccount.external_ref.in_(part)
            )
        ):
            if ref is not None:
                found.by_ref[ref].add(cid)
        for number, cid in await session.execute(
            select(VendorAccount.account_number, VendorAccount.client_id).where(
                VendorAccount.account_number.in_(part)
            )
        ):
            found.by_number[number].add(cid)
    names = sorted({t.domain.lower().rstrip(".") for t in tenants if t.domain})
    for i in range(0, len(names), CHUNK):
        for name, cid in await session.execute(
            select(Domain.name, Domain.client_id).where(Domain.name.in_(names[i : i + CHUNK]))
        ):
            found.by_domain[name.lower()].add(cid)
    return found


async def _map_tenants(
    session: AsyncSession,
    connection: Connection,
    tenants: list[TenantRecord],
    now: datetime,
    *,
    seen_all: bool,
) -> dict[str, uuid.UUID | None]:
    """Upsert the tenant mappings; auto-map new or unmapped tenants when exactly one client
    matches (a vendor account whose external ref, then account number, is the tenant id;
    then a domain of the tenant's). Returns tenant external id -> client (or None)."""
    rows = (
        (await session.execute(select(TenantMapping).where(TenantMapping.connection_id == connection.id)))
        .scalars()
        .all()
    )
    existing = {m.external_id: m for m in rows}
    candidates = await _tenant_candidates(session, tenants)
    out: dict[str, uuid.UUID | None] = {}
    for tenant in tenants:
        m = existing.get(tenant.external_id)
        if m is None:
            m = TenantMapping(connection_id=connection.id, external_id=tenant.external_id, first_seen_at=now)
            session.add(m)
            existing[tenant.external_id] = m
        m.name = tenant.name[:300]
        m.domain = tenant.domain[:255] if tenant.domain else None
        m.last_seen_at = now
        m.missing_since = None
        if m.client_id is None and m.mapped_by is not MappedBy.manual:
            if connection.scope is ConnectionScope.client:
                m.client_id, m.mapped_by = connection.client_id, MappedBy.connection
            elif (match := candidates.client_for(tenant)) is not None:
                m.mapped_by, m.client_id = match
        out[tenant.external_id] = m.client_id
    for ext, m in existing.items():
        if ext not in out:
            if seen_all and m.missing_since is None and m.last_seen_at is not None:
                m.missing_since = now
            out[ext] = m.client_id
    await session.flush()
    return out


@dataclass(frozen=True)
class AssetRef:
    id: uuid.UUID
    client_id: uuid.UUID


async def _assets_by_serial(session: AsyncSession, serials: set[str]) -> dict[str, AssetRef]:
    """Assets by serial, only where the serial names exactly one asset."""
    found: dict[str, list[AssetRef]] = defaultdict(list)
    ordered = sorted(serials)
    for i in range(0, len(ordered), CHUNK):
        stmt = select(Asset.serial, Asset.id, Asset.client_id).where(Asset.serial.in_(ordered[i : i + CHUNK]))
        for serial, asset_id, client_id in await session.execute(stmt):
            if serial is not None:
                found[serial].append(AssetRef(asset_id, client_id))
    return {serial: refs[0] for serial, refs in found.items() if len(refs) == 1}


async def _domain_owners(session: AsyncSession, names: set[str]) -> dict[str, uuid.UUID]:
    """Domain name -> the client holding it in the hub (a name held by two: neither)."""
    found: dict[str, set[uuid.UUID]] = defaultdict(set)
    ordered = sorted(names)
    for i in range(0, len(ordered), CHUNK):
        rows = await session.execute(
            select(Domain.name, Domain.client_id).where(Domain.name.in_(ordered[i : i + CHUNK]))
        )
        for name, client_id in rows:
            found[name].add(client_id)
    return {name: next(iter(ids)) for name, ids in found.items() if len(ids) == 1}


def _client_of(
    connection: Connection,
    kind: str,
    payload: dict[str, Any],
    tenant_clients: dict[str, uuid.UUID | None],
    assets: dict[str, AssetRef],
    domains: dict[str, uuid.UUID],
) -> uuid.UUID | None:
    if connection.scope is ConnectionScope.client:
        return connection.client_id
    if kind == "tenants":
        return tenant_clients.get(payload["external_id"])
    if kind in ASSET_KINDS:
        ref = assets.get(payload["external_id"])
        return ref.client_id if ref else None
    if kind in DOMAIN_KINDS:
        return domains.get(payload["external_id"])
    tenant = payload.get("tenant_external_id")
    return tenant_clients.get(tenant) if tenant else None


async def _upsert_records(
    session: AsyncSession,
    connection: Connection,
    collected: Collected,
    tenant_clients: dict[str, uuid.UUID | None],
    assets: dict[str, AssetRef],
    now: datetime,
    *,
    mark_missing: bool = True,
    domains: dict[str, uuid.UUID] | None = None,
) -> dict[str, Any]:
    """`mark_missing` False: a partial read (some serials looked up), which proves nothing
    about the records it did not ask for."""
    existing: dict[tuple[str, str], tuple[int, str, datetime | None, uuid.UUID | None]] = {}
    stmt = select(
        VendorRecord.kind,
        VendorRecord.external_id,
        VendorRecord.id,
        VendorRecord.content_hash,
        VendorRecord.missing_since,
        VendorRecord.client_id,
    ).where(VendorRecord.connection_id == connection.id)
    for kind, ext, rid, digest, missing, client in await session.execute(stmt):
        existing[(kind, ext)] = (rid, digest, missing, client)
    inserts: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    unchanged: list[int] = []
    for kind, items in collected.items():
        seen: set[str] = set()
        for item in items:
            if item.external_id in seen:
                continue  # a vendor listing an item twice (page overlap) stores it once
            seen.add(item.external_id)
            payload = item.model_dump(mode="json")
            digest = engine.content_hash(payload)
            client = _client_of(connection, kind, payload, tenant_clients, assets, domains or {})
            tenant = payload.get("tenant_external_id") if kind != "tenants" else item.external_id
            old = existing.get((kind, item.external_id))
            if old is None:
                inserts.append(
                    {
                        "connection_id": connection.id,
                        "kind": kind,
                        "external_id": item.external_id,
                        "tenant_external_id": tenant,
                        "client_id": client,
                        "payload": payload,
                        "content_hash": digest,
                        "first_seen_at": now,
                        "last_seen_at": now,
                        "missing_since": None,
                    }
                )
            elif old[1] == digest and old[2] is None and old[3] == client:
                unchanged.append(old[0])
            else:
                changes.append(
                    {
                        "id": old[0],
                        "payload": payload,
                        "content_hash": digest,
                        "client_id": client,
                        "tenant_external_id": tenant,
                        "last_seen_at": now,
                        "missing_since": None,
                    }
                )
    for i in range(0, len(inserts), CHUNK):
        await session.execute(insert(VendorRecord), inserts[i : i + CHUNK])
    if changes:
        await session.execute(update(VendorRecord), changes)
    for i in range(0, len(unchanged), CHUNK):
        await session.execute(
            update(VendorRecord)
            .where(VendorRecord.id.in_(unchanged[i : i + CHUNK]))
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
    gone = None
    if mark_missing:
        gone = await session.execute(
            update(VendorRecord)
            .where(
                VendorRecord.connection_id == connection.id,
                VendorRecord.kind.in_(list(collected)),
                VendorRecord.last_seen_at < now,
                VendorRecord.missing_since.is_(None),
            )
            .values(missing_since=now)
            .execution_options(synchronize_session=False)
        )
    return {
        "records": {kind: len(items) for kind, items in collected.items()},
        "inserted": len(inserts),
        "changed": len(changes),
        "unchanged": len(unchanged),
        "missing": int(getattr(gone, "rowcount", 0) or 0),
    }


async def _write_hub_facts(
    session: AsyncSession,
    connection: Connection,
    collected: Collected,
    assets: dict[str, AssetRef],
    now: datetime,
) -> dict[str, int]:
    counts = {
        "warranties_written": write_warranties(
            await _warranty_rows(session, collected, assets), collected, assets, now, session
        ),
        "firmware_written": 0,
        "firmware_latest_written": 0,
        "seats_used_written": 0,
        "print_readings_written": 0,
    }
    # Firmware: the running version of the asset with that serial, and the newest offered.
    for item in collected.get("firmware", []):
        ref = assets.get(item.external_id)
        current = getattr(item, "current_version", None)
        latest = getattr(item, "latest_version", None)
        if ref is None or not current:
            continue
        asset = await session.get(Asset, ref.id)
        if asset is None:
            continue
        if asset.firmware_version != current[:80]:
            asset.firmware_version = current[:80]
            counts["firmware_written"] += 1
        if latest and asset.firmware_latest != latest[:80]:
            asset.firmware_latest = latest[:80]
            counts["firmware_latest_written"] += 1
    # Subscription facts first, with Core statements (no ORM object of a subscription is
    # loaded before them); the print readings below go through the ORM (and its version).
    counts.update(await _write_subscription_facts(session, connection, collected, now))
    counts["print_readings_written"] = await _write_print_readings(session, collected, assets)
    await session.flush()
    return counts


async def _write_subscription_facts(
    session: AsyncSession, connection: Connection, collected: Collected, now: datetime
) -> dict[str, int]:
    """What the vendor says about the hub subscriptions it lists (or no longer lists).

    `last_synced_at` and `missing_since` are sync's bookkeeping: no person edits them and
    the spend report does not show them, so they are written without touching `version`
    or `updated_at`. Moving the version on every sync made every PATCH of a person who
    read the subscription before it a 409, and a sync beside a renewal fail with
    StaleDataError. `seats_used` is a value people read and act on: when it changes,
    the row's version and updated_at move too, so that a person's edit made on the old
    reading is refused (409) and re-read. Neither statement checks the version itself:
    sync writes only columns nobody else writes, so it cannot overwrite anyone's edit."""
    ids = {r.external_id for kind in ("subscriptions", "license_usage") for r in collected.get(kind, [])}
    used = {
        r.external_id: int(getattr(r, "seats_used"))  # noqa: B009 - records of other kinds lack it
        for r in collected.get("license_usage", [])
        if getattr(r, "seats_used", None) is not None
    }
    listing = "subscriptions" in collected or "license_usage" in collected
    seen: list[uuid.UUID] = []
    gone: list[uuid.UUID] = []
    seats: list[dict[str, Any]] = []
    for ext, sub in (await _hub_subscriptions(session, connection)).items():
        if ext in ids:
            seen.append(sub.id)
            if ext in used and sub.seats_used != used[ext]:
                seats.append({"sub_id": sub.id, "seats": used[ext]})
        elif listing and sub.connection_id == connection.id and sub.missing_since is None:
            gone.append(sub.id)
    table = cast(Table, Subscription.__table__)
    # `updated_at` is named so that its onupdate (a person-visible change) does not fire.
    bookkeeping = {"updated_at": table.c.updated_at}
    for i in range(0, len(seen), CHUNK):
        await session.execute(
            update(table)
            .where(table.c.id.in_(seen[i : i + CHUNK]))
            .values(last_synced_at=now, missing_since=None, **bookkeeping)
        )
    for i in range(0, len(gone), CHUNK):
        await session.execute(
            update(table).where(table.c.id.in_(gone[i : i + CHUNK])).values(missing_since=now, **bookkeeping)
        )
    if seats:
        await session.execute(
            update(table)
            .where(table.c.id == bindparam("sub_id"))
            .values(seats_used=bindparam("seats"), version=table.c.version + 1, updated_at=now),
            seats,
        )
    return {"subscriptions_seen": len(seen), "seats_used_written": len(seats)}


WarrantyKey = tuple[uuid.UUID, str, Any]  # asset, level, start


async def _warranty_rows(
    session: AsyncSession, collected: Collected, assets: dict[str, AssetRef]
) -> dict[WarrantyKey, Warranty]:
    """The Warranty rows of the assets the warranty records are about, by (asset, level, start)."""
    ids = sorted({assets[r.external_id].id for r in collected.get("warranty", []) if r.external_id in assets})
    out: dict[WarrantyKey, Warranty] = {}
    for i in range(0, len(ids), CHUNK):
        for row in (
            await session.execute(select(Warranty).where(Warranty.asset_id.in_(ids[i : i + CHUNK])))
        ).scalars():
            out[(row.asset_id, row.level, row.starts_on)] = row
    return out


def write_warranties(
    rows: dict[WarrantyKey, Warranty],
    collected: Collected,
    assets: dict[str, AssetRef],
    now: datetime,
    session: AsyncSession,
) -> int:
    """Adapter-sourced Warranty rows per found entitlement (created, or their end date
    moved); manually entered ones are left alone (a different date is flagged instead)."""
    written = 0
    for item in collected.get("warranty", []):
        data = item.model_dump()
        ref = assets.get(item.external_id)
        if ref is None or not data.get("found"):
            continue
        for ent in data.get("entitlements", []):
            start, end = ent.get("start_date"), ent.get("end_date")
            if start is None or end is None or end < start:
                continue
            level = str(ent.get("service_level") or "vendor")[:120]
            row = rows.get((ref.id, level, start))
            if row is None:
                row = Warranty(
                    asset_id=ref.id,
                    client_id=ref.client_id,
                    level=level,
                    starts_on=start,
                    ends_on=end,
                    source=WarrantySource.adapter,
                    last_checked_at=now,
                )
                session.add(row)
                rows[(ref.id, level, start)] = row
                written += 1
            elif row.source is WarrantySource.adapter:
                if row.ends_on != end:
                    row.ends_on = end
                    written += 1
                row.last_checked_at = now
    return written


async def _write_print_readings(
    session: AsyncSession, collected: Collected, assets: dict[str, AssetRef]
) -> int:
    """The first counter reading of the current term of each print plan of a printer read
    now (once per term: a later reading never replaces it)."""
    printers = {
        assets[r.external_id].id: r for r in collected.get("printer_status", []) if r.external_id in assets
    }
    if not printers:
        return 0
    written = 0
    stmt = select(Subscription).where(Subscription.print_allowance.is_not(None))
    for sub in (await session.execute(stmt)).scalars():
        allowance = dict(sub.print_allowance or {})
        try:
            record = printers.get(uuid.UUID(str(allowance.get("asset_id"))))
        except ValueError:
            continue
        if record is None:
            continue
        read_at = getattr(record, "read_at", None)
        if (
            read_at is None
            or read_at.date() < sub.starts_on
            or (sub.ends_on and read_at.date() > sub.ends_on)
        ):
            continue  # a reading outside the current term says nothing about its start
        reading = allowance.get(SYNCED_READING) or {}
        if reading.get("term_starts_on") == sub.starts_on.isoformat():
            continue
        allowance[SYNCED_READING] = {
            "term_starts_on": sub.starts_on.isoformat(),
            "read_at": read_at.isoformat(),
            "total": getattr(record, "page_count_total", None),
            "mono": getattr(record, "page_count_mono", None),
            "colour": getattr(record, "page_count_colour", None),
        }
        sub.print_allowance = allowance
        written += 1
    return written


@dataclass(frozen=True)
class HubSubscriptionRow:
    """The columns of a hub subscription sync reads (plain values: no ORM object, so no
    version check can trip on a row a person or a renewal changed meanwhile)."""

    id: uuid.UUID
    client_id: uuid.UUID
    connection_id: uuid.UUID | None
    quantity: int
    ends_on: date | None
    seats_used: int | None
    missing_since: datetime | None


async def _hub_subscriptions(session: AsyncSession, connection: Connection) -> dict[str, HubSubscriptionRow]:
    """Hub subscriptions this connection's records may describe, by external id: those of
    this connection, and unattached ones; an external id held by two is ambiguous."""
    stmt = select(
        Subscription.external_id,
        Subscription.id,
        Subscription.client_id,
        Subscription.connection_id,
        Subscription.quantity,
        Subscription.ends_on,
        Subscription.seats_used,
        Subscription.missing_since,
    ).where(
        Subscription.external_id.is_not(None),
        (Subscription.connection_id == connection.id) | Subscription.connection_id.is_(None),
    )
    if connection.scope is ConnectionScope.client:
        stmt = stmt.where(Subscription.client_id == connection.client_id)
    found: dict[str, list[HubSubscriptionRow]] = defaultdict(list)
    for row in await session.execute(stmt):
        found[str(row.external_id)].append(
            HubSubscriptionRow(
                row.id,
                row.client_id,
                row.connection_id,
                row.quantity,
                row.ends_on,
                row.seats_used,
                row.missing_since,
            )
        )
    return {ext: subs[0] for ext, subs in found.items() if len(subs) == 1}


async def _discrepancies(
    session: AsyncSession,
    connection: Connection,
    collected: Collected,
    tenant_clients: dict[str, uuid.UUID | None],
    now: datetime,
    *,
    only: set[tuple[str, str]] | None = None,
) -> tuple[int, int]:
    """Flag what disagrees, resolve what no longer does. `only` (record kind, external id):
    a partial read, which may resolve only the discrepancies of the records it read."""
    subs = await _hub_subscriptions(session, connection)
    hub_subs = {ext: engine.HubSubscription(s.id, ext, s.quantity, s.ends_on) for ext, s in subs.items()}
    serials = [r.external_id for r in collected.get("warranty", [])]
    manual: dict[str, list[engine.HubWarranty]] = defaultdict(list)
    clients_of: dict[uuid.UUID, uuid.UUID] = {s.id: s.client_id for s in subs.values()}
    for i in range(0, len(serials), CHUNK):
        stmt = (
            select(Warranty.id, Warranty.client_id, Warranty.ends_on, Asset.serial)
            .join(Asset, Asset.id == Warranty.asset_id)
            .where(Asset.serial.in_(serials[i : i + CHUNK]), Warranty.source == WarrantySource.manual)
        )
        for wid, cid, ends_on, serial in await session.execute(stmt):
            if serial is not None:
                manual[serial].append(engine.HubWarranty(wid, serial, ends_on))
            clients_of[wid] = cid
    records = [
        (kind, item.model_dump(mode="json"))
        for kind in ("license_usage", "subscriptions", "warranty")
        for item in collected.get(kind, [])
    ]
    findings = {f.key: f for f in engine.find_discrepancies(records, hub_subs, manual)}
    rows = (
        (await session.execute(select(Discrepancy).where(Discrepancy.connection_id == connection.id)))
        .scalars()
        .all()
    )
    existing = {(r.kind.value, r.record_kind, r.external_id): r for r in rows}
    for key, f in findings.items():
        client = clients_of.get(f.subject_id) if f.subject_id is not None else None
        if client is None:
            client = (
                connection.client_id
                if connection.scope is ConnectionScope.client
                else tenant_clients.get(f.tenant_external_id or "")
            )
        row = existing.get(key)
        if row is None:
            row = Discrepancy(
                connection_id=connection.id,
                kind=f.kind,
                record_kind=f.record_kind,
                external_id=f.external_id,
                first_seen_at=now,
            )
            session.add(row)
        elif row.resolved_at is not None:
            row.first_seen_at = now  # it holds again: a new occurrence
        row.client_id = client
        row.tenant_external_id = f.tenant_external_id
        row.subject_type = f.subject_type
        row.subject_id = f.subject_id
        row.hub_value = f.hub_value
        row.vendor_value = f.vendor_value
        row.message = f.message[:2000]
        row.last_seen_at = now
        row.resolved_at = None
    resolved = 0
    for key, row in existing.items():
        if only is not None and (key[1], key[2]) not in only:
            continue
        if key not in findings and row.resolved_at is None:
            row.resolved_at = now
            resolved += 1
    await session.flush()
    return len(findings), resolved
