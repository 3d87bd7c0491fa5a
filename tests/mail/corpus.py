"""A reply-matching corpus: vendor mail as the simulated vendors write it, plus the
adversarial cases, each with the right answer. Used by test_corpus.py and the benchmark.

Every sample has `truth` (the case it belongs to, or None when it must NOT be filed on
any case: noise, our own mail looping back, replies to another hub, a different vendor
quoting our token, a token of one case with the vendor number of another).

What counts as "carrying a usable signal" (the denominator of the filing rate) is decided
by `usable()` at the moment the sample is matched, from the truth and the hub's state,
independently of the matcher: the sample's truth is a case and at least one holds:

  a. its In-Reply-To/References name a Message-ID the hub sent or filed on that case;
  b. it was sent to our plus-address carrying that case's token;
  c. its subject or text contains that case's tag [HUB-TOKEN] (quoted or not);
  d. it comes from the case vendor's domain and contains the case's vendor number,
     once the hub knows it;
  e. it comes from the case vendor's domain, that vendor has exactly this one open case,
     the case has no vendor number yet, and the mail has a number in the vendor's
     learned format (Halo's supplier-domain rule, tightened).

Messages that carry nothing of the above (a vendor system that rewrites the subject,
drops References, ignores Reply-To and quotes without our footer, before its number is
known and while the vendor has several open cases) go to triage, where the test plays
the technician: files it on the right case and records the vendor number it shows, as
the case service will on a manual filing. The vendor's following mail then matches.
"""

from __future__ import annotations

import itertools
import random
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime

from hub.mail.case_numbers import compile_pattern, extract_case_numbers, propose_pattern
from hub.mail.compose import Composer, OutboundRequest, ThreadContext
from hub.mail.identity import TOKEN_ALPHABET, MailIdentity
from hub.mail.match import CaseRef, VendorRef
from hub.mail.parse import InboundMessage, MessageParser
from hub.mail.simulator import (
    DEFAULT_PERSONAS,
    Step,
    VendorCase,
    VendorMailBuilder,
    VendorPersona,
    number_tag,
    vendor_case_number,
)
from tests.mail.memory_lookup import MemoryLookup

OURS = MailIdentity(instance_id="hub1a2b3c", domain="msp.example", token_prefix="HUB")
# Another MSP's hub with the SAME token prefix: its tokens can collide with ours.
OTHER_HUB = MailIdentity(instance_id="otherhub9", domain="other-msp.example", token_prefix="HUB")
START = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
# A small ISP with a single open case: the only place where the sender's domain may file.
SOLO = VendorPersona(
    "solo",
    "Solo ISP",
    "solo-isp.example",
    "italian",
    language="it",
    subject_style="replace",
    quote_keeps_token=False,
    keeps_references=False,
    honours_reply_to=False,
    script=(Step(1, "auto_ack"), Step(900, "need_info"), Step(7200, "resolved")),
)
# The vendor whose number format the hub has not learned: it learns it from a first reply.
LEARNING_VENDOR = "dnsco"


@dataclass
class Sample:
    raw: bytes
    at: datetime
    truth: str | None
    category: str
    expect_drop: bool = False
    parsed: InboundMessage | None = field(default=None, repr=False)


@dataclass
class Corpus:
    samples: list[Sample]
    lookup: MemoryLookup
    personas: dict[str, VendorPersona]
    patterns: dict[str, list[re.Pattern[str]]]


def _token(rng: random.Random, taken: set[str]) -> str:
    while True:
        token = "".join(rng.choice(TOKEN_ALPHABET) for _ in range(5))
        if token not in taken:
            taken.add(token)
            return token


def _learn(persona: VendorPersona, rng: random.Random, parser: MessageParser) -> str:
    """The pattern the hub learned from this vendor's first reply."""
    composer = Composer(OURS)
    our = parser.parse(
        composer.compose(
            OutboundRequest(
                token="ZZZZZ",
                seq=0,
                to=(persona.support_address,),
                kind="follow_up",
                context={"title": "Sample", "message": "hello"},
            ),
            now=START,
        ).as_bytes()
    )
    builder = VendorMailBuilder(persona)
    case = builder.open_case(our, vendor_case_number(persona.number_format, rng, START), START)
    first = parser.parse(builder.build(case, "need_info", START, rng=rng))
    proposal = propose_pattern(first.subject, first.reply_text)
    assert proposal is not None and proposal.number == case.number.upper(), (persona.key, proposal)
    return proposal.regex


def build_corpus(n_cases: int = 70, seed: int = 1) -> Corpus:
    rng = random.Random(seed)
    parser = MessageParser()
    personas = {p.key: p for p in (*DEFAULT_PERSONAS, SOLO)}
    lookup = MemoryLookup()
    patterns: dict[str, list[re.Pattern[str]]] = {}
    for persona in personas.values():
        learned = () if persona.key == LEARNING_VENDOR else (_learn(persona, rng, parser),)
        lookup.add_vendor(VendorRef(persona.key, frozenset({persona.domain}), learned))
        # The corpus oracle uses a pattern for every vendor (it knows their formats).
        patterns[persona.key] = [compile_pattern(_learn(persona, rng, parser))]

    composer = Composer(OURS)
    other_composer = Composer(OTHER_HUB)
    taken: set[str] = set()
    samples: list[Sample] = []
    many = [p for p in personas.values() if p.key != "solo"]
    cases: list[tuple[str, VendorPersona, VendorCase, str]] = []

    for i in range(n_cases):
        persona = personas["solo"] if i == 0 else many[i % len(many)]
        token = _token(rng, taken)
        case_id = f"case-{i:04d}"
        opened = START + timedelta(minutes=7 * i)
        outbound = composer.compose(
            OutboundRequest(
                token=token,
                seq=1,
                to=(persona.support_address,),
                kind="open",
                language=persona.language,
                vendor_category="mail_hosting",
                context={
                    "title": f"Mail for client{i}.example rejected",
                    "client_name": f"Client {i}",
                    "description": "Outbound mail is rejected with 550 5.7.26.",
                    "domain": f"client{i}.example",
                    "evidence": ["DMARC fail at 08:00 UTC"],
                },
            ),
            now=opened,
        )
        lookup.add_case(CaseRef(case_id, token, persona.key), outbound.message_id)
        our = parser.parse(outbound.as_bytes())
        builder = VendorMailBuilder(persona)
        vcase = builder.open_case(our, vendor_case_number(persona.number_format, rng, opened), opened)
        cases.append((case_id, persona, vcase, token))
        if rng.random() < 0.25 and persona.key != "solo":
            # A technician typed the vendor's number in from a phone call.
            lookup.set_number(case_id, vcase.number.upper())

        def add(raw: bytes, seconds: float, category: str, truth: str | None = case_id, **kw: object) -> None:
            samples.append(Sample(raw, opened + timedelta(seconds=seconds), truth, category, **kw))  # type: ignore[arg-type]

        if not persona.silent:
            steps = list(persona.script)
            if persona.forwards_to:
                steps = [s for s in steps if s.kind == "auto_ack"] + [Step(1800, "partner")]
            for step in steps:
                if step.kind == "partner":
                    add(
                        builder.build_partner_reply(
                            vcase, opened + timedelta(seconds=step.after_seconds), rng=rng
                        ),
                        step.after_seconds,
                        "forwarded to a partner",
                    )
                else:
                    category = {"auto_ack": "auto-acknowledgement", "out_of_office": "out of office"}.get(
                        step.kind,
                        "HTML-only reply" if persona.html_only else f"reply ({persona.subject_style})",
                    )
                    add(
                        builder.build(
                            vcase, step.kind, opened + timedelta(seconds=step.after_seconds), rng=rng
                        ),
                        step.after_seconds,
                        category,
                    )
            # We answer their question; they answer ours.
            last_vendor = vcase.vendor_message_ids[-1] if vcase.vendor_message_ids else None
            follow = composer.compose(
                OutboundRequest(
                    token=token,
                    seq=2,
                    to=(persona.support_address,),
                    kind="follow_up",
                    context={"title": vcase.title, "message": "Headers attached."},
                    thread=ThreadContext(
                        in_reply_to=last_vendor,
                        references=tuple(vcase.our_message_ids),
                        subject=builder.subject(vcase),
                    ),
                ),
                now=opened + timedelta(hours=3),
            )
            lookup.message_ids[follow.message_id] = case_id
            vcase.our_message_ids.append(follow.message_id)
            add(
                builder.build(vcase, "update", opened + timedelta(hours=4), rng=rng),
                4 * 3600,
                "reply to our follow-up",
            )
            # Our own copy coming back (a Bcc to the shared mailbox, a list echo).
            if rng.random() < 0.15:
                add(
                    follow.as_bytes(), 3 * 3600 + 5, "our own mail looping back", truth=None, expect_drop=True
                )
        if rng.random() < 0.15:
            add(_bounce(outbound.as_bytes(), persona, opened), 30, "bounce of our mail")
        if rng.random() < 0.2 and not persona.silent:
            add(
                _number_only(persona, vcase, opened + timedelta(hours=5), rng), 5 * 3600, "vendor number only"
            )
        if rng.random() < 0.12:
            add(_platform_reply(vcase, token, opened, rng), 600, "via a ticket platform's domain")
        if rng.random() < 0.12:
            other = rng.choice([p for p in personas.values() if p.key != persona.key])
            add(
                _other_vendor_quotes(other, vcase, opened, rng),
                1200,
                "a different vendor quoting our token",
                truth=None,
            )

    # Conflicts: the token of one case with the vendor number of another case of the same vendor.
    by_vendor: dict[str, list[tuple[str, VendorPersona, VendorCase, str]]] = {}
    for entry in cases:
        by_vendor.setdefault(entry[1].key, []).append(entry)
    end = START + timedelta(days=2)
    for group in by_vendor.values():
        for (_, persona, vcase_a, token_a), (case_b, _, vcase_b, _) in itertools.pairwise(group):
            if rng.random() < 0.3:
                # A conflict only the hub can see if it knows B's number (a technician typed
                # it in); with B's number unknown, the token is the only evidence there is.
                lookup.set_number(case_b, vcase_b.number.upper())
                samples.append(
                    Sample(
                        _conflict(persona, vcase_a, token_a, vcase_b, end, rng),
                        end,
                        None,
                        "token of one case, vendor number of another",
                    )
                )

    # Replies to another hub (same token prefix; half reuse one of OUR tokens).
    for k in range(max(6, n_cases // 5)):
        persona = many[k % len(many)]
        token = rng.choice(sorted(taken)) if k % 2 == 0 else _token(rng, set(taken))
        theirs = other_composer.compose(
            OutboundRequest(
                token=token,
                seq=1,
                to=(persona.support_address,),
                kind="open",
                context={
                    "title": "Printer offline",
                    "client_name": "Other client",
                    "description": "Their case.",
                },
            ),
            now=START,
        )
        builder = VendorMailBuilder(replace(persona, subject_style="keep", keeps_references=True))
        vcase = builder.open_case(
            parser.parse(theirs.as_bytes()), vendor_case_number(persona.number_format, rng, START), START
        )
        vcase.our_reply_to = OURS.from_address  # delivered to our mailbox by a misconfigured alias
        samples.append(
            Sample(
                builder.build(vcase, "need_info", START + timedelta(hours=k), rng=rng),
                START + timedelta(hours=k),
                None,
                "reply to another hub instance",
            )
        )
    # Noise: newsletters and strangers.
    for k in range(max(6, n_cases // 6)):
        samples.append(
            Sample(_noise(k, rng), START + timedelta(minutes=37 * k), None, "noise (newsletter, stranger)")
        )
    # Sender domain alone, vendor with several open cases and nothing else: must not be guessed.
    for k in range(max(4, n_cases // 10)):
        persona = many[k % len(many)]
        samples.append(
            Sample(
                _domain_only(persona, START + timedelta(minutes=53 * k), rng),
                START + timedelta(minutes=53 * k),
                None,
                "sender domain only (several open cases)",
            )
        )

    samples.sort(key=lambda s: s.at)
    return Corpus(samples=samples, lookup=lookup, personas=personas, patterns=patterns)


def usable(sample: Sample, msg: InboundMessage, corpus: Corpus) -> bool:
    """See the module docstring: decided from the truth and the hub's state, not by the matcher."""
    if sample.truth is None:
        return False
    lookup = corpus.lookup
    case = lookup.cases[sample.truth]
    if any(lookup.message_ids.get(m) == sample.truth for m in msg.thread_ids):
        return True
    if msg.bounce and lookup.message_ids.get(msg.bounce.original_message_id or "") == sample.truth:
        return True
    if any(OURS.token_from_address(a) == case.token for a in msg.recipients):
        return True
    tag = OURS.subject_tag(case.token).lower()
    if tag in msg.subject.lower() or tag in msg.text.lower():
        return True
    vendor = corpus.personas[case.vendor_id]
    if msg.sender_domain != vendor.domain:
        return False
    found = extract_case_numbers(corpus.patterns[vendor.key], msg.subject, msg.reply_text)
    if case.vendor_case_number:
        return case.vendor_case_number.upper() in found or case.vendor_case_number in msg.reply_text
    open_cases = [c for c in lookup.cases.values() if c.vendor_id == vendor.key and c.is_open]
    return len(open_cases) == 1 and bool(found) and bool(lookup.vendors[vendor.key].case_number_patterns)


# -- adversarial and extra messages ---------------------------------------------------------------
def _mail(
    frm: str, to: str, subject: str, body: str, at: datetime, rng: random.Random, **headers: str
) -> bytes:
    msg = EmailMessage()
    msg["From"] = frm
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = f"<{uuid.UUID(int=rng.getrandbits(128)).hex}@{frm.rpartition('@')[2].rstrip('>')}>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP_POLICY)


def _bounce(original: bytes, persona: VendorPersona, at: datetime) -> bytes:
    head = original.split(b"\r\n\r\n", 1)[0].decode()
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@relay.msp.example>\r\nTo: {OURS.from_address}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nDate: {format_datetime(at)}\r\n"
        f"Message-ID: <bounce.{uuid.uuid5(uuid.NAMESPACE_URL, head).hex}@relay.msp.example>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'  # noqa: E501
        "--R\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.msp.example\r\n\r\n"
        f"Final-Recipient: rfc822; {persona.support_address}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        f"--R\r\nContent-Type: text/rfc822-headers\r\n\r\n{head}\r\n--R--\r\n"
    ).encode()


def _number_only(persona: VendorPersona, vcase: VendorCase, at: datetime, rng: random.Random) -> bytes:
    tag = number_tag(persona.number_format, vcase.number)
    return _mail(
        f"{persona.name} Support <{persona.support_address}>",
        OURS.from_address,
        f"Update on {tag}",
        f"Hello,\n\nan engineer has been assigned to {tag}.\n\nRegards",
        at,
        rng,
    )


def _platform_reply(vcase: VendorCase, token: str, at: datetime, rng: random.Random) -> bytes:
    return _mail(
        "Helpdesk <notifications@helpdesk-platform.example>",
        OURS.reply_address(token),
        f"Re: [HUB-{token}] {vcase.title}",
        "We have received your request and are working on it.",
        at,
        rng,
    )


def _other_vendor_quotes(other: VendorPersona, vcase: VendorCase, at: datetime, rng: random.Random) -> bytes:
    return _mail(
        f"{other.name} Support <{other.support_address}>",
        OURS.from_address,
        f"FW: {vcase.our_subject}",
        f"Not our service, please contact your mail host.\n\n> {vcase.our_text[:200]}",
        at,
        rng,
    )


def _conflict(
    persona: VendorPersona,
    vcase_a: VendorCase,
    token_a: str,
    vcase_b: VendorCase,
    at: datetime,
    rng: random.Random,
) -> bytes:
    tag_b = number_tag(persona.number_format, vcase_b.number)
    return _mail(
        f"{persona.name} Support <{persona.support_address}>",
        OURS.from_address,
        f"RE: [HUB-{token_a}] {vcase_a.title} {tag_b}",
        f"Please see {tag_b}.",
        at,
        rng,
    )


def _noise(k: int, rng: random.Random) -> bytes:
    if k % 2:
        return _mail(
            "News <news@newsletter.example>",
            OURS.from_address,
            f"Our December offers #{k}",
            "Great deals on toner.",
            START,
            rng,
            Precedence="bulk",
        )
    return _mail(
        f"Someone <person{k}@stranger.example>",
        OURS.from_address,
        "Question",
        "Do you also support printers? Call me at 0612345678.",
        START,
        rng,
    )


def _domain_only(persona: VendorPersona, at: datetime, rng: random.Random) -> bytes:
    return _mail(
        f"{persona.name} Billing <billing@{persona.domain}>",
        OURS.from_address,
        "Your account",
        "Please update your payment details.",
        at,
        rng,
    )
