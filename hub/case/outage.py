"""An ISP line that went down opens a case with its ISP, once per outage.

The line package records the outage (state `down`, `state_changed_at`); this module, run
every minute, opens the case: lines know nothing of cases. One case per outage: a line
gets a new case only when it went down after the last case opened about it, so a case
resolved while the line is still down is not opened again every minute."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import Principal
from hub.case import service
from hub.case.schemas import CaseCreate
from hub.models import Client, IspLine, VendorCase
from hub.models.enums import CaseSeverity, Role
from hub.models.line import LineState

ACTOR = "automation:line-outage"
AUTOMATION = Principal(actor=ACTOR, role=Role.admin)


async def open_outage_cases(session: AsyncSession, now: datetime) -> list[VendorCase]:
    """Open (and, when the ISP has a support address, send) a case for each line that is
    down with no case opened since it went down."""
    already = exists().where(
        and_(VendorCase.line_id == IspLine.id, VendorCase.created_at >= IspLine.state_changed_at)
    )
    lines = (
        await session.execute(
            select(IspLine)
            .join(Client, Client.id == IspLine.client_id)
            .where(IspLine.state == LineState.down, Client.archived_at.is_(None), ~already)
            .order_by(IspLine.state_changed_at)
        )
    ).scalars()
    opened = []
    for line in lines:
        profile_case = CaseCreate(
            vendor_account_id=line.vendor_account_id, line_id=line.id, severity=CaseSeverity.high
        )
        case = await service.create_case(session, AUTOMATION, profile_case)
        # Sent at once when there is someone to send it to; otherwise a draft that the
        # technician completes (the "who to call" card says whom to phone).
        if case.to_addresses:
            await service.submit(session, AUTOMATION, case, context={"circuit_id": line.circuit_id})
        opened.append(case)
    return opened
