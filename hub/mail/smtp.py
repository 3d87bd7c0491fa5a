"""Send one composed message over SMTP and say what happened, precisely enough for an
outbox to decide what to do next.

Outcomes:

- `sent`: the server accepted the message (250 after the DATA terminator).
- `temporary`: nothing was accepted and trying later may work: a 4xx reply, a refused
  connection, a timeout or a disconnect BEFORE the DATA terminator left us, an
  authentication failure (the message is fine; the configuration needs fixing).
- `permanent`: a 5xx reply to MAIL, to every RCPT, or to the DATA: do not resend as is.
- `unknown`: the DATA terminator was handed to the connection and then the answer was
  lost (timeout or disconnect). The server may have accepted the message and may
  deliver it.

The caller (the outbox) owns retries. Its contract with this module: the message's
bytes, and so its Message-ID, are fixed and stored BEFORE the first attempt, and every
attempt sends those same bytes. A resend after `unknown` then carries the same
Message-ID, so the vendor's system and our own inbound dedupe can recognise the copy; a
resend with a new Message-ID would be a second, different message.

aiosmtplib does the protocol; the DATA phase is driven here step by step (DATA, 354, the
body with its terminator, the reply) because its one-call `data()` cannot tell a timeout
before the terminator (`temporary`) from one after it (`unknown`).
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import aiosmtplib
from aiosmtplib.errors import SMTPException
from pydantic import SecretStr

log = logging.getLogger("hub.mail.smtp")

_PERIOD = re.compile(rb"(?m)^\.")


class SendKind(StrEnum):
    sent = "sent"
    temporary = "temporary"
    permanent = "permanent"
    unknown = "unknown"


@dataclass(frozen=True)
class SendOutcome:
    kind: SendKind
    detail: str  # for people and logs; never a credential
    code: int | None = None  # the SMTP reply code that decided, when there was one
    refused: dict[str, str] = field(default_factory=dict)  # recipient -> reply, when some were refused

    @property
    def delivered(self) -> bool:
        return self.kind is SendKind.sent


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    security: str = "starttls"  # starttls | tls | none
    username: str | None = None
    password: SecretStr | None = None
    timeout_seconds: float = 30.0
    local_hostname: str | None = None
    tls_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.security not in ("starttls", "tls", "none"):
            raise ValueError("security: one of starttls, tls, none")


class _Phase(StrEnum):
    connect = "connect"
    envelope = "envelope"
    data_command = "data_command"
    body = "body"
    after_terminator = "after_terminator"


def _reply_kind(code: int) -> SendKind:
    return SendKind.permanent if 500 <= code < 600 else SendKind.temporary


class SmtpSender:
    """One connection per message: case mail is a trickle, and a fresh connection makes
    each outcome independent of the previous message's fate."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    async def send(self, raw: bytes, *, sender: str, recipients: Sequence[str]) -> SendOutcome:
        if not recipients:
            return SendOutcome(SendKind.permanent, "no recipients")
        phase = _Phase.connect
        client = self._client()
        try:
            await client.connect()
            if self.settings.username and self.settings.password is not None:
                try:
                    await client.login(self.settings.username, self.settings.password.get_secret_value())
                except aiosmtplib.SMTPAuthenticationError as exc:
                    return SendOutcome(
                        SendKind.temporary, "authentication failed (check the settings)", exc.code
                    )
            phase = _Phase.envelope
            reply = await client.mail(sender)
            accepted, refused, last_refusal = await self._recipients(client, recipients)
            if not accepted:
                kind = _reply_kind(last_refusal)
                return SendOutcome(kind, "every recipient was refused", last_refusal, refused)
            phase = _Phase.data_command
            reply = await client.execute_command(b"DATA")
            if reply.code != 354:
                return SendOutcome(
                    _reply_kind(reply.code), f"DATA refused: {reply.message}", reply.code, refused
                )
            phase = _Phase.body
            reply = await self._body(client, raw)
            phase = _Phase.after_terminator
            if reply.code != 250:
                return SendOutcome(
                    _reply_kind(reply.code), f"message refused: {reply.message}", reply.code, refused
                )
            return SendOutcome(SendKind.sent, reply.message, reply.code, refused)
        except aiosmtplib.SMTPResponseException as exc:
            # MAIL refused, or a refusal at connect (e.g. 421 on the greeting).
            return SendOutcome(_reply_kind(exc.code), f"{phase.value}: {exc.code} {exc.message}", exc.code)
        except (TimeoutError, aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected, OSError) as exc:
            return self._lost(phase, exc)
        except SMTPException as exc:
            return self._lost(phase, exc)
        finally:
            client.close()

    @staticmethod
    async def _recipients(
        client: aiosmtplib.SMTP, recipients: Sequence[str]
    ) -> tuple[list[str], dict[str, str], int]:
        """RCPT TO each: (accepted, refused with the server's reason, the last refusal code)."""
        refused: dict[str, str] = {}
        accepted: list[str] = []
        last_refusal = 550
        for rcpt in recipients:
            try:
                await client.rcpt(rcpt)
            except aiosmtplib.SMTPRecipientRefused as exc:
                refused[rcpt] = f"{exc.code} {exc.message}"
                last_refusal = exc.code
            else:
                accepted.append(rcpt)
        return accepted, refused, last_refusal

    @staticmethod
    def _lost(phase: _Phase, exc: BaseException) -> SendOutcome:
        what = (
            "timed out" if isinstance(exc, (TimeoutError, aiosmtplib.SMTPTimeoutError)) else "connection lost"
        )
        if phase in (_Phase.body, _Phase.after_terminator):
            # The terminator may have reached the server: it may have the message.
            return SendOutcome(SendKind.unknown, f"{what} after the message was sent ({type(exc).__name__})")
        return SendOutcome(SendKind.temporary, f"{what} during {phase.value} ({type(exc).__name__})")

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout_seconds,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            local_hostname=s.local_hostname,
            tls_context=s.tls_context,
        )

    async def _body(self, client: aiosmtplib.SMTP, raw: bytes) -> aiosmtplib.SMTPResponse:
        """The message with dot-stuffing and the terminator, then the server's reply."""
        protocol = client.protocol
        if protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("connection lost before the message")
        data = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        protocol.write(_PERIOD.sub(b"..", data) + b".\r\n")
        return await protocol.read_response(timeout=self.settings.timeout_seconds)
