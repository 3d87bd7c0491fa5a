"""Outbound case mail: marks that tie replies back, templates per category and language,
attachments, and no header injection."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hub.mail.compose import Attachment, Composer, OutboundRequest, ThreadContext, strip_reply_prefixes
from hub.mail.errors import MailInputError
from hub.mail.identity import MailIdentity, new_case_token
from hub.mail.parse import parse_message

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
IDENTITY = MailIdentity(instance_id="hub1a2b3c", domain="msp.example", token_prefix="HUB")


def _open(**over: object) -> OutboundRequest:
    base: dict[str, object] = {
        "token": "7F3K2",
        "seq": 1,
        "to": ("Mail Host Support <support@mailhost.example>",),
        "kind": "open",
        "language": "en",
        "vendor_category": "mail_hosting",
        "context": {
            "title": "SPF record fails for rossi.example",
            "client_name": "Rossi Srl",
            "description": "Mail from rossi.example is rejected since this morning.",
            "domain": "rossi.example",
            "evidence": ["SPF: permerror (too many DNS lookups) at 2026-12-07 08:00 UTC"],
            "account_number": "ACC-0042",
        },
    }
    base.update(over)
    return OutboundRequest(**base)  # type: ignore[arg-type]


@pytest.fixture
def composer() -> Composer:
    return Composer(IDENTITY, signature="Anna, Service desk")


def test_new_case_mail_carries_token_plus_address_and_instance_message_id(composer: Composer) -> None:
    mail = composer.compose(_open(), now=NOW)
    msg = mail.message
    assert msg["Subject"] == "[HUB-7F3K2] SPF record fails for rossi.example"
    assert msg["Reply-To"].addresses[0].addr_spec == "cases+7F3K2@msp.example"
    assert msg["Message-ID"] == "<case-7F3K2.1.hub1a2b3c@msp.example>"
    assert mail.message_id == "case-7F3K2.1.hub1a2b3c@msp.example"
    assert msg["In-Reply-To"] is None and msg["References"] is None
    assert mail.recipients == ("support@mailhost.example",)
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert body.startswith("##- Please type your reply above this line -##")
    assert "Domain: rossi.example." in body  # the mail_hosting category's details block
    assert "your account ACC-0042" in body
    assert "Our reference: [HUB-7F3K2]" in body


def test_italian_template_and_fallback_to_english_for_unknown_language(composer: Composer) -> None:
    it = composer.compose(_open(language="it"), now=NOW)
    body = it.message.get_body(preferencelist=("plain",)).get_content()
    assert "Buongiorno" in body and "Dominio: rossi.example." in body and "Nostro riferimento" in body
    assert it.language == "it"
    de = composer.compose(_open(language="de"), now=NOW)
    assert de.language == "en"
    assert "Hello," in de.message.get_body(preferencelist=("plain",)).get_content()


@pytest.mark.parametrize(
    ("category", "context", "expected"),
    [
        ("isp", {"circuit_id": "CIR-991", "technology": "FTTH"}, "Line: circuit CIR-991, FTTH."),
        (
            "hardware",
            {"model": "PowerEdge R650", "serial": "ABC1234"},
            "Device: PowerEdge R650, serial ABC1234.",
        ),
        ("firewall", {}, "we are opening a case"),  # no category template: the default one
    ],
)
def test_category_templates(
    composer: Composer, category: str, context: dict[str, str], expected: str
) -> None:
    request = _open(vendor_category=category, context={**_open().context, **context})
    body = composer.compose(request, now=NOW).message.get_body(preferencelist=("plain",)).get_content()
    assert expected in body


def test_missing_template_value_names_it(composer: Composer) -> None:
    with pytest.raises(MailInputError) as err:
        composer.compose(_open(vendor_category="isp"), now=NOW)
    assert err.value.errors == [
        {"field": "context.circuit_id", "in": "body", "message": "the open template needs it"}
    ]


def test_follow_up_keeps_vendor_subject_and_threads(composer: Composer) -> None:
    thread = ThreadContext(
        in_reply_to="<abc.123@crm.mailhost.example>",
        references=("case-7F3K2.1.hub1a2b3c@msp.example",),
        subject="RE: AW: [Ticket#2026120710000012] SPF record fails ref:_00D5f1:ref",
    )
    mail = composer.compose(
        _open(seq=2, kind="follow_up", thread=thread, context={"title": "x", "message": "Any news?"}),
        now=NOW,
    )
    msg = mail.message
    # The vendor's tokens stay as they are; ours is added because they dropped it.
    assert msg["Subject"] == "Re: [Ticket#2026120710000012] SPF record fails ref:_00D5f1:ref [HUB-7F3K2]"
    assert msg["In-Reply-To"] == "<abc.123@crm.mailhost.example>"
    assert msg["References"] == "<case-7F3K2.1.hub1a2b3c@msp.example> <abc.123@crm.mailhost.example>"
    assert msg["Message-ID"] == "<case-7F3K2.2.hub1a2b3c@msp.example>"


def test_reply_does_not_add_token_twice(composer: Composer) -> None:
    thread = ThreadContext(
        in_reply_to="x@y.example", subject="Re: [HUB-7F3K2] SPF record fails (Case 00123456)"
    )
    mail = composer.compose(
        _open(seq=3, kind="follow_up", thread=thread, context={"title": "x", "message": "ok"}), now=NOW
    )
    assert mail.subject == "Re: [HUB-7F3K2] SPF record fails (Case 00123456)"


@pytest.mark.parametrize(
    ("subject", "stripped"),
    [
        ("RE: AW: Re[2]: Case 1", "Case 1"),
        ("R: I: Segnalazione", "Segnalazione"),
        ("Fwd: SV: VS: x", "x"),
        ("Regarding: x", "Regarding: x"),
    ],
)
def test_reply_prefixes(subject: str, stripped: str) -> None:
    assert strip_reply_prefixes(subject) == stripped


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"context": {**_open().context, "title": "Down\r\nBcc: victim@else.example"}}, "context.title"),
        ({"context": {**_open().context, "title": "Down\nX-Evil: 1"}}, "context.title"),
        ({"to": ("Eve\r\nBcc: x@else.example <eve@vendor.example>",)}, "to[0]"),
        ({"to": ("a@vendor.example, b@vendor.example",)}, "to[0]"),
        ({"cc": ("not an address",)}, "cc[0]"),
        ({"attachments": (Attachment("a\r\nContent-Type: text/html.txt", b"x"),)}, "attachments[0].filename"),
        ({"vendor_case_number": "123\r\nBcc: x@y.example"}, "vendor_case_number"),
    ],
)
def test_header_injection_is_refused_with_the_field_named(
    composer: Composer, override: dict[str, object], field: str
) -> None:
    with pytest.raises(MailInputError) as err:
        composer.compose(_open(**override), now=NOW)
    assert err.value.errors[0]["field"] == field


def test_folded_vendor_subject_is_unfolded_not_injected(composer: Composer) -> None:
    thread = ThreadContext(
        in_reply_to="x@y.example", subject="Case 1\r\n\tcontinued\r\nBcc: victim@else.example"
    )
    mail = composer.compose(
        _open(seq=2, kind="follow_up", thread=thread, context={"title": "x", "message": "ok"}), now=NOW
    )
    raw = mail.as_bytes()
    assert b"\r\nBcc:" not in raw
    assert parse_message(raw).subject == "Re: Case 1 continued Bcc: victim@else.example [HUB-7F3K2]"


def test_identity_rejects_bad_settings() -> None:
    with pytest.raises(MailInputError) as err:
        MailIdentity(instance_id="hub1", domain="msp.example", from_name="Desk\r\nBcc: x@y.example")
    assert err.value.errors[0]["field"] == "from_name"
    with pytest.raises(MailInputError):
        MailIdentity(instance_id="UPPER", domain="msp.example")


def test_attachments_round_trip_byte_exact(composer: Composer) -> None:
    evidence = json.dumps({"check": "spf", "result": "permerror"}).encode()
    eml = b"From: a@rossi.example\r\nSubject: bounced\r\nDKIM-Signature: v=1; b=abc\r\n\r\nbody \xe8\r\n"
    mail = composer.compose(
        _open(
            attachments=(
                Attachment("evidence.json", evidence),
                Attachment("../../dig output.txt", "dig rossi.example TXT → v=spf1".encode()),
                Attachment("bounce.eml", eml),
            )
        ),
        now=NOW,
    )
    parsed = parse_message(mail.as_bytes())
    names = [(a.filename, a.content_type) for a in parsed.attachments]
    assert names == [
        ("evidence.json", "application/json"),
        ("dig output.txt", "text/plain"),  # the path is dropped
        ("bounce.eml", "application/octet-stream"),  # byte-exact: DKIM stays verifiable
    ]
    parts = {p.get_filename(): p.get_payload(decode=True) for p in mail.message.iter_attachments()}
    assert parts["bounce.eml"] == eml and parts["evidence.json"] == evidence
    assert "Attached: evidence.json, dig output.txt, bounce.eml." in parsed.text


def test_attachments_over_the_limit_are_refused() -> None:
    small = Composer(IDENTITY, max_attachment_bytes=10)
    with pytest.raises(MailInputError) as err:
        small.compose(
            _open(attachments=(Attachment("a.json", b"{}"), Attachment("b.json", b"x" * 9))), now=NOW
        )
    assert err.value.errors[0]["field"] == "attachments[1]"


def test_compose_then_parse_round_trip(composer: Composer) -> None:
    mail = composer.compose(
        _open(language="it", context={**_open().context, "title": "Posta respinta è"}), now=NOW
    )
    parsed = parse_message(mail.as_bytes())
    assert parsed.message_id == mail.message_id
    assert parsed.subject == "[HUB-7F3K2] Posta respinta è"
    assert parsed.from_addr == "cases@msp.example"
    assert parsed.reply_to == ("cases+7f3k2@msp.example",)
    assert parsed.date == NOW
    assert IDENTITY.tokens_in(parsed.subject) == ["7F3K2"]
    assert IDENTITY.is_own_message_id(parsed.message_id or "")


def test_tokens_use_the_crockford_alphabet() -> None:
    tokens = {new_case_token() for _ in range(200)}
    assert len(tokens) > 190
    assert all(len(t) == 5 and not set(t) & set("ILOU") for t in tokens)
    assert IDENTITY.tokens_in("re: [hub-7f3k2] and [HUB-7F3K2] [OTHER-AAAAA]") == ["7F3K2"]
    assert IDENTITY.token_from_address("Cases+7f3k2@MSP.example") == "7F3K2"
    assert IDENTITY.token_from_address("cases+7F3K2@other.example") is None
