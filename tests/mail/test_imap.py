"""The IMAP poller against a real IMAP server on loopback (pymap): resumable by cursor,
exactly-once after dedupe across a kill, UIDVALIDITY changes, bounded batches, outcome
folders, and clean errors that never show the password."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.mail.imap import ImapCursor, ImapPoller, MailboxError
from hub.mail.world import LoopbackImapServer
from tests.mail.conftest import vendor_mail
from tests.mail.ingest_driver import ingest, load_cursor, open_db

ROOT = Path(__file__).resolve().parents[2]


async def _all(poller: ImapPoller, cursor: ImapCursor | None) -> list:
    return [f async for f in poller.fetch_new(cursor)]


async def test_polls_new_mail_from_the_cursor_in_uid_order(imap_server: LoopbackImapServer) -> None:
    imap_server.append_sync([vendor_mail(n) for n in range(5)])
    async with ImapPoller(imap_server.settings(batch_size=2)) as poller:
        first = await _all(poller, None)
        assert [f.message_id for f in first] == [f"m{n}@vendor.example" for n in range(5)]
        assert [f.uid for f in first] == sorted(f.uid for f in first)
        assert not any(f.rescan for f in first)
        assert first[0].raw == vendor_mail(0)  # byte for byte
        assert "\\Seen" not in first[0].flags  # read with PEEK
        cursor = first[-1].cursor
        assert await poller.current_cursor() == cursor  # "from now on" starts here
        assert await _all(poller, cursor) == []  # nothing new (and "n:*" never re-returns the last)
        imap_server.append_sync(vendor_mail(5))
        imap_server.append_sync(vendor_mail(6))
        again = await _all(poller, cursor)
        assert [f.message_id for f in again] == ["m5@vendor.example", "m6@vendor.example"]


async def test_a_poll_is_bounded(imap_server: LoopbackImapServer) -> None:
    imap_server.append_sync([vendor_mail(n) for n in range(12)])
    async with ImapPoller(imap_server.settings(batch_size=4, max_messages=5)) as poller:
        first = await _all(poller, None)
        assert len(first) == 5
        rest = await _all(poller, first[-1].cursor)
        assert len(rest) == 5
        last = await _all(poller, rest[-1].cursor)
        assert [f.message_id for f in last] == ["m10@vendor.example", "m11@vendor.example"]


async def test_processed_mail_moves_to_the_outcome_folder_or_is_flagged(
    imap_server: LoopbackImapServer,
) -> None:
    imap_server.append_sync([vendor_mail(n) for n in range(3)])
    settings = imap_server.settings(outcome_folders={"triage": "Hub/Triage", "filed": "Hub/Filed"})
    async with ImapPoller(settings) as poller:
        fetched = await _all(poller, None)
        await poller.mark_processed(fetched[0], "filed")
        await poller.mark_processed(fetched[1], "triage")
        await poller.mark_processed(fetched[2], "dropped")  # no folder: flagged \Seen
        assert len(imap_server.uids("Hub/Filed")) == 1 and len(imap_server.uids("Hub/Triage")) == 1
        remaining = await _all(poller, None)
        assert [f.message_id for f in remaining] == ["m2@vendor.example"]
        assert "\\Seen" in remaining[0].flags


async def test_uidvalidity_change_rescans_and_dedupe_keeps_each_message_once(
    imap_server: LoopbackImapServer,
) -> None:
    imap_server.recreate_folder("Vendors")
    imap_server.append_sync([vendor_mail(n) for n in range(5)], "Vendors")
    filed: dict[str, int] = {}
    async with ImapPoller(imap_server.settings(folder="Vendors")) as poller:
        batch = await _all(poller, None)
        for f in batch:
            filed[f.dedupe_key] = filed.get(f.dedupe_key, 0) + 1
        cursor = batch[-1].cursor
        # The server lost its UID state: the folder is rebuilt with old and new mail.
        imap_server.recreate_folder("Vendors")
        imap_server.append_sync([vendor_mail(n) for n in (0, 1, 2, 5, 6)], "Vendors")
        rescan = await _all(poller, cursor)
        assert all(f.rescan for f in rescan) and len(rescan) == 5
        assert rescan[0].uidvalidity != cursor.uidvalidity
        new = [f for f in rescan if f.dedupe_key not in filed]
        assert [f.message_id for f in new] == ["m5@vendor.example", "m6@vendor.example"]
        # The new cursor is in the new UIDVALIDITY: no rescan next time.
        assert await _all(poller, rescan[-1].cursor) == []


async def test_crash_between_store_and_cursor_refetches_one_message_that_dedupe_absorbs(
    imap_server: LoopbackImapServer, tmp_path: Path
) -> None:
    imap_server.append_sync([vendor_mail(n) for n in range(10)])
    db = open_db(str(tmp_path / "ingest.db"))
    async with ImapPoller(imap_server.settings(batch_size=3)) as poller:
        async for fetched in poller.fetch_new(None):
            db.execute("INSERT OR IGNORE INTO filed VALUES (?, ?)", (fetched.dedupe_key, fetched.uid))
            if fetched.message_id == "m6@vendor.example":
                break  # "crash": stored, cursor not saved
            c = fetched.cursor
            db.execute("INSERT OR REPLACE INTO cursor VALUES (1, ?, ?)", (c.uidvalidity, c.last_uid))
    await ingest(imap_server.settings(), db, split_commit=False)
    keys = [row[0] for row in db.execute("SELECT dedupe_key FROM filed ORDER BY uid")]
    assert keys == [f"m{n}@vendor.example" for n in range(10)]


async def test_killed_poller_resumes_and_files_each_message_exactly_once(
    imap_server: LoopbackImapServer, tmp_path: Path
) -> None:
    total = 40
    imap_server.append_sync([vendor_mail(n) for n in range(total)])
    path = str(tmp_path / "ingest.db")
    open_db(path).close()
    process = subprocess.Popen(  # noqa: ASYNC220 (started, then killed mid-run: never awaited)
        [
            sys.executable,
            "-m",
            "tests.mail.ingest_driver",
            str(imap_server.port),
            "hub",
            imap_server.password,
            path,
            "0.05",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    db = sqlite3.connect(path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = db.execute("SELECT count(*) FROM filed").fetchone()[0]
        if done >= 12:
            break
        await asyncio.sleep(0.01)
    process.send_signal(signal.SIGKILL)  # mid-mailbox, mid-batch, no clean-up
    process.wait()
    killed_at = db.execute("SELECT count(*) FROM filed").fetchone()[0]
    assert 12 <= killed_at < total, "the kill must land mid-mailbox"
    resumed = open_db(path)
    cursor = load_cursor(resumed)
    assert cursor is not None
    await ingest(imap_server.settings(), resumed, split_commit=True)
    keys = [row[0] for row in resumed.execute("SELECT dedupe_key FROM filed ORDER BY uid")]
    assert keys == [f"m{n}@vendor.example" for n in range(total)]  # each exactly once, in order
    arrivals = resumed.execute("SELECT count(*) FROM arrivals").fetchone()[0]
    assert total <= arrivals <= total + 1  # at most the one message in flight came twice


async def test_bad_password_is_a_clean_auth_error_without_the_password(
    imap_server: LoopbackImapServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cret-Pa55word-xyz"
    settings = imap_server.settings()
    settings = type(settings)(**{**settings.__dict__, "password": SecretStr(secret)})
    caplog.set_level(logging.DEBUG)
    poller = ImapPoller(settings)
    with pytest.raises(MailboxError) as err:
        await poller.connect()
    assert err.value.kind == "auth"
    shown = "".join(traceback.format_exception(err.value)) + repr(err.value) + repr(poller) + repr(settings)
    assert secret not in shown and secret not in caplog.text


async def test_unreachable_server_is_a_connect_error() -> None:
    server = LoopbackImapServer()
    server.port = 1  # nothing listens there
    with pytest.raises(MailboxError) as err:
        async with ImapPoller(server.settings(timeout_seconds=2)):
            pass
    assert err.value.kind == "connect"


async def test_missing_folder_is_a_folder_error(imap_server: LoopbackImapServer) -> None:
    async with ImapPoller(imap_server.settings(folder="Nope")) as poller:
        with pytest.raises(MailboxError) as err:
            await _all(poller, None)
    assert err.value.kind in ("folder", "protocol")
