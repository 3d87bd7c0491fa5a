"""Is an inbound message a person writing, an automatic answer, or a bounce? Pure.

- Auto-replies (RFC 3834 `Auto-Submitted: auto-replied`, `X-Autoreply`, `X-Autorespond`,
  `Precedence: auto_reply`, out-of-office subjects in it/en/de/fr) and auto-generated mail
  (`Auto-Submitted: auto-generated` and other non-`no` values, `Precedence: bulk|junk|list`,
  read receipts) never count as a vendor's response: the case service must not reset or
  stop a clock on them. Both kinds are still matched to their case (a ticket system's
  "we received your request, case 00123456" is how we learn the vendor's number).
- Bounces: RFC 3464 delivery status notifications (`multipart/report;
  report-type=delivery-status`) read for Action, Status, Final-Recipient, Diagnostic-Code
  and the Message-ID of the message that failed; non-standard bounces (mailer-daemon and
  the usual subjects) are recognised with what can be read from them.

`X-Auto-Response-Suppress` is deliberately not a signal: ticket systems put it on every
mail they send, human answers included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from enum import StrEnum

from hub.mail.identity import normalise_message_id


class MessageKind(StrEnum):
    human = "human"
    auto_reply = "auto_reply"  # out of office, autoresponder
    auto_generated = "auto_generated"  # system notification, bulk, receipt
    bounce = "bounce"  # delivery status notification (failed or delayed)


@dataclass(frozen=True)
class BounceInfo:
    action: str  # failed | delayed | delivered | relayed | expanded | unknown
    status: str | None  # enhanced status code, e.g. 5.1.1
    permanent: bool  # a 5.x.x status, or a failed action without status
    final_recipients: tuple[str, ...]
    diagnostic: str | None
    original_message_id: str | None  # normalised: the message that bounced (ours, we hope)
    reporting_mta: str | None


@dataclass(frozen=True)
class Classification:
    kind: MessageKind
    reason: str | None  # which header or subject decided, for the timeline and triage
    bounce: BounceInfo | None = None


_OOO_SUBJECT = re.compile(
    r"^\s*(?:"
    # en
    r"out of (?:the )?office|automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|"
    r"away from (?:the )?office|on (?:vacation|holiday|leave)|i am (?:out|away)|"
    # it
    r"risposta automatica|fuori (?:sede|ufficio)|assente|in ferie|"
    # de
    r"abwesenheitsnotiz|automatische antwort|abwesend|außer haus|ausser haus|"
    r"ich bin (?:nicht im büro|abwesend)|"
    # fr
    r"réponse automatique|reponse automatique|absence du bureau|absent du bureau|"
    r"message d'absence|absent(?:e)? jusqu"
    r")",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliver(?:ed|able)|delivery status notification|delivery failure|"
    r"mail delivery (?:failed|failure|system)|returned mail|failure notice|"
    r"non recapitabile|mancato recapito|unzustellbar|nicht zustellbar|non remis|"
    r"échec de la remise|message not delivered)",
    re.IGNORECASE,
)
_DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_ORIGINAL_ID = re.compile(r"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a malformed header must not stop classification
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def classify(msg: Message, *, subject: str, from_addr: str, text: str) -> Classification:
    bounce = _delivery_status(msg)
    if bounce is not None:
        return Classification(MessageKind.bounce, "multipart/report delivery-status", bounce)
    local = from_addr.partition("@")[0].lower()
    # A bounce without a report part: from a mailer daemon, or with a bounce subject and
    # a status code (a vendor writing "Re: Undeliverable mail" about our case is not one).
    if local in _DAEMONS or (_BOUNCE_SUBJECT.match(subject) and _STATUS.search(text)):
        return Classification(MessageKind.bounce, "bounce sender or subject", _loose_bounce(msg, text))

    auto = _header(msg, "Auto-Submitted").lower()
    if auto and auto.split(";")[0].strip() != "no":
        kind = MessageKind.auto_reply if auto.startswith("auto-replied") else MessageKind.auto_generated
        return Classification(kind, f"Auto-Submitted: {auto}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if _header(msg, name):
            return Classification(MessageKind.auto_reply, name)
    precedence = _header(msg, "Precedence").lower()
    if precedence == "auto_reply":
        return Classification(MessageKind.auto_reply, "Precedence: auto_reply")
    if precedence in ("bulk", "junk", "list"):
        return Classification(MessageKind.auto_generated, f"Precedence: {precedence}")
    if msg.get_content_type() == "multipart/report":
        return Classification(MessageKind.auto_generated, "multipart/report")
    if _OOO_SUBJECT.match(subject):
        return Classification(MessageKind.auto_reply, "out-of-office subject")
    return Classification(MessageKind.human, None)


def _delivery_status(msg: Message) -> BounceInfo | None:
    if msg.get_content_type() != "multipart/report":
        return None
    if msg.get_param("report-type", "", header="content-type") != "delivery-status":
        return None
    blocks: list[Message] = []
    original: str | None = None
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            payload = part.get_payload()
            if isinstance(payload, list):
                blocks.extend(p for p in payload if isinstance(p, Message))
            elif isinstance(payload, str):
                blocks.extend(_header_blocks(payload))
        elif ctype in ("message/rfc822", "message/global") and original is None:
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                original = _header(inner, "Message-ID") or None
        elif ctype in ("text/rfc822-headers", "message/global-headers") and original is None:
            headers = HeaderParser(policy=compat32).parsestr(_part_text(part))
            original = _header(headers, "Message-ID") or None
    per_message = blocks[0] if blocks else None
    recipients = [b for b in blocks[1:] if _header(b, "Final-Recipient") or _header(b, "Action")]
    if not recipients and per_message is not None and _header(per_message, "Action"):
        recipients = [per_message]
    actions = [_header(b, "Action").lower() for b in recipients]
    # The worst action decides: one failed recipient is a failure.
    action = next(
        (a for a in ("failed", "delayed", "delivered", "relayed", "expanded") if a in actions), "unknown"
    )
    status = next((_header(b, "Status") for b in recipients if _header(b, "Status")), None)
    diagnostic = next(
        (_header(b, "Diagnostic-Code") for b in recipients if _header(b, "Diagnostic-Code")), None
    )
    finals = tuple(
        _header(b, "Final-Recipient").split(";")[-1].strip().lower()
        for b in recipients
        if _header(b, "Final-Recipient")
    )
    status_code = status.split()[0] if status else None
    return BounceInfo(
        action=action,
        status=status_code,
        permanent=(status_code or "").startswith("5") or (status_code is None and action == "failed"),
        final_recipients=finals,
        diagnostic=diagnostic,
        original_message_id=normalise_message_id(original) if original else None,
        reporting_mta=(_header(per_message, "Reporting-MTA").split(";")[-1].strip() or None)
        if per_message is not None
        else None,
    )


def _loose_bounce(msg: Message, text: str) -> BounceInfo:
    original: str | None = None
    for part in msg.walk():
        if part.get_content_type() == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                original = _header(payload[0], "Message-ID") or None
                break
    if original is None:
        found = _ORIGINAL_ID.search(text)
        original = found.group(1) if found else None
    status = _STATUS.search(text)
    code = status.group(1) if status else None
    return BounceInfo(
        action="failed" if code is None or code.startswith("5") else "delayed",
        status=code,
        permanent=code is None or code.startswith("5"),
        final_recipients=(),
        diagnostic=None,
        original_message_id=normalise_message_id(original) if original else None,
        reporting_mta=None,
    )


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")
    raw = part.get_payload()
    return raw if isinstance(raw, str) else ""


def _header_blocks(text: str) -> list[Message]:
    parser = HeaderParser(policy=compat32)
    return [parser.parsestr(block + "\n") for block in re.split(r"\r?\n\s*\r?\n", text) if block.strip()]
