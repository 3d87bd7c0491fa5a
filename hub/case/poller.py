"""The cases mailbox, polled: each new message is ingested (hub.case.inbound) and the
mailbox cursor moved in ONE transaction, then the message is marked on the server (moved
to its outcome's folder or flagged). A poller stopped anywhere files each message exactly
once: before the commit, the message is read again next time and its dedupe key stops a
second filing; after it, the cursor has moved past it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hub.case.inbound import ingest
from hub.case.settings import CaseSettings
from hub.mail.imap import ImapCursor, ImapPoller
from hub.models import MailboxCursor

Units = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass
class PollResult:
    outcomes: dict[str, int] = field(default_factory=dict)


async def poll(units: Units, clock: Callable[[], datetime], settings: CaseSettings) -> PollResult:
    result = PollResult()
    imap = settings.imap()
    if imap is None:
        return result
    name = f"{imap.username}@{imap.host}:{imap.port}/{imap.folder}"
    async with units() as session:
        row = await session.get(MailboxCursor, name)
        cursor = ImapCursor(row.uidvalidity, row.last_uid) if row is not None else None
    async with ImapPoller(imap) as poller:
        async for fetched in poller.fetch_new(cursor):
            async with units() as session:
                got = await ingest(session, fetched.raw, clock(), settings)
                row = await session.get(MailboxCursor, name)
                if row is None:
                    row = MailboxCursor(name=name, uidvalidity=fetched.uidvalidity, last_uid=fetched.uid)
                    session.add(row)
                row.uidvalidity, row.last_uid, row.updated_at = fetched.uidvalidity, fetched.uid, clock()
            result.outcomes[got.outcome] = result.outcomes.get(got.outcome, 0) + 1
            await poller.mark_processed(fetched, "filed" if got.outcome == "duplicate" else got.outcome)
    return result
