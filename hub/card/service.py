"""The "who to call" card of a client and a vendor, and the search that finds it from
what the technician has in hand (a domain, a serial, an IP address, an account number).

Read-only: nothing here writes; the PIN itself is shown only by the audited reveal action
of hub.account. The card is assembled in one place (`build_card`) for the API, the CLI
and the search alike; `hub.api.projection` then picks what a client user sees."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import Principal
from hub.card import engine
from hub.card.engine import QueryKind, Role
from hub.client.service import ClientService
from hub.errors import NotFound
from hub.models import (
    Asset,
    Check,
    Client,
    Contact,
    Domain,
    Endpoint,
    IspLine,
    Subscription,
    Vendor,
    VendorAccount,
    VendorCase,
    Warranty,
)
from hub.models.enums import CaseStatus, CheckStatus, CheckTarget

CLOSED_CASES = (CaseStatus.resolved, CaseStatus.closed)
FAILING = (CheckStatus.fail, CheckStatus.warn)
_ROLE_COLUMNS = {
    Role.registrar: Domain.registrar_account_id,
    Role.dns_host: Domain.dns_host_account_id,
    Role.mail_host: Domain.mail_host_account_id,
}
_ROLE_WORDS = {Role.registrar: "registrar", Role.dns_host: "DNS host", Role.mail_host: "mail host"}


async def visible_client(session: AsyncSession, principal: Principal, client_id: uuid.UUID) -> Client:
    """The client, if the principal may see it (another client's is a 404 like a missing one)."""
    client: Client = await ClientService().get(session, principal, client_id)
    return client


async def build_card(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, vendor_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """Everything a technician needs to call `vendor_id` about `client_id`, as of `now`."""
    client = await visible_client(session, principal, client_id)
    return await _card(session, client, vendor_id, now, staff=not principal.is_client)


async def _card(
    session: AsyncSession, client: Client, vendor_id: uuid.UUID, now: datetime, *, staff: bool
) -> dict[str, Any]:
    vendor = await session.get(Vendor, vendor_id)
    accounts = (
        list(
            (
                await session.execute(
                    select(VendorAccount)
                    .where(VendorAccount.client_id == client.id, VendorAccount.vendor_id == vendor_id)
                    .order_by(VendorAccount.account_number)
                )
            ).scalars()
        )
        if vendor is not None
        else []
    )
    if vendor is None or not accounts:
        # The same answer whether the vendor does not exist or the client has no account
        # with it: a client user learns nothing about the MSP's other vendors.
        raise NotFound("this client has no account with this vendor")
    ids = [a.id for a in accounts]
    today = now.date()
    assets, warranties = await _assets(session, ids, today)
    domains = await _domains(session, ids)
    sla, held = _sla(vendor, accounts, assets, warranties, now)
    channels = [_channel(c, held, now) for c in vendor.support_channels or []]
    return {
        "client": client,
        "vendor": vendor,
        "now": now,
        "open_now": any(c["open_now"] and c["entitled"] for c in channels),
        "channels": channels,
        "sla": sla,
        "escalation": await _escalation(session, vendor),
        "accounts": await _accounts(session, accounts),
        "open_cases": await _open_cases(session, ids, staff=staff),
        "depends_on": {
            "subscriptions": await _subscriptions(session, ids),
            "assets": [
                {
                    **_asset_fields(asset),
                    "warranty_level": warranties[asset.id].level if asset.id in warranties else None,
                    "warranty_ends_on": warranties[asset.id].ends_on if asset.id in warranties else None,
                }
                for asset in assets
            ],
            "domains": [
                {"id": d.id, "name": d.name, "roles": [role.value for role in _roles_of(d, set(ids))]}
                for d in domains
            ],
            "lines": [
                {
                    "id": line.id,
                    "name": line.name,
                    "circuit_id": line.circuit_id,
                    "technology": line.technology.value,
                    "state": line.state.value,
                    "address_blocks": list(line.address_blocks or []),
                }
                for line in await _lines(session, ids)
            ],
        },
        "vendor_notes": vendor.notes,
    }


# -- the parts of a card ------------------------------------------------------------------


def _channel(channel: dict[str, Any], held: Sequence[str], now: datetime) -> dict[str, Any]:
    state = engine.channel_state(channel, now)
    return {
        "kind": channel.get("kind"),
        "value": channel.get("value", ""),
        "label": channel.get("label") or "",
        "timezone": channel.get("timezone") or "Europe/Rome",
        "hours": state.hours,
        "levels": list(channel.get("levels") or []),
        "entitled": engine.serves(channel, held),
        "open_now": state.open_now,
        "local_time": state.local_time,
        "closes_at": state.closes_at,
        "opens_at": state.opens_at,
        "problem": state.problem,
        "notes": channel.get("notes") or "",
    }


def _sla(
    vendor: Vendor,
    accounts: Sequence[VendorAccount],
    assets: Sequence[Asset],
    warranties: dict[uuid.UUID, Warranty],
    now: datetime,
) -> tuple[list[dict[str, Any]], list[str]]:
    """The SLA of each entitlement the client holds with the vendor (the accounts'
    support levels, the assets' current warranty levels), and the level names held."""
    levels = vendor.sla_levels or []
    out: list[dict[str, Any]] = []
    held: list[str] = []
    for account in accounts:
        if account.support_level:
            out.append(
                _sla_entry("account", account.support_level, levels, now, vendor_account_id=account.id)
            )
    by_level: dict[str, list[dict[str, Any]]] = {}
    for asset in assets:
        warranty = warranties.get(asset.id)
        if warranty is not None:
            by_level.setdefault(warranty.level, []).append(
                {
                    "id": asset.id,
                    "name": asset.name,
                    "serial": asset.serial,
                    "warranty_ends_on": warranty.ends_on,
                }
            )
    for level, covered in sorted(by_level.items()):
        out.append(_sla_entry("warranty", level, levels, now, assets=covered))
    for entry in out:
        held.append(entry["level"])
        if entry["matched_level"]:
            held.append(entry["matched_level"])
    if not any(entry["matched_level"] for entry in out):
        default = engine.default_promise(vendor.default_response_sla_hours, now)
        if default is not None:
            out.append(
                {
                    "source": "vendor_default",
                    "level": None,
                    "matched_level": None,
                    "first_response": default.first_response,
                    "resolution": None,
                    "hours": default.hours,
                    "timezone": default.timezone,
                    "first_response_due_if_opened_now": default.first_response_due,
                }
            )
    return out, held


def _sla_entry(
    source: str, level: str, levels: Sequence[dict[str, Any]], now: datetime, **extra: Any
) -> dict[str, Any]:
    entry: dict[str, Any] = {"source": source, "level": level, **extra}
    sla = engine.match_level(level, levels)
    if sla is None:
        return {**entry, "matched_level": None, "first_response": None, "resolution": None}
    promised = engine.promise(sla, now)
    return {
        **entry,
        "matched_level": sla.get("level"),
        "first_response": promised.first_response,
        "resolution": promised.resolution,
        "onsite": bool(sla.get("onsite")),
        "hours": promised.hours,
        "timezone": promised.timezone,
        "first_response_due_if_opened_now": promised.first_response_due,
        "resolution_due_if_opened_now": promised.resolution_due,
        "problem": promised.problem,
    }


async def _escalation(session: AsyncSession, vendor: Vendor) -> list[dict[str, Any]]:
    people = list(
        (
            await session.execute(
                select(Contact)
                .where(Contact.vendor_id == vendor.id, Contact.escalation_level.is_not(None))
                .order_by(Contact.escalation_level, Contact.name)
            )
        ).scalars()
    )
    steps = {int(step["level"]): {**step, "people": []} for step in vendor.escalation_levels or []}
    for person in people:
        level = int(person.escalation_level or 0)
        step = steps.setdefault(
            level,
            {"level": level, "name": f"Level {level}", "contact": "", "after_hours": None, "people": []},
        )
        step["people"].append(person)
    return [steps[level] for level in sorted(steps)]


async def _accounts(session: AsyncSession, accounts: Sequence[VendorAccount]) -> list[dict[str, Any]]:
    wanted = {uuid.UUID(str(i)) for a in accounts for i in a.authorised_contact_ids or []}
    people = {
        c.id: c for c in (await session.execute(select(Contact).where(Contact.id.in_(wanted)))).scalars()
    }
    return [
        {
            "vendor_account_id": a.id,
            "account_number": a.account_number,
            "contract_number": a.contract_number,
            "support_level": a.support_level,
            "account_holder": a.account_holder,
            "authorised_by": a.authorised_by,
            # A contact deleted since is left out rather than shown as a bare id.
            "authorisers": [
                people[uuid.UUID(str(i))]
                for i in a.authorised_contact_ids or []
                if uuid.UUID(str(i)) in people
            ],
            "notice_email": a.notice_email,
            "external_ref": a.external_ref,
            "support_pin_set": a.support_pin_encrypted is not None,
            "support_pin_changed_at": a.support_pin_changed_at,
            "reveal_pin": (
                f"/vendor-accounts/{a.id}/support-pin/reveal" if a.support_pin_encrypted is not None else None
            ),
            "notes": a.notes,
        }
        for a in accounts
    ]


async def _open_cases(
    session: AsyncSession, account_ids: Sequence[uuid.UUID], *, staff: bool
) -> list[dict[str, Any]]:
    stmt = select(VendorCase).where(
        VendorCase.vendor_account_id.in_(account_ids), VendorCase.status.not_in(CLOSED_CASES)
    )
    if not staff:  # a renewal's purchase-order thread carries our cost: staff only
        stmt = stmt.where(VendorCase.renewal_id.is_(None))
    cases = (
        await session.execute(
            stmt.order_by(VendorCase.opened_at.desc().nulls_last(), VendorCase.created_at.desc())
        )
    ).scalars()
    return [
        {
            "id": c.id,
            "vendor_account_id": c.vendor_account_id,
            "title": c.title,
            "status": c.status,
            "severity": c.severity,
            "channel": c.channel,
            "vendor_case_number": c.external_ref,
            "opened_at": c.opened_at,
            "vendor_sla_due_at": c.vendor_sla_due_at,
        }
        for c in cases
    ]


async def _subscriptions(session: AsyncSession, account_ids: Sequence[uuid.UUID]) -> list[Subscription]:
    return list(
        (
            await session.execute(
                select(Subscription)
                .where(Subscription.vendor_account_id.in_(account_ids))
                .order_by(Subscription.status, Subscription.product)
            )
        ).scalars()
    )


async def _assets(
    session: AsyncSession, account_ids: Sequence[uuid.UUID], today: date
) -> tuple[list[Asset], dict[uuid.UUID, Warranty]]:
    """The assets the accounts cover, and each one's current warranty (the one ending
    last, if several run today)."""
    assets = list(
        (
            await session.execute(
                select(Asset).where(Asset.vendor_account_id.in_(account_ids)).order_by(Asset.name)
            )
        ).scalars()
    )
    current: dict[uuid.UUID, Warranty] = {}
    if assets:
        rows = await session.execute(
            select(Warranty)
            .where(
                Warranty.asset_id.in_([a.id for a in assets]),
                Warranty.starts_on <= today,
                Warranty.ends_on >= today,
            )
            .order_by(Warranty.ends_on)
        )
        for warranty in rows.scalars():
            current[warranty.asset_id] = warranty  # ordered: the last one ends last
    return assets, current


def _asset_fields(asset: Asset) -> dict[str, Any]:
    return {
        "id": asset.id,
        "vendor_account_id": asset.vendor_account_id,
        "name": asset.name,
        "kind": asset.kind,
        "manufacturer": asset.manufacturer,
        "model": asset.model,
        "serial": asset.serial,
    }


async def _domains(session: AsyncSession, account_ids: Sequence[uuid.UUID]) -> list[Domain]:
    return list(
        (
            await session.execute(
                select(Domain)
                .where(or_(*(column.in_(account_ids) for column in _ROLE_COLUMNS.values())))
                .order_by(Domain.name)
            )
        ).scalars()
    )


def _roles_of(domain: Domain, account_ids: set[uuid.UUID]) -> list[Role]:
    return [role for role, column in _ROLE_COLUMNS.items() if getattr(domain, column.key) in account_ids]


# -- the search ---------------------------------------------------------------------------


@dataclass
class _Found:
    vendor_id: uuid.UUID
    why: list[str] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    failing: list[Check] = field(default_factory=list)
    rank: int = 99

    def add(self, why: str) -> None:
        if why not in self.why:
            self.why.append(why)


class _Matches:
    def __init__(self) -> None:
        self.by_vendor: dict[uuid.UUID, _Found] = {}

    def add(self, vendor_id: uuid.UUID, why: str, *, rank: int = 99) -> _Found:
        found = self.by_vendor.setdefault(vendor_id, _Found(vendor_id))
        found.add(why)
        found.rank = min(found.rank, rank)
        return found

    def ordered(self) -> list[_Found]:
        order = list(self.by_vendor)
        return sorted(self.by_vendor.values(), key=lambda f: (f.rank, order.index(f.vendor_id)))


async def who(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, q: str | None, now: datetime
) -> dict[str, Any]:
    """The cards of the vendors `q` leads to for this client, the likeliest first; without
    `q`, the cards of every vendor the client has an account with."""
    client = await visible_client(session, principal, client_id)
    accounts = list(
        (
            await session.execute(
                select(VendorAccount)
                .where(VendorAccount.client_id == client.id)
                .order_by(VendorAccount.account_number)
            )
        ).scalars()
    )
    vendor_of = {a.id: a.vendor_id for a in accounts}
    matches = _Matches()
    kind = "all"
    if q is None:
        for account in accounts:
            matches.add(account.vendor_id, f"account {account.account_number}")
    else:
        query = engine.classify(q)
        kind = query.kind.value
        if query.kind is QueryKind.ip:
            await _by_ip(session, client.id, query.value, vendor_of, matches)
        elif query.kind is QueryKind.domain:
            await _by_domain(session, client.id, query.value, vendor_of, matches)
        if not matches.by_vendor:
            await _by_text(session, client.id, query.value, accounts, matches)
    out = []
    for found in matches.ordered():
        card = await _card(session, client, found.vendor_id, now, staff=not principal.is_client)
        out.append(
            {
                "vendor_id": found.vendor_id,
                "vendor_name": card["vendor"].name,
                "why": found.why,
                "roles": [role.value for role in found.roles],
                "failing_checks": [
                    {"id": c.id, "kind": c.kind, "status": c.status.value, "since": c.status_changed_at}
                    for c in found.failing
                ],
                "card": card,
            }
        )
    return {"client_id": client.id, "query": q, "kind": kind, "matches": out}


async def _by_domain(
    session: AsyncSession,
    client_id: uuid.UUID,
    name: str,
    vendor_of: dict[uuid.UUID, uuid.UUID],
    matches: _Matches,
) -> None:
    """The client's domain `name` is (or is under), or the domain of an endpoint named
    `name`: its mail host, DNS host and registrar, those its failing checks point at first."""
    candidates = engine.parent_domains(name)
    domains = {
        d.name: d
        for d in (
            await session.execute(
                select(Domain).where(Domain.client_id == client_id, Domain.name.in_(candidates))
            )
        ).scalars()
    }
    domain = next((domains[c] for c in candidates if c in domains), None)
    if domain is None:
        endpoint = (
            (
                await session.execute(
                    select(Endpoint).where(
                        Endpoint.client_id == client_id,
                        func.lower(Endpoint.host) == name,
                        Endpoint.domain_id.is_not(None),
                    )
                )
            )
            .scalars()
            .first()
        )
        domain = await session.get(Domain, endpoint.domain_id) if endpoint and endpoint.domain_id else None
    if domain is None:
        return
    failing = list(
        (
            await session.execute(
                select(Check)
                .where(
                    Check.client_id == client_id,
                    Check.target_type == CheckTarget.domain,
                    Check.target_ref == str(domain.id),
                    Check.status.in_(FAILING),
                )
                .order_by(Check.status, Check.kind)
            )
        ).scalars()
    )
    present = [role for role, column in _ROLE_COLUMNS.items() if getattr(domain, column.key) in vendor_of]
    # Mail first when nothing fails: "the mail bounces" is the usual call.
    natural = [r for r in (Role.mail_host, Role.dns_host, Role.registrar) if r in present]
    ranked = engine.rank_roles(natural, [c.kind for c in failing])
    for rank, role in enumerate(ranked):
        account_id = getattr(domain, _ROLE_COLUMNS[role].key)
        found = matches.add(vendor_of[account_id], f"{_ROLE_WORDS[role]} of {domain.name}", rank=rank)
        found.roles.append(role)
        for check in failing:
            if role in engine.CHECK_ROLES.get(check.kind, ()) and check not in found.failing:
                found.failing.append(check)


async def _by_ip(
    session: AsyncSession,
    client_id: uuid.UUID,
    ip: str,
    vendor_of: dict[uuid.UUID, uuid.UUID],
    matches: _Matches,
) -> None:
    """Assets managed at `ip` (their support contract's vendor), and endpoints at `ip`
    (their domain's vendors)."""
    assets = (
        await session.execute(
            select(Asset).where(
                Asset.client_id == client_id,
                Asset.management_address.is_not(None),
                func.lower(Asset.management_address).contains(ip.lower()),
            )
        )
    ).scalars()
    for asset in assets:
        if (
            engine.address_host(asset.management_address) == ip.lower()
            and asset.vendor_account_id in vendor_of
        ):
            matches.add(
                vendor_of[asset.vendor_account_id], f"{asset.name} ({asset.model or asset.kind}) at {ip}"
            )
    endpoints = (
        await session.execute(select(Endpoint).where(Endpoint.client_id == client_id, Endpoint.host == ip))
    ).scalars()
    for endpoint in endpoints:
        domain = await session.get(Domain, endpoint.domain_id) if endpoint.domain_id else None
        if domain is not None:
            await _by_domain(session, client_id, domain.name, vendor_of, matches)
    await _by_line_address(session, client_id, ip, vendor_of, matches)


async def _lines(session: AsyncSession, account_ids: Sequence[uuid.UUID]) -> list[IspLine]:
    stmt = select(IspLine).where(IspLine.vendor_account_id.in_(account_ids)).order_by(IspLine.name)
    return list((await session.execute(stmt)).scalars())


async def _by_line_address(
    session: AsyncSession,
    client_id: uuid.UUID,
    ip: str,
    vendor_of: dict[uuid.UUID, uuid.UUID],
    matches: _Matches,
) -> None:
    """The ISP of a line whose public address block holds `ip`."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return
    lines = (await session.execute(select(IspLine).where(IspLine.client_id == client_id))).scalars()
    for line in lines:
        for block in line.address_blocks or []:
            network = ipaddress.ip_network(block, strict=False)
            if (
                address.version == network.version
                and address in network
                and line.vendor_account_id in vendor_of
            ):
                matches.add(
                    vendor_of[line.vendor_account_id],
                    f"line {line.name} (circuit {line.circuit_id}) holds {ip}",
                    rank=0,
                )
                break


async def _by_text(
    session: AsyncSession,
    client_id: uuid.UUID,
    text: str,
    accounts: Sequence[VendorAccount],
    matches: _Matches,
) -> None:
    """A serial, an account, contract or tenant number, a vendor's id or name."""
    vendor_of = {a.id: a.vendor_id for a in accounts}
    folded = text.casefold()
    assets = (
        await session.execute(
            select(Asset).where(Asset.client_id == client_id, func.lower(Asset.serial) == folded)
        )
    ).scalars()
    for asset in assets:
        if asset.vendor_account_id in vendor_of:
            matches.add(vendor_of[asset.vendor_account_id], f"serial {asset.serial} ({asset.name})", rank=0)
    circuits = (
        await session.execute(
            select(IspLine).where(IspLine.client_id == client_id, func.lower(IspLine.circuit_id) == folded)
        )
    ).scalars()
    for line in circuits:
        if line.vendor_account_id in vendor_of:
            matches.add(vendor_of[line.vendor_account_id], f"circuit {line.circuit_id} ({line.name})", rank=0)
    for account in accounts:
        for label, value in (
            ("account", account.account_number),
            ("contract", account.contract_number),
            ("vendor-side id", account.external_ref),
        ):
            if value and value.casefold() == folded:
                matches.add(account.vendor_id, f"{label} {value}", rank=0)
    try:
        as_id: uuid.UUID | None = uuid.UUID(text)
    except ValueError:
        as_id = None
    names = {
        v.id: v.name
        for v in (
            await session.execute(select(Vendor).where(Vendor.id.in_(set(vendor_of.values()))))
        ).scalars()
    }
    for vendor_id, name in names.items():
        if vendor_id == as_id or folded in name.casefold():
            matches.add(vendor_id, f"vendor {name}", rank=1)
