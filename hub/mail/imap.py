"""Poll one IMAP folder by UID, from a cursor the caller persists.

The caller's loop, and why it files each message exactly once:

    async with ImapPoller(settings) as poller:
        async for fetched in poller.fetch_new(cursor):
            # in ONE transaction: store the message unique on fetched.dedupe_key (skip it
            # when already there), file or triage it, and save fetched.cursor
            ...
            await poller.mark_processed(fetched, outcome)   # after the commit (optional)

- A crash after the commit and before the next message loses nothing: the cursor says
  where to resume. A crash before the commit re-fetches that message: the dedupe key
  (the Message-ID, else a hash of the bytes) makes the second copy a no-op.
- UIDVALIDITY changed (the folder was recreated, the server migrated): every UID is
  meaningless, so the folder is read again from the start with `rescan=True`; the
  dedupe key keeps what was already filed from being filed twice.
- At most `max_messages` per `fetch_new` call (then the caller commits and polls again),
  fetched `batch_size` at a time.
- Messages are read with BODY.PEEK (never marked seen by reading). After processing,
  `mark_processed` moves a message to the folder configured for its outcome, or flags it.

imap-tools (over the standard library's imaplib) is synchronous: each IMAP exchange runs
in a worker thread, one at a time per poller. Every failure comes out as `MailboxError`
with a kind and a message that never contains the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import imaplib
import re
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from functools import partial
from typing import TypeVar

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError
from pydantic import SecretStr

from hub.mail.identity import normalise_message_id

T = TypeVar("T")
_FETCH_ITEM = re.compile(rb"UID (\d+)")
_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")


class MailboxError(Exception):
    """kind: connect (network, TLS, timeout), auth (login refused), folder (missing or not
    selectable), protocol (the server answered something unusable)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


@dataclass(frozen=True)
class ImapCursor:
    uidvalidity: int
    last_uid: int


@dataclass(frozen=True)
class ImapSettings:
    host: str
    username: str
    password: SecretStr
    port: int = 993
    security: str = "tls"  # tls | starttls | none (loopback tests only)
    folder: str = "INBOX"
    batch_size: int = 25
    max_messages: int = 200
    timeout_seconds: float = 30.0
    # outcome (e.g. "filed", "triage", "dropped") -> folder; an outcome without a folder
    # gets `processed_flag` instead (when set)
    outcome_folders: Mapping[str, str] = field(default_factory=dict)
    processed_flag: str | None = "\\Seen"
    tls_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.security not in ("tls", "starttls", "none"):
            raise ValueError("security: one of tls, starttls, none")
        if not 1 <= self.batch_size <= 1000 or not 1 <= self.max_messages <= 100_000:
            raise ValueError("batch_size 1..1000 and max_messages 1..100000")


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    uidvalidity: int
    raw: bytes = field(repr=False)
    flags: tuple[str, ...]
    message_id: str | None  # normalised
    rescan: bool  # read again after a UIDVALIDITY change: expect duplicates

    @property
    def cursor(self) -> ImapCursor:
        """What to persist once this message is stored."""
        return ImapCursor(self.uidvalidity, self.uid)

    @property
    def dedupe_key(self) -> str:
        if self.message_id:
            return self.message_id
        return "sha256:" + hashlib.sha256(self.raw).hexdigest()


def _message_id(raw: bytes) -> str | None:
    end = raw.find(b"\r\n\r\n")
    head = raw[: end if end >= 0 else 65536]
    value = BytesHeaderParser(policy=compat32).parsebytes(head).get("Message-ID")
    found = re.search(r"<([^<>\s]+)>", str(value)) if value else None
    if found:
        return normalise_message_id(found.group(1))
    return normalise_message_id(str(value)) if value and str(value).strip() else None


class ImapPoller:
    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self._box: BaseMailBox | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        s = self.settings
        return f"ImapPoller({s.username}@{s.host}:{s.port}/{s.folder})"

    async def __aenter__(self) -> ImapPoller:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing ----------------------------------------------------------------------------
    async def _run(self, fn: Callable[[], T]) -> T:
        async with self._lock:
            return await asyncio.to_thread(self._guarded, fn)

    def _guarded(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except MailboxError:
            raise
        except MailboxLoginError:
            self._drop()
            raise MailboxError("auth", f"login refused for {self.settings.username}") from None
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            self._drop()
            raise MailboxError(
                "connect", f"{self.settings.host}:{self.settings.port}: {type(exc).__name__}"
            ) from None
        except (imaplib.IMAP4.error, Exception) as exc:  # imap-tools errors, odd server answers
            self._drop()
            raise MailboxError(
                "protocol", f"{type(exc).__name__}: {_safe(str(exc), self.settings)}"
            ) from None

    def _drop(self) -> None:
        box, self._box = self._box, None
        if box is not None:
            _shutdown(box)

    def _open(self) -> BaseMailBox:
        if self._box is not None:
            return self._box
        s = self.settings
        box: BaseMailBox
        if s.security == "tls":
            box = MailBox(s.host, s.port, timeout=s.timeout_seconds, ssl_context=s.tls_context)
        elif s.security == "starttls":
            box = MailBoxStartTls(s.host, s.port, timeout=s.timeout_seconds, ssl_context=s.tls_context)
        else:
            box = MailBoxUnencrypted(s.host, s.port, timeout=s.timeout_seconds)
        try:
            box.login(s.username, s.password.get_secret_value(), initial_folder=None)
        except BaseException:
            _shutdown(box)
            raise
        self._box = box
        return box

    async def connect(self) -> None:
        await self._run(self._open)

    async def close(self) -> None:
        async with self._lock:
            box, self._box = self._box, None
        if box is not None:
            await asyncio.to_thread(_logout, box)

    # -- polling -----------------------------------------------------------------------------
    def _select(self) -> int:
        box = self._open()
        typ, _ = box.client.select(_quote(self.settings.folder))
        if typ != "OK":
            raise MailboxError("folder", f"cannot select {self.settings.folder}")
        validity = box.client.untagged_responses.get("UIDVALIDITY") or []
        last = validity[-1] if validity else None
        if not isinstance(last, bytes):
            status = box.folder.status(self.settings.folder, ["UIDVALIDITY"])
            return int(status["UIDVALIDITY"])
        return int(last)

    def _uids_after(self, last_uid: int) -> list[int]:
        box = self._open()
        typ, data = box.client.uid("SEARCH", f"UID {last_uid + 1}:*")
        if typ != "OK":
            raise MailboxError("protocol", "UID SEARCH failed")
        uids = [int(u) for u in (data[0] or b"").split()]
        # "n:*" always includes the highest UID, even below n: filter.
        return sorted(u for u in uids if u > last_uid)

    def _fetch(self, uids: list[int]) -> list[tuple[int, tuple[str, ...], bytes]]:
        box = self._open()
        typ, data = box.client.uid("FETCH", ",".join(map(str, uids)), "(UID FLAGS BODY.PEEK[])")
        if typ != "OK":
            raise MailboxError("protocol", "UID FETCH failed")
        out = []
        for item in data:
            if not isinstance(item, tuple) or len(item) < 2:
                continue
            head, body = item[0], item[1]
            uid = _FETCH_ITEM.search(head)
            if uid is None or not isinstance(body, bytes):
                continue
            flags = _FLAGS.search(head)
            out.append(
                (
                    int(uid.group(1)),
                    tuple(f.decode() for f in flags.group(1).split()) if flags else (),
                    body,
                )
            )
        return sorted(out)

    async def fetch_new(self, cursor: ImapCursor | None) -> AsyncIterator[FetchedMessage]:
        """Messages after the cursor, oldest first, at most `max_messages`."""
        validity = await self._run(self._select)
        rescan = cursor is not None and cursor.uidvalidity != validity
        last = 0 if cursor is None or rescan else cursor.last_uid
        uids = (await self._run(partial(self._uids_after, last)))[: self.settings.max_messages]
        size = self.settings.batch_size
        for start in range(0, len(uids), size):
            chunk = uids[start : start + size]
            for uid, flags, raw in await self._run(partial(self._fetch, chunk)):
                yield FetchedMessage(
                    uid=uid,
                    uidvalidity=validity,
                    raw=raw,
                    flags=flags,
                    message_id=_message_id(raw),
                    rescan=rescan,
                )

    async def current_cursor(self) -> ImapCursor:
        """The folder's state now: to start polling from 'new mail only'."""

        def read() -> ImapCursor:
            validity = self._select()
            status = self._open().folder.status(self.settings.folder, ["UIDNEXT"])
            return ImapCursor(validity, int(status["UIDNEXT"]) - 1)

        return await self._run(read)

    async def mark_processed(self, fetched: FetchedMessage, outcome: str) -> None:
        """Move to the outcome's folder (created on first use) or set the processed flag.
        A message whose UIDVALIDITY is no longer current is left alone."""
        folder = self.settings.outcome_folders.get(outcome)
        flag = self.settings.processed_flag

        def act() -> None:
            if self._select() != fetched.uidvalidity:
                return
            box = self._open()
            uid = str(fetched.uid)
            if folder:
                if not box.folder.exists(folder):
                    box.folder.create(folder)
                box.folder.set(self.settings.folder)
                box.move(uid, folder)
            elif flag:
                box.flag(uid, flag, True)

        await self._run(act)


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _shutdown(box: BaseMailBox) -> None:
    with contextlib.suppress(Exception):  # already broken: nothing more to do
        box.client.shutdown()


def _logout(box: BaseMailBox) -> None:
    with contextlib.suppress(Exception):  # the connection may already be gone
        box.logout()


def _safe(text: str, settings: ImapSettings) -> str:
    secret = settings.password.get_secret_value()
    return text.replace(secret, "***") if secret else text
