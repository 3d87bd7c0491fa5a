"""Outbound case mail, built from templates. Pure: no I/O beyond reading the templates.

The composer is deterministic for its inputs: the outbox passes the case token, the
message's sequence number (so the Message-ID) and the clock reading, stores the bytes it
gets back, and sends exactly those bytes on every attempt. A resend after an `unknown`
SMTP outcome therefore carries the same Message-ID, which the vendor's system (and our own
inbound dedupe) can recognise.

Templates live in `templates/<language>/<kind>.txt.j2`, with an optional override per
vendor category in `templates/<language>/<category>/<kind>.txt.j2` (it extends the
default and fills the `details` block: circuit id for an ISP, serial for hardware...).
Each template has a `subject` block and a `body` block (the base template renders one or
the other, chosen by the `part` variable). Every user-facing string of the
case mail is in those files and nowhere else.

Headers never carry a line break: values given by people (case title, names, addresses,
attachment names) that contain one are refused with the field named; a vendor's subject we
reply to (already decoded from a header, where folding is legitimate) is unfolded.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, getaddresses
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import email_validator
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, UndefinedError

from hub.mail.errors import MailInputError
from hub.mail.identity import MailIdentity, normalise_message_id

TEMPLATES_DIR = Path(__file__).parent / "templates"
KINDS = ("open", "follow_up", "chaser", "reopen", "purchase_order")
DEFAULT_LANGUAGE = "en"
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# RFC 5322 allows any length; long References headers are trimmed by many MTAs, so keep
# the first (thread root) and the most recent ones, as mail clients do.
MAX_REFERENCES = 20

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_FOLDING = re.compile(r"[\r\n\t]+[ \t]*")
# Reply/forward prefixes mail clients stack in front of a subject (en, it, de, fr, nl, nordic).
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|r|rif|aw|antw|sv|vs|wg|tr|fw|fwd|i|inoltro|réf)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*)+",
    re.IGNORECASE,
)
# Text types are attached as UTF-8 text; an .eml stays byte-exact (see _attachment_part).
_TYPES = {
    ".json": ("application", "json"),
    ".txt": ("text", "plain"),
    ".log": ("text", "plain"),
    ".csv": ("text", "csv"),
    ".eml": ("application", "octet-stream"),
}


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str | None = None  # "maintype/subtype"; guessed from the file name when None


@dataclass(frozen=True)
class ThreadContext:
    """What we answer: the vendor message's Message-ID and References (normalised, no angle
    brackets) and its subject, which is kept as the vendor wrote it (their case number and
    thread tokens stay, zammad#1134). For a chaser to a silent vendor, `references` holds
    our own earlier Message-IDs and the rest is empty."""

    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    subject: str | None = None


@dataclass(frozen=True)
class OutboundRequest:
    token: str
    seq: int
    to: tuple[str, ...]
    kind: str
    language: str = DEFAULT_LANGUAGE
    vendor_category: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    cc: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    thread: ThreadContext | None = None
    vendor_case_number: str | None = None


@dataclass(frozen=True)
class ComposedMail:
    message: EmailMessage
    message_id: str  # normalised, as stored and as matched later
    subject: str
    recipients: tuple[str, ...]  # envelope recipients (to + cc), addr-specs
    language: str  # the language actually used (falls back to DEFAULT_LANGUAGE)

    def as_bytes(self) -> bytes:
        # CRLF line endings, as they go on the wire: the outbox stores exactly this.
        return self.message.as_bytes(policy=SMTP_POLICY)


def strip_reply_prefixes(subject: str) -> str:
    """`RE: AW: Re[2]: Case 123` -> `Case 123`; the rest of the subject untouched."""
    return _REPLY_PREFIX.sub("", subject, count=1)


def unfold(value: str) -> str:
    """A decoded header value with its folding (and any stray control character) turned
    into single spaces: safe to put back into a header."""
    return _CONTROL.sub(" ", _FOLDING.sub(" ", value)).strip()


def refuse_line_breaks(field_name: str, value: str) -> str:
    if _CONTROL.search(value):
        raise MailInputError(field_name, "must not contain line breaks or control characters")
    return value


def parse_recipient(field_name: str, value: str) -> Address:
    """`Name <addr>` or `addr` -> Address; a line break, several addresses in one value or
    an invalid address is refused with the field named."""
    refuse_line_breaks(field_name, value)
    pairs = getaddresses([value])
    if len(pairs) != 1 or not pairs[0][1]:
        raise MailInputError(field_name, "one e-mail address expected")
    name, addr = pairs[0]
    try:
        checked = email_validator.validate_email(addr, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise MailInputError(field_name, f"not a valid e-mail address: {exc}") from None
    local, _, domain = checked.normalized.rpartition("@")
    return Address(display_name=name, username=local, domain=domain.lower())


def safe_filename(field_name: str, name: str) -> str:
    refuse_line_breaks(field_name, name)
    # Only the last path component travels: a name like ../../etc/passwd or C:\x\y.txt
    # would otherwise be honoured by some receiving ticket systems.
    base = PureWindowsPath(PurePosixPath(name).name).name.strip()
    if not base or base in {".", ".."}:
        raise MailInputError(field_name, "a file name is required")
    if len(base) > 200:
        raise MailInputError(field_name, "longer than 200 characters")
    return base


class Composer:
    """Builds outbound case mail for one hub identity. One instance per process is fine;
    it holds only the template environment."""

    def __init__(
        self,
        identity: MailIdentity,
        *,
        templates_dir: Path = TEMPLATES_DIR,
        signature: str | None = None,
        max_attachment_bytes: int = MAX_ATTACHMENT_BYTES,
    ) -> None:
        self.identity = identity
        self.signature = signature or identity.from_name
        self.max_attachment_bytes = max_attachment_bytes
        self._env = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            undefined=StrictUndefined,
            autoescape=False,  # noqa: S701 (plain-text mail: nothing here is HTML)
            keep_trailing_newline=True,
            trim_blocks=False,
        )
        self.languages = tuple(
            sorted(p.name for p in templates_dir.iterdir() if p.is_dir() and (p / "_base.txt.j2").exists())
        )

    # -- templates -------------------------------------------------------------------------
    def _template_name(self, kind: str, language: str, category: str | None) -> str:
        if category:
            specific = f"{language}/{category}/{kind}.txt.j2"
            try:
                self._env.get_template(specific)
            except TemplateNotFound:
                pass
            else:
                return specific
        return f"{language}/{kind}.txt.j2"

    def render(
        self, kind: str, language: str, category: str | None, context: Mapping[str, Any]
    ) -> tuple[str, str, str]:
        """(subject text from the template, body, language used)."""
        if kind not in KINDS:
            raise MailInputError("kind", f"one of {', '.join(KINDS)}")
        if language not in self.languages:
            language = DEFAULT_LANGUAGE
        template = self._env.get_template(self._template_name(kind, language, category))
        try:
            subject = template.render({**context, "part": "subject"}).strip()
            body = template.render({**context, "part": "body"})
            # Optional template blocks leave runs of blank lines: one blank line at most.
            body = _BLANK_RUNS.sub("\n\n", body).strip("\n") + "\n"
        except UndefinedError as exc:
            # StrictUndefined: "'circuit_id' is undefined" -> name the missing value.
            missing = re.search(r"'([^']+)' is undefined", str(exc))
            name = missing.group(1) if missing else "context"
            raise MailInputError(f"context.{name}", f"the {kind} template needs it") from None
        return subject, body, language

    # -- the message -----------------------------------------------------------------------
    def compose(self, request: OutboundRequest, *, now: datetime) -> ComposedMail:
        identity = self.identity
        tag = identity.subject_tag(request.token)
        message_id = identity.message_id(request.token, request.seq)
        to = [parse_recipient(f"to[{i}]", value) for i, value in enumerate(request.to)]
        cc = [parse_recipient(f"cc[{i}]", value) for i, value in enumerate(request.cc)]
        if not to:
            raise MailInputError("to", "at least one recipient is required")
        if now.tzinfo is None:
            raise MailInputError("now", "an aware datetime is required")
        for key, value in request.context.items():
            if key in {"title", "client_name"} and isinstance(value, str):
                refuse_line_breaks(f"context.{key}", value)
        if request.vendor_case_number is not None:
            refuse_line_breaks("vendor_case_number", request.vendor_case_number)
        files = self._attachments(request.attachments)

        context = {
            "account_number": None,
            "contract_number": None,
            "evidence": (),
            **request.context,
            "tag": tag,
            "token": request.token,
            "vendor_case_number": request.vendor_case_number,
            "signature": self.signature,
            "attachment_names": [name for name, _, _ in files],
        }
        template_subject, body, language = self.render(
            request.kind, request.language, request.vendor_category, context
        )
        subject = self._subject(tag, template_subject, request.thread)

        msg = EmailMessage()
        msg["From"] = identity.sender()
        msg["To"] = to
        if cc:
            msg["Cc"] = cc
        local, _, domain = identity.reply_address(request.token).partition("@")
        msg["Reply-To"] = Address(display_name=identity.from_name, username=local, domain=domain)
        msg["Subject"] = subject
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = message_id
        thread = request.thread
        if thread is not None:
            if thread.in_reply_to:
                reply_to_id = normalise_message_id(
                    refuse_line_breaks("thread.in_reply_to", thread.in_reply_to)
                )
                msg["In-Reply-To"] = f"<{reply_to_id}>"
            references = self._references(thread)
            if references:
                msg["References"] = " ".join(f"<{ref}>" for ref in references)
        msg.set_content(body, cte="quoted-printable")
        msg["Content-Language"] = language
        for name, (maintype, subtype), content in files:
            self._attach(msg, name, maintype, subtype, content)
        return ComposedMail(
            message=msg,
            message_id=normalise_message_id(message_id),
            subject=subject,
            recipients=tuple(a.addr_spec for a in (*to, *cc)),
            language=language,
        )

    def _subject(self, tag: str, template_subject: str, thread: ThreadContext | None) -> str:
        if thread is not None and thread.subject:
            # A reply keeps the vendor's subject (their case number and thread tokens) and
            # adds our tag only if they dropped it.
            base = strip_reply_prefixes(unfold(thread.subject))
            if tag.lower() not in base.lower():
                base = f"{base} {tag}"
            return f"Re: {base}"
        refuse_line_breaks("subject", template_subject)
        return f"{tag} {template_subject}".strip()

    @staticmethod
    def _references(thread: ThreadContext) -> list[str]:
        chain = [normalise_message_id(ref) for ref in thread.references if ref.strip()]
        if thread.in_reply_to and normalise_message_id(thread.in_reply_to) not in chain:
            chain.append(normalise_message_id(thread.in_reply_to))
        for i, ref in enumerate(chain):
            refuse_line_breaks(f"thread.references[{i}]", ref)
        if len(chain) > MAX_REFERENCES:
            chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
        return chain

    def _attachments(self, attachments: Sequence[Attachment]) -> list[tuple[str, tuple[str, str], bytes]]:
        total = 0
        out = []
        for i, item in enumerate(attachments):
            name = safe_filename(f"attachments[{i}].filename", item.filename)
            total += len(item.content)
            if total > self.max_attachment_bytes:
                raise MailInputError(
                    f"attachments[{i}]", f"attachments exceed {self.max_attachment_bytes} bytes in total"
                )
            out.append((name, self._content_type(f"attachments[{i}].content_type", item), item.content))
        return out

    @staticmethod
    def _content_type(field_name: str, item: Attachment) -> tuple[str, str]:
        if item.content_type:
            maintype, _, subtype = refuse_line_breaks(field_name, item.content_type).partition("/")
            if not maintype or not subtype or maintype == "multipart":
                raise MailInputError(field_name, "a single-part type such as application/json")
            return maintype.lower(), subtype.lower()
        suffix = PurePosixPath(item.filename).suffix.lower()
        if suffix in _TYPES:
            return _TYPES[suffix]
        guessed, _ = mimetypes.guess_type(item.filename)
        if guessed and not guessed.startswith(("multipart/", "message/")):
            maintype, _, subtype = guessed.partition("/")
            return maintype, subtype
        return "application", "octet-stream"

    @staticmethod
    def _attach(msg: EmailMessage, name: str, maintype: str, subtype: str, content: bytes) -> None:
        if maintype == "text":
            try:
                text = content.decode("utf-8")
            except UnicodeDecodeError:
                maintype, subtype = "application", "octet-stream"
            else:
                # quoted-printable: 8bit parts would need 8BITMIME from every relay on the way
                msg.add_attachment(text, subtype=subtype, filename=name, cte="quoted-printable")
                return
        # Evidence .eml files go as bytes (base64), not message/rfc822: re-serialising a
        # message refolds headers and breaks its DKIM signature, and message/rfc822 may
        # not be base64-encoded; a byte-exact copy stays verifiable.
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
