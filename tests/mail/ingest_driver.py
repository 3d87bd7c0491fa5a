"""A minimal poller caller, as the case service will be: it stores each message unique on
its dedupe key and persists the IMAP cursor, in a SQLite file. Run as a subprocess by the
kill-and-resume test (python -m tests.mail.ingest_driver PORT USER PASSWORD DB [DELAY])."""

from __future__ import annotations

import asyncio
import sqlite3
import sys

from pydantic import SecretStr

from hub.mail.imap import ImapCursor, ImapPoller, ImapSettings


def open_db(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS filed (dedupe_key TEXT PRIMARY KEY, uid INTEGER)")
    db.execute("CREATE TABLE IF NOT EXISTS arrivals (dedupe_key TEXT, uid INTEGER)")
    db.execute(
        "CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY CHECK (id = 1), validity INT, uid INT)"
    )
    return db


def load_cursor(db: sqlite3.Connection) -> ImapCursor | None:
    row = db.execute("SELECT validity, uid FROM cursor WHERE id = 1").fetchone()
    return ImapCursor(row[0], row[1]) if row else None


async def ingest(
    settings: ImapSettings, db: sqlite3.Connection, delay: float = 0.0, *, split_commit: bool
) -> int:
    """Poll until the folder has nothing new. With split_commit the message and the cursor
    are committed separately (a crash between them re-fetches one message)."""
    count = 0
    async with ImapPoller(settings) as poller:
        while True:
            got = 0
            async for fetched in poller.fetch_new(load_cursor(db)):
                got += 1
                if delay:
                    await asyncio.sleep(delay)
                db.execute("BEGIN")
                db.execute("INSERT INTO arrivals VALUES (?, ?)", (fetched.dedupe_key, fetched.uid))
                db.execute("INSERT OR IGNORE INTO filed VALUES (?, ?)", (fetched.dedupe_key, fetched.uid))
                if split_commit:
                    db.execute("COMMIT")
                    db.execute("BEGIN")
                c = fetched.cursor
                db.execute("INSERT OR REPLACE INTO cursor VALUES (1, ?, ?)", (c.uidvalidity, c.last_uid))
                db.execute("COMMIT")
                count += 1
            if not got:
                return count


if __name__ == "__main__":
    port, user, password, path = sys.argv[1:5]
    delay = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    settings = ImapSettings(
        host="127.0.0.1",
        port=int(port),
        username=user,
        password=SecretStr(password),
        security="none",
        batch_size=5,
    )
    asyncio.run(ingest(settings, open_db(path), delay, split_commit=True))
