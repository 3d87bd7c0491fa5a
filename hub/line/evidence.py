"""What an outage case with the ISP is opened with: a summary for the message (circuit id,
account, addresses, state and since when, what failed) and files to attach (the recent
probe history as CSV, the line and its address checks as JSON).

`outage_evidence(session, line_id)` is what the case service calls; it reads only.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.errors import NotFound
from hub.kit.csvsafe import safe_row
from hub.line.schemas import checked_addresses
from hub.line.service import checks_of
from hub.mail.compose import Attachment
from hub.models import Client, IspLine, LineProbe, Vendor, VendorAccount
from hub.models.check import CheckRun

# Probe rows in the attached history (newest first): at the default 5-minute interval and
# two targets, about the last eight hours.
HISTORY_ROWS = 200
# Rounds quoted in the summary itself.
SUMMARY_ROUNDS = 5


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "never"


def _rounds(probes: list[LineProbe]) -> list[tuple[datetime, list[LineProbe]]]:
    rounds: dict[datetime, list[LineProbe]] = {}
    for p in probes:
        rounds.setdefault(p.probed_at, []).append(p)
    return sorted(rounds.items(), key=lambda kv: kv[0], reverse=True)


def _round_line(at: datetime, probes: list[LineProbe]) -> str:
    parts = [
        f"{p.host}:{p.port} " + (f"ok {p.latency_ms or 0:.1f} ms" if p.ok else f"FAILED ({p.error or '?'})")
        for p in sorted(probes, key=lambda p: (p.host, p.port))
    ]
    return f"- {_when(at)}: " + "; ".join(parts)


def _csv(probes: list[LineProbe]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["probed_at", "host", "port", "ok", "latency_ms", "error"])
    for p in probes:
        writer.writerow(
            safe_row(
                [
                    p.probed_at.isoformat(),
                    p.host,
                    str(p.port),
                    "yes" if p.ok else "no",
                    "" if p.latency_ms is None else f"{p.latency_ms:.3f}",
                    p.error or "",
                ]
            )
        )
    return out.getvalue().encode()


async def outage_evidence(session: AsyncSession, line_id: uuid.UUID) -> tuple[str, list[Attachment]]:
    """The summary text and the files of an outage case about the line."""
    line = await session.get(IspLine, line_id)
    if line is None:
        raise NotFound(f"line {line_id} not found")
    account = await session.get(VendorAccount, line.vendor_account_id)
    vendor = await session.get(Vendor, account.vendor_id) if account else None
    client = await session.get(Client, line.client_id)
    probes = list(
        (
            await session.execute(
                select(LineProbe)
                .where(LineProbe.line_id == line.id)
                .order_by(LineProbe.probed_at.desc(), LineProbe.id.desc())
                .limit(HISTORY_ROWS)
            )
        ).scalars()
    )
    rounds = _rounds(probes)
    failing_since = _failing_since(rounds)
    checks = await checks_of(session, line)
    latest_runs = await _latest_runs(session, [c.id for c in checks])

    bandwidth = " / ".join(
        f"{v.normalize():f} Mbps" if v is not None else "?"
        for v in (line.bandwidth_down_mbps, line.bandwidth_up_mbps)
    )
    lines = [
        f"Circuit {line.circuit_id} ({line.technology.value}, {bandwidth} down/up) is {line.state.value}"
        + (f" since {_when(line.state_changed_at)}" if line.state_changed_at else "")
        + ".",
        f"Customer: {client.name if client else line.client_id}"
        + (f", account {account.account_number}" if account and account.account_number else "")
        + (f" with {vendor.name}" if vendor else "")
        + ".",
        "Public addresses: " + (", ".join(line.address_blocks) or "none on file") + ".",
    ]
    if failing_since is not None:
        lines.append(
            f"No probe target has answered since {_when(failing_since)} "
            f"({line.consecutive_failures} probe rounds in a row, TCP connects from our monitoring)."
        )
    if rounds:
        lines.append("Latest probe rounds (newest first):")
        lines.extend(_round_line(at, group) for at, group in rounds[:SUMMARY_ROUNDS])
    else:
        lines.append("The line has not been probed yet.")
    lines.append(f"Attached: the last {len(probes)} probe results (CSV) and the line's details (JSON).")
    summary = "\n".join(lines)

    details: dict[str, Any] = {
        "line_id": str(line.id),
        "name": line.name,
        "circuit_id": line.circuit_id,
        "isp": vendor.name if vendor else None,
        "account_number": account.account_number if account else None,
        "technology": line.technology.value,
        "bandwidth_down_mbps": None if line.bandwidth_down_mbps is None else str(line.bandwidth_down_mbps),
        "bandwidth_up_mbps": None if line.bandwidth_up_mbps is None else str(line.bandwidth_up_mbps),
        "address_blocks": line.address_blocks,
        "checked_addresses": checked_addresses(line.address_blocks),
        "probe_targets": line.probe_targets,
        "state": line.state.value,
        "state_changed_at": line.state_changed_at.isoformat() if line.state_changed_at else None,
        "consecutive_failed_rounds": line.consecutive_failures,
        "last_probed_at": line.last_probed_at.isoformat() if line.last_probed_at else None,
        "address_checks": [
            {
                "kind": c.kind,
                "address": c.target_ref,
                "status": c.status.value,
                "last_run_at": c.last_run_at.isoformat() if c.last_run_at else None,
                "findings": latest_runs[c.id].findings if c.id in latest_runs else [],
            }
            for c in checks
        ],
    }
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in line.circuit_id)[:80] or "line"
    files = [
        Attachment(f"line-{slug}-probes.csv", _csv(probes), "text/csv"),
        Attachment(f"line-{slug}.json", json.dumps(details, indent=2).encode(), "application/json"),
    ]
    return summary, files


def _failing_since(rounds: list[tuple[datetime, list[LineProbe]]]) -> datetime | None:
    """The first round of the current run of rounds in which nothing answered."""
    since = None
    for at, group in rounds:
        if any(p.ok for p in group):
            break
        since = at
    return since


async def _latest_runs(session: AsyncSession, check_ids: list[uuid.UUID]) -> dict[uuid.UUID, CheckRun]:
    if not check_ids:
        return {}
    newest = select(func.max(CheckRun.id)).where(CheckRun.check_id.in_(check_ids)).group_by(CheckRun.check_id)
    rows = await session.execute(select(CheckRun).where(CheckRun.id.in_(newest)))
    return {run.check_id: run for run in rows.scalars()}


__all__ = ["outage_evidence"]
