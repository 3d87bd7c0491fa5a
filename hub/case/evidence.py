"""Evidence for a case opened from what is failing: a check run (its findings, raw
answers and when they were seen), an asset (serial, model, warranty entitlement) or a
subscription (account, contract, quantity). Each gives files to attach and one-line
summaries for the message; nothing of the MSP's costs or notes goes to a vendor."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.check.enums import CheckStatus
from hub.errors import InvalidInput
from hub.line.evidence import outage_evidence
from hub.models import Asset, Check, CheckRun, Domain, IspLine, Subscription, VendorAccount, Warranty

FAILING = frozenset({CheckStatus.fail, CheckStatus.warn})


@dataclass
class Evidence:
    title: str = ""
    lines: list[str] = field(default_factory=list)
    files: list[tuple[str, bytes, str]] = field(default_factory=list)  # name, content, type
    context: dict[str, Any] = field(default_factory=dict)  # template values (domain, serial...)
    links: dict[str, Any] = field(default_factory=dict)  # case columns (asset_id, check_run_id...)


def _json(data: Any) -> bytes:
    return json.dumps(data, indent=2, default=str, ensure_ascii=False).encode("utf-8")


def _stamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "unknown"


async def from_check_run(
    session: AsyncSession, client_id: uuid.UUID, run_id: int | None, check_id: uuid.UUID | None
) -> Evidence:
    field_name = "check_run_id" if run_id is not None else "check_id"
    run: CheckRun | None
    if run_id is not None:
        run = await session.get(CheckRun, run_id)
    else:
        run = (
            await session.execute(
                select(CheckRun).where(CheckRun.check_id == check_id).order_by(CheckRun.id.desc()).limit(1)
            )
        ).scalar_one_or_none()
    check = await session.get(Check, run.check_id) if run is not None else None
    if run is None or check is None or check.client_id != client_id:
        raise InvalidInput(field_name, "no run of this client's checks with that id")
    if run.status not in FAILING:
        raise InvalidInput(field_name, f"the run is {run.status.value}: open a case from a failing run")
    target = check.target_ref
    domain: Domain | None = None
    if check.target_type.value == "domain":
        domain = await session.get(Domain, uuid.UUID(check.target_ref))
        target = domain.name if domain is not None else target
    ev = Evidence(title=f"{check.kind.upper()} check failing for {target}")
    for finding in run.findings:
        ev.lines.append(
            f"{finding.get('severity', '')}: {finding.get('message', finding.get('code', ''))}".strip()
        )
    ev.lines.append(f"seen by our {check.kind} check at {_stamp(run.finished_at or run.started_at)}")
    ev.files.append(
        (
            f"check-{check.kind}-{run.id}.json",
            _json(
                {
                    "check": check.kind,
                    "target": target,
                    "status": run.status.value,
                    "started_at": run.started_at,
                    "finished_at": run.finished_at,
                    "findings": run.findings,
                    "error": run.error,
                }
            ),
            "application/json",
        )
    )
    ev.links["check_run_id"] = run.id
    if domain is not None:
        ev.context["domain"] = domain.name
        ev.links["domain_id"] = domain.id
    return ev


async def from_asset(session: AsyncSession, client_id: uuid.UUID, asset_id: uuid.UUID) -> Evidence:
    asset = await session.get(Asset, asset_id)
    if asset is None or asset.client_id != client_id:
        raise InvalidInput("asset_id", "no asset of this client with that id")
    warranty = (
        await session.execute(
            select(Warranty).where(Warranty.asset_id == asset.id).order_by(Warranty.ends_on.desc()).limit(1)
        )
    ).scalar_one_or_none()
    model = " ".join(p for p in (asset.manufacturer, asset.model) if p)
    ev = Evidence(title=f"Support for {model} {asset.serial or asset.name}".strip())
    ev.lines.append(f"device {asset.name}: {model}, serial {asset.serial or 'unknown'}")
    if asset.firmware_version:
        ev.lines.append(f"firmware {asset.firmware_version}")
    data: dict[str, Any] = {
        "name": asset.name,
        "manufacturer": asset.manufacturer,
        "model": asset.model,
        "serial": asset.serial,
        "firmware_version": asset.firmware_version,
    }
    if warranty is not None:
        ev.lines.append(f"warranty {warranty.level} until {warranty.ends_on}")
        data["warranty"] = {
            "level": warranty.level,
            "starts_on": warranty.starts_on,
            "ends_on": warranty.ends_on,
        }
        ev.context["entitlement"] = warranty.level
    ev.files.append((f"asset-{asset.serial or asset.name}.json", _json(data), "application/json"))
    ev.context.update(model=model or asset.name, serial=asset.serial or "unknown")
    ev.links["asset_id"] = asset.id
    return ev


async def from_subscription(
    session: AsyncSession, client_id: uuid.UUID, subscription_id: uuid.UUID
) -> Evidence:
    sub = await session.get(Subscription, subscription_id)
    if sub is None or sub.client_id != client_id:
        raise InvalidInput("subscription_id", "no subscription of this client with that id")
    account = await session.get(VendorAccount, sub.vendor_account_id)
    ev = Evidence(title=f"Support for {sub.product}")
    ev.lines.append(
        f"product {sub.product}" + (f" (SKU {sub.sku})" if sub.sku else "") + f", quantity {sub.quantity}"
    )
    if account is not None:
        ev.lines.append(
            f"account {account.account_number}"
            + (f", contract {account.contract_number}" if account.contract_number else "")
        )
    # The vendor learns what it sold, never what the MSP pays or charges.
    data = {
        "product": sub.product,
        "sku": sub.sku,
        "quantity": sub.quantity,
        "starts_on": sub.starts_on,
        "ends_on": sub.ends_on,
        "account_number": account.account_number if account else None,
        "contract_number": account.contract_number if account else None,
        "vendor_reference": sub.external_id,
    }
    ev.files.append(("subscription.json", _json(data), "application/json"))
    ev.links["subscription_id"] = sub.id
    return ev


async def from_line(session: AsyncSession, client_id: uuid.UUID, line_id: uuid.UUID) -> Evidence:
    """An ISP line: the circuit, its addresses and the recent probe rounds (hub.line.evidence)."""
    line = await session.get(IspLine, line_id)
    if line is None or line.client_id != client_id:
        raise InvalidInput("line_id", "no line of this client with that id")
    summary, files = await outage_evidence(session, line.id)
    ev = Evidence(title=f"Circuit {line.circuit_id} ({line.name}) is {line.state.value}")
    ev.lines.extend(x.strip() for x in summary.splitlines() if x.strip())
    ev.files.extend((f.filename, f.content, f.content_type or "application/octet-stream") for f in files)
    ev.context["circuit_id"] = line.circuit_id
    ev.links["line_id"] = line.id
    return ev
