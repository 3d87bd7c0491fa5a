"""Simulated vendors' support desks, for tests and the demo.

Each `VendorPersona` behaves like a real vendor's ticket system (or a distributor's order
desk: the `order_confirmed` step answers a purchase order), including what makes
reply matching hard: its own case number in its own format, subjects rewritten so our
token is lost, References not kept, replies sent to our From instead of our Reply-To,
HTML-only mail, an automatic acknowledgement and an out-of-office before any human, a
question back ("send us the headers"), a forward to a partner who answers from its own
domain, and one vendor that never answers at all.

The message builders are pure (`VendorMailBuilder`): the reply-matching corpus uses them
directly. `VendorSimulator` adds the behaviour over time: it receives our mail (from the
SMTP sink of `hub.mail.world`), keeps one vendor case per thread, and delivers its
answers after the script's delays through an injected `deliver` coroutine (an IMAP APPEND
into the hub's mailbox in the mail world).
"""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from html import escape

from hub.mail.compose import strip_reply_prefixes
from hub.mail.parse import InboundMessage, MessageParser


@dataclass(frozen=True)
class Step:
    after_seconds: float  # after our first mail reached the vendor (simulated seconds)
    kind: str  # auto_ack | out_of_office | need_info | update | resolved | order_confirmed


DEFAULT_SCRIPT = (
    Step(1, "auto_ack"),
    Step(60, "need_info"),
    Step(3600, "update"),
    Step(7200, "resolved"),
)


@dataclass(frozen=True)
class VendorPersona:
    key: str
    name: str
    domain: str
    number_format: str  # salesforce | otrs | oracle | servicenow | italian | order
    language: str = "en"
    # keep: "RE: <our subject> (their number)"; prefix: "<their number> RE: <our subject>";
    # replace: "<their number> <their own title>" (our token is gone)
    subject_style: str = "keep"
    quotes_original: bool = True
    quote_keeps_token: bool = True  # False: quotes our text but not our reference footer
    keeps_references: bool = True
    honours_reply_to: bool = True
    html_only: bool = False
    forwards_to: str | None = None  # a partner's domain that answers instead of the vendor
    script: tuple[Step, ...] = DEFAULT_SCRIPT
    silent: bool = False

    @property
    def support_address(self) -> str:
        return f"support@{self.domain}"


DEFAULT_PERSONAS = (
    VendorPersona("mailhost", "MailHost", "mailhost.example", "salesforce"),
    VendorPersona(
        "fibra",
        "Fibra Italia",
        "fibra.example",
        "italian",
        language="it",
        subject_style="replace",
        quote_keeps_token=False,
        keeps_references=False,
        honours_reply_to=False,
        script=(
            Step(1, "out_of_office"),
            Step(30, "auto_ack"),
            Step(600, "need_info"),
            Step(5400, "resolved"),
        ),
    ),
    VendorPersona("dnsco", "DNS Co", "dnsco.example", "otrs", subject_style="prefix"),
    VendorPersona("ironbox", "IronBox Hardware", "ironbox.example", "oracle", html_only=True),
    VendorPersona(
        "carrierone",
        "CarrierOne",
        "carrierone.example",
        "servicenow",
        subject_style="replace",
        forwards_to="backbone-partner.example",
    ),
    VendorPersona("blackhole", "Blackhole Telecom", "blackhole.example", "salesforce", silent=True),
)

_LABELS = {
    "salesforce": "Case #",
    "otrs": "Ticket#",
    "oracle": "SR ",
    "servicenow": "",
    "italian": "Pratica n. ",
    "order": "Order ",
}


def vendor_case_number(fmt: str, rng: random.Random, day: datetime) -> str:
    if fmt == "salesforce":
        return f"{rng.randrange(10**6):08d}"
    if fmt == "otrs":
        return f"{day:%Y%m%d}{rng.randrange(10**8):08d}"
    if fmt == "oracle":
        return f"{rng.randrange(1, 9)}-{rng.randrange(10**6, 10**7)}"
    if fmt == "servicenow":
        return f"INC{rng.randrange(10**7):07d}"
    if fmt == "italian":
        return f"{rng.randrange(10**6, 10**7)}"
    if fmt == "order":  # a distributor's sales order number
        return f"SO-{day:%y}{rng.randrange(10**5):05d}"
    raise ValueError(f"unknown number format {fmt}")


def number_tag(fmt: str, number: str) -> str:
    if fmt == "otrs":
        return f"[Ticket#{number}]"
    return f"{_LABELS[fmt]}{number}"


_TEXT = {
    "en": {
        "auto_ack": "Thank you for contacting {name} support.\nYour request has been logged as {tag}.\n"
        "An engineer will contact you within the agreed response time.",
        "out_of_office": "I am out of the office until Monday with limited access to e-mail.\n"
        "For urgent matters please call our support line.",
        "need_info": "Hello,\n\nwe are looking into {tag}. Could you please send us the full headers of a "
        "rejected message and the time it was sent?\n\nBest regards,\n{name} Support",
        "update": "Hello,\n\nour second-level team is working on {tag}; we will update you shortly.\n\n"
        "Best regards,\n{name} Support",
        "resolved": "Hello,\n\nthe issue in {tag} has been resolved. Please check and let us know if the "
        "problem persists; otherwise the case will be closed in 3 days.\n\nBest regards,\n{name} Support",
        "forward": "Forwarding to our backbone partner, who manages this circuit.",
        "partner": "Hello,\n\nthe fibre between the two exchanges was cut and has been repaired at 14:00. "
        "The circuit is up again.\n\nNOC",
        "order_confirmed": "Hello,\n\nwe confirm your purchase order; it is our {tag}. The licence is "
        "renewed for twelve months.\n\nBest regards,\n{name} Sales",
        "wrote": "On {date}, {sender} wrote:",
    },
    "it": {
        "auto_ack": "Grazie per aver contattato l'assistenza {name}.\nLa vostra richiesta è stata registrata "
        "come {tag}.\nUn tecnico vi contatterà entro i tempi concordati.",
        "out_of_office": "Sono fuori ufficio fino a lunedì con accesso limitato alla posta.\n"
        "Per urgenze chiamate il numero dell'assistenza.",
        "need_info": "Buongiorno,\n\nstiamo verificando la {tag}. Potete inviarci le intestazioni "
        "complete di un "
        "messaggio respinto e l'orario di invio?\n\nCordiali saluti,\nAssistenza {name}",
        "update": "Buongiorno,\n\nil secondo livello sta lavorando sulla {tag}; vi aggiorneremo a breve.\n\n"
        "Cordiali saluti,\nAssistenza {name}",
        "resolved": "Buongiorno,\n\nil problema della {tag} è stato risolto. Verificate e segnalateci se il "
        "problema persiste; altrimenti la pratica verrà chiusa tra 3 giorni.\n\nCordiali saluti,\n"
        "Assistenza {name}",
        "forward": "Inoltriamo al nostro partner che gestisce il circuito.",
        "partner": "Buongiorno,\n\nla fibra è stata tagliata e riparata alle 14:00. "
        "Il circuito è di nuovo attivo."
        "\n\nNOC",
        "order_confirmed": "Buongiorno,\n\nconfermiamo il vostro ordine di acquisto, registrato come {tag}. "
        "La licenza è rinnovata per dodici mesi.\n\nCordiali saluti,\nUfficio vendite {name}",
        "wrote": "Il giorno {date} {sender} ha scritto:",
    },
}
_TAG = re.compile(r"\[[A-Z][A-Z0-9]{1,11}-[0-9A-Z]{4,12}\]", re.IGNORECASE)
_OOO_SUBJECT = {"en": "Automatic reply: {subject}", "it": "Risposta automatica: {subject}"}
_ACK_SUBJECT = {"en": "{tag} We received your request: {title}", "it": "{tag} Richiesta ricevuta: {title}"}


@dataclass
class VendorCase:
    """One case as the vendor's ticket system sees it."""

    number: str
    title: str  # our subject without our tag and reply prefixes
    our_subject: str
    our_reply_to: str
    our_from: str
    our_message_ids: list[str]
    our_text: str
    opened_at: datetime
    vendor_message_ids: list[str] = field(default_factory=list)


class VendorMailBuilder:
    """Pure builders of a persona's mail (bytes, CRLF)."""

    def __init__(self, persona: VendorPersona) -> None:
        self.persona = persona

    def open_case(self, our: InboundMessage, number: str, now: datetime) -> VendorCase:
        title = strip_reply_prefixes(our.subject)
        for tag in set(_tags(title)):
            title = title.replace(tag, "").strip()
        return VendorCase(
            number=number,
            title=title,
            our_subject=our.subject,
            our_reply_to=(our.reply_to or (our.from_addr,))[0],
            our_from=our.from_addr,
            our_message_ids=[our.message_id] if our.message_id else [],
            our_text=our.text,
            opened_at=now,
        )

    def subject(self, case: VendorCase) -> str:
        p = self.persona
        tag = number_tag(p.number_format, case.number)
        if p.subject_style == "keep":
            return f"RE: {case.our_subject} ({tag})"
        if p.subject_style == "prefix":
            return f"{tag} RE: {case.our_subject}"
        return f"{tag} {case.title}"

    def build(self, case: VendorCase, kind: str, now: datetime, *, rng: random.Random) -> bytes:
        p = self.persona
        lang = _TEXT.get(p.language, _TEXT["en"])
        tag = number_tag(p.number_format, case.number)
        msg = EmailMessage()
        headers: dict[str, str] = {}
        if kind == "out_of_office":
            msg["From"] = f"Marco Bianchi <m.bianchi@{p.domain}>"
            msg["Subject"] = _OOO_SUBJECT.get(p.language, _OOO_SUBJECT["en"]).format(subject=case.our_subject)
            headers["Auto-Submitted"] = "auto-replied"
            body = lang["out_of_office"]
        elif kind == "auto_ack":
            msg["From"] = f"{p.name} Support <noreply@{p.domain}>"
            msg["Subject"] = _ACK_SUBJECT.get(p.language, _ACK_SUBJECT["en"]).format(
                tag=tag, title=case.title
            )
            headers["Auto-Submitted"] = "auto-generated"
            body = lang["auto_ack"].format(name=p.name, tag=tag)
        else:
            msg["From"] = f"{p.name} Support <{p.support_address}>"
            msg["Subject"] = self.subject(case)
            body = lang[kind].format(name=p.name, tag=tag)
            if p.quotes_original:
                body += "\n\n" + self._quote(case, lang)
        msg["To"] = case.our_reply_to if p.honours_reply_to else case.our_from
        msg["Date"] = format_datetime(now)
        message_id = f"{uuid.UUID(int=rng.getrandbits(128)).hex}@crm.{p.domain}"
        msg["Message-ID"] = f"<{message_id}>"
        if p.keeps_references and kind != "out_of_office":
            last = case.vendor_message_ids[-1:] or case.our_message_ids[-1:]
            if last:
                msg["In-Reply-To"] = f"<{last[0]}>"
            refs = [*case.our_message_ids, *case.vendor_message_ids]
            if refs:
                msg["References"] = " ".join(f"<{r}>" for r in refs)
        elif kind == "out_of_office" and case.our_message_ids:
            msg["In-Reply-To"] = f"<{case.our_message_ids[-1]}>"  # autoresponders do keep it
        for name, value in headers.items():
            msg[name] = value
        if p.number_format == "servicenow":
            msg["X-ServiceNow-Generated"] = "true"
        if p.html_only and kind not in ("out_of_office",):
            msg.set_content(_as_html(body), subtype="html")
        else:
            msg.set_content(body)
        case.vendor_message_ids.append(message_id)
        return msg.as_bytes(policy=SMTP_POLICY)

    def build_partner_reply(self, case: VendorCase, now: datetime, *, rng: random.Random) -> bytes:
        """The persona forwarded our mail to a partner, who answers from its own domain."""
        p = self.persona
        assert p.forwards_to
        lang = _TEXT.get(p.language, _TEXT["en"])
        msg = EmailMessage()
        msg["From"] = f"Backbone NOC <noc@{p.forwards_to}>"
        msg["To"] = case.our_reply_to
        msg["Cc"] = p.support_address
        msg["Subject"] = f"RE: FW: {case.our_subject}"
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = f"<{uuid.UUID(int=rng.getrandbits(128)).hex}@{p.forwards_to}>"
        if case.our_message_ids:
            msg["In-Reply-To"] = f"<{case.our_message_ids[-1]}>"
            msg["References"] = " ".join(f"<{r}>" for r in case.our_message_ids)
        forward = (
            f"{lang['forward']}\n\n---------- Forwarded message ---------\nFrom: {case.our_from}\n"
            f"Subject: {case.our_subject}\n\n{case.our_text}"
        )
        msg.set_content(f"{lang['partner']}\n\n{forward}")
        return msg.as_bytes(policy=SMTP_POLICY)

    def _quote(self, case: VendorCase, lang: dict[str, str]) -> str:
        text = case.our_text
        if not self.persona.quote_keeps_token:
            # Their system quotes our words but not our reference footer.
            text = text.split("\n--\n")[0]
            for tag in set(_tags(text)):
                text = text.replace(tag, "")
        header = lang["wrote"].format(date=format_datetime(case.opened_at), sender=case.our_from)
        return header + "\n" + "\n".join(f"> {line}" if line else ">" for line in text.strip().split("\n"))


def _tags(text: str) -> list[str]:
    return _TAG.findall(text)


def _as_html(text: str) -> str:
    paragraphs = []
    for block in text.split("\n\n"):
        lines = block.split("\n")
        if all(line.startswith(">") for line in lines if line):
            inner = "<br>".join(escape(line.lstrip("> ")) for line in lines)
            paragraphs.append(f"<blockquote>{inner}</blockquote>")
        else:
            paragraphs.append("<p>" + "<br>".join(escape(line) for line in lines) + "</p>")
    return (
        "<html><head><style>p{font-family:Arial}</style></head><body>"
        + "".join(paragraphs)
        + '<img src="https://tracker.ironbox.example/open.gif"></body></html>'
    )


Deliver = Callable[[bytes], Awaitable[None]]


class VendorSimulator:
    """Receives our mail, answers per persona script. `time_scale` turns the script's
    simulated seconds into real ones (0.001: an hour of vendor time in 3.6 s)."""

    def __init__(
        self,
        personas: Sequence[VendorPersona],
        deliver: Deliver,
        *,
        time_scale: float = 0.001,
        seed: int = 7,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.personas = {p.support_address: p for p in personas}
        self.deliver = deliver
        self.time_scale = time_scale
        self.rng = random.Random(seed)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.parser = MessageParser()
        self.cases: dict[str, list[VendorCase]] = {p.key: [] for p in personas}
        self.received: dict[str, list[InboundMessage]] = {p.key: [] for p in personas}
        self.sent: list[bytes] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def receive(self, raw: bytes, recipients: Sequence[str]) -> None:
        """Our mail reached the vendors' MX (the SMTP sink calls this)."""
        our = self.parser.parse(raw)
        for rcpt in dict.fromkeys(r.lower() for r in recipients):
            persona = self.personas.get(rcpt)
            if persona is None:
                continue
            self.received[persona.key].append(our)
            if persona.silent:
                continue
            builder = VendorMailBuilder(persona)
            case = self._find_case(persona, our)
            now = self.clock()
            if case is None:
                number = vendor_case_number(persona.number_format, self.rng, now)
                case = builder.open_case(our, number, now)
                self.cases[persona.key].append(case)
                steps = list(persona.script)
                if persona.forwards_to:
                    steps = [s for s in steps if s.kind in ("auto_ack", "out_of_office")]
                    steps.append(Step(1800, "partner"))
            else:
                if our.message_id:
                    case.our_message_ids.append(our.message_id)
                steps = [Step(300, "update")]
            for step in steps:
                self._spawn(self._answer(builder, case, step))

    def _find_case(self, persona: VendorPersona, our: InboundMessage) -> VendorCase | None:
        for case in self.cases[persona.key]:
            if case.number in our.subject or set(our.thread_ids) & set(case.vendor_message_ids):
                return case
        return None

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, builder: VendorMailBuilder, case: VendorCase, step: Step) -> None:
        await asyncio.sleep(step.after_seconds * self.time_scale)
        now = case.opened_at + timedelta(seconds=step.after_seconds)
        if step.kind == "partner":
            raw = builder.build_partner_reply(case, now, rng=self.rng)
        else:
            raw = builder.build(case, step.kind, now, rng=self.rng)
        self.sent.append(raw)
        await self.deliver(raw)

    async def drain(self) -> None:
        """Wait until every scheduled answer has been delivered."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
