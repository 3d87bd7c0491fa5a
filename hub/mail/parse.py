"""Raw RFC 5322 bytes -> `InboundMessage`. Pure, and total: any bytes give a message
(garbage gives an empty one with its defects counted), never an exception, because a
poller that crashes on one bad message stops the whole mailbox.

The raw bytes are kept unchanged on the result: the timeline shows the stripped reply,
the case keeps the original (for evidence, re-parsing with a better parser, DKIM).

The MIME tree is read with the `compat32` policy and the few headers we need are decoded
here (RFC 2047 words, RFC 2231 file names): `policy.default` builds a parsed header
object on every access, which made parsing four times slower for nothing we use.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

from hub.mail.classify import BounceInfo, Classification, MessageKind, classify
from hub.mail.htmltext import html_to_text, sanitise_html
from hub.mail.identity import normalise_message_id
from hub.mail.quotes import QuoteStripper

_MESSAGE_IDS = re.compile(r"<([^<>\s]+)>")
MAX_TEXT_CHARS = 1_000_000  # a body larger than this is cut for the timeline (raw stays whole)


@dataclass(frozen=True)
class AttachmentInfo:
    filename: str | None
    content_type: str
    size: int
    sha256: str
    inline: bool
    content_id: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    message_id: str | None  # normalised (no angle brackets); None when missing
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_addr: str  # lower-cased addr-spec, "" when unreadable
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    delivered_to: tuple[str, ...]  # Delivered-To / X-Original-To / Envelope-To: shows plus-addresses
    reply_to: tuple[str, ...]
    subject: str
    date: datetime | None  # aware
    text: str  # the full text body (from HTML when the message has no text part)
    text_from_html: bool
    html: str | None  # sanitised (nh3): safe to show
    reply_text: str  # `text` with quoted history stripped, for the timeline
    attachments: tuple[AttachmentInfo, ...]
    kind: MessageKind
    kind_reason: str | None
    bounce: BounceInfo | None
    raw: bytes = field(repr=False)
    defects: int = 0

    @property
    def sender_domain(self) -> str:
        return self.from_addr.rpartition("@")[2]

    @property
    def recipients(self) -> tuple[str, ...]:
        """Every address the message was sent or delivered to (plus-addresses included)."""
        return tuple(dict.fromkeys((*self.delivered_to, *self.to, *self.cc)))

    @property
    def thread_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.in_reply_to, *self.references)))

    @property
    def is_automatic(self) -> bool:
        """Auto-replies, system mail and bounces: never a vendor's response for a clock."""
        return self.kind is not MessageKind.human

    @property
    def dedupe_key(self) -> str:
        """Message-ID when there is one, else a hash of the bytes (what the caller stores
        unique to file each message once)."""
        if self.message_id:
            return self.message_id
        return "sha256:" + hashlib.sha256(self.raw).hexdigest()


class MessageParser:
    """Parses inbound mail. Holds the quote stripper (built once); otherwise stateless."""

    def __init__(self, quote_stripper: QuoteStripper | None = None) -> None:
        self._quotes = quote_stripper or QuoteStripper()

    def parse(self, raw: bytes) -> InboundMessage:
        msg = message_from_bytes(raw, policy=compat32)
        defects = len(msg.defects)
        from_name, from_addr = _first_address(msg, "From")
        subject = _unfold(_header(msg, "Subject"))
        text, html, text_from_html, attachments, part_defects = _bodies(msg)
        defects += part_defects
        try:
            classification = classify(msg, subject=subject, from_addr=from_addr, text=text)
        except Exception:  # a message must parse even if one classifier trips on it
            classification = Classification(MessageKind.human, None)
            defects += 1
        reply_text = (
            self._quotes.strip(text) if classification.kind is not MessageKind.bounce else text.strip()
        )
        message_ids = _message_ids(_header(msg, "Message-ID"))
        return InboundMessage(
            message_id=message_ids[0] if message_ids else (_bare_id(_header(msg, "Message-ID")) or None),
            in_reply_to=_message_ids(_header(msg, "In-Reply-To")),
            references=_message_ids(_header(msg, "References")),
            from_addr=from_addr,
            from_name=from_name,
            to=_addresses(msg, "To"),
            cc=_addresses(msg, "Cc"),
            delivered_to=tuple(
                dict.fromkeys(
                    (
                        *_addresses(msg, "Delivered-To"),
                        *_addresses(msg, "X-Original-To"),
                        *_addresses(msg, "Envelope-To"),
                    )
                )
            ),
            reply_to=_addresses(msg, "Reply-To"),
            subject=subject,
            date=_date(_header(msg, "Date")),
            text=text,
            text_from_html=text_from_html,
            html=html,
            reply_text=reply_text,
            attachments=attachments,
            kind=classification.kind,
            kind_reason=classification.reason,
            bounce=classification.bounce,
            raw=raw,
            defects=defects,
        )


def parse_message(raw: bytes) -> InboundMessage:
    """One-off convenience; a poller should keep one `MessageParser`."""
    return MessageParser().parse(raw)


# -- headers -------------------------------------------------------------------------------
def _decode(value: object) -> str:
    """A header value as text: RFC 2047 encoded words decoded, undecodable bytes replaced."""
    text = " ".join(str(value).split())  # unfolded
    if "=?" in text:
        try:
            return str(make_header(decode_header(text)))
        except Exception:  # a malformed encoded word: keep it as it came
            return text
    if any(0xDC80 <= ord(c) <= 0xDCFF for c in text):
        # raw 8-bit bytes in a header (surrogate-escaped by the parser): most likely UTF-8
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


def _header(msg: Message, name: str) -> str:
    """All occurrences, decoded and joined with ", " (read as stored: raw 8-bit text in a
    header is then still there to be decoded as UTF-8)."""
    wanted = name.lower()
    try:
        found = [value for key, value in msg.raw_items() if key.lower() == wanted]
    except Exception:
        found = []
    return ", ".join(v for v in (_decode(value) for value in found) if v)


def _unfold(value: str) -> str:
    return " ".join(value.split())


def _bare_id(value: str) -> str:
    value = _unfold(value)
    return normalise_message_id(value) if value and " " not in value else ""


def _message_ids(value: str) -> tuple[str, ...]:
    ids = [normalise_message_id(m) for m in _MESSAGE_IDS.findall(value)]
    if not ids and value.strip():
        bare = _bare_id(value)  # some senders omit the angle brackets
        ids = [bare] if bare else []
    return tuple(dict.fromkeys(i for i in ids if i))


def _addresses(msg: Message, name: str) -> tuple[str, ...]:
    raw = _header(msg, name)
    if not raw:
        return ()
    try:
        pairs = getaddresses([raw])
    except Exception:
        return ()
    return tuple(dict.fromkeys(addr.strip().lower() for _, addr in pairs if "@" in addr))


def _first_address(msg: Message, name: str) -> tuple[str, str]:
    raw = _header(msg, name)
    try:
        pairs = getaddresses([raw]) if raw else []
    except Exception:
        pairs = []
    for display, addr in pairs:
        if "@" in addr:
            return _unfold(display), addr.strip().lower()
    return "", ""


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# -- bodies and attachments ----------------------------------------------------------------
def _decoded_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:  # an unknown charset name
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return payload.decode("latin-1")


def _filename(part: Message) -> str | None:
    name = part.get_filename()  # RFC 2231 handled by the library
    return _decode(name) if name else None


def _leaf_parts(msg: Message) -> list[Message]:
    """Parts in order; an attached message (message/rfc822: a forward as attachment, the
    original inside a bounce) is one attachment, its own text is not our body."""
    if msg.get_content_maintype() == "multipart":
        payload = msg.get_payload()
        out: list[Message] = []
        if isinstance(payload, list):
            for sub in payload:
                if isinstance(sub, Message):
                    out.extend(_leaf_parts(sub))
        return out
    return [msg]


def _part_bytes(part: Message) -> bytes:
    if part.get_content_maintype() == "message":
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0].as_bytes()
        return str(payload).encode("utf-8", "replace")
    decoded = part.get_payload(decode=True)
    return decoded if isinstance(decoded, bytes) else str(part.get_payload()).encode("utf-8", "replace")


def _bodies(
    msg: Message,
) -> tuple[str, str | None, bool, tuple[AttachmentInfo, ...], int]:
    text_parts: list[str] = []
    html_parts: list[str] = []
    attachments: list[AttachmentInfo] = []
    defects = 0
    for part in _leaf_parts(msg):
        try:
            ctype = part.get_content_type()
            disposition = part.get_content_disposition()
            filename = _filename(part)
            if ctype in ("message/delivery-status", "message/global-delivery-status", "text/rfc822-headers"):
                continue  # read by the bounce classifier
            if disposition != "attachment" and not filename and ctype in ("text/plain", "text/html"):
                (text_parts if ctype == "text/plain" else html_parts).append(_decoded_text(part))
                continue
            data = _part_bytes(part)
            attachments.append(
                AttachmentInfo(
                    filename=_unfold(filename) if filename else None,
                    content_type=ctype,
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    inline=disposition == "inline",
                    content_id=normalise_message_id(_decode(part["Content-ID"]))
                    if part["Content-ID"]
                    else None,
                )
            )
        except Exception:
            defects += 1
    text = "\n".join(t for t in text_parts if t.strip())
    html_source = "\n".join(h for h in html_parts if h.strip())
    html = sanitise_html(html_source) if html_source else None
    text_from_html = False
    if not text.strip() and html_source:
        text = html_to_text(html_source)
        text_from_html = True
    text = text.replace("\r\n", "\n")[:MAX_TEXT_CHARS]
    return text, html, text_from_html, tuple(attachments), defects
