"""Inbound mail: normalised fields, auto-reply and bounce classification, quoted history
stripped, vendor HTML made safe, and any bytes parse without an exception."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.mail.classify import MessageKind
from hub.mail.htmltext import html_to_text, sanitise_html
from hub.mail.parse import MessageParser, parse_message
from hub.mail.quotes import QuoteStripper


def raw(
    headers: dict[str, str] | list[tuple[str, str]], body: str = "Hello\n", ctype: str = "text/plain"
) -> bytes:
    items = list(headers.items()) if isinstance(headers, dict) else headers
    lines = [f"{k}: {v}" for k, v in items]
    if not any(k.lower() == "content-type" for k, _ in items):
        lines.append(f'Content-Type: {ctype}; charset="utf-8"')
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


BASE = {
    "From": '"Mail Host Support" <Support@MailHost.example>',
    "To": "Service desk <cases+7F3K2@msp.example>",
    "Cc": "noc@rossi.example",
    "Subject": "Re: [HUB-7F3K2] SPF",
    "Date": "Mon, 07 Dec 2026 10:15:00 +0100",
    "Message-ID": "<reply.1@crm.mailhost.example>",
    "In-Reply-To": "<case-7F3K2.1.hub1a2b3c@msp.example>",
    "References": "<root@x.example>\r\n <case-7F3K2.1.hub1a2b3c@msp.example>",
}


def test_normalised_fields() -> None:
    data = raw([*BASE.items(), ("Delivered-To", "cases+7f3k2@msp.example")], "We fixed it.\n")
    msg = parse_message(data)
    assert msg.message_id == "reply.1@crm.mailhost.example"
    assert msg.in_reply_to == ("case-7F3K2.1.hub1a2b3c@msp.example",)
    assert msg.references == ("root@x.example", "case-7F3K2.1.hub1a2b3c@msp.example")
    assert msg.from_addr == "support@mailhost.example" and msg.from_name == "Mail Host Support"
    assert msg.to == ("cases+7f3k2@msp.example",) and msg.cc == ("noc@rossi.example",)
    assert msg.delivered_to == ("cases+7f3k2@msp.example",)
    assert msg.date == datetime(2026, 12, 7, 9, 15, tzinfo=UTC)
    assert msg.text == "We fixed it.\n" and msg.reply_text == "We fixed it."
    assert msg.kind is MessageKind.human and not msg.is_automatic
    assert msg.raw == data and msg.sender_domain == "mailhost.example"
    assert msg.dedupe_key == "reply.1@crm.mailhost.example"


def test_missing_message_id_dedupes_on_content_hash() -> None:
    data = raw({"From": "a@b.example", "Subject": "x"})
    msg = parse_message(data)
    assert msg.message_id is None and msg.dedupe_key.startswith("sha256:")
    assert parse_message(data).dedupe_key == msg.dedupe_key


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"Auto-Submitted": "auto-replied"}, MessageKind.auto_reply),
        ({"Auto-Submitted": "auto-generated"}, MessageKind.auto_generated),
        ({"Auto-Submitted": "auto-notified"}, MessageKind.auto_generated),
        ({"Auto-Submitted": "no"}, MessageKind.human),
        ({"X-Autoreply": "yes"}, MessageKind.auto_reply),
        ({"X-Autorespond": "Out of office"}, MessageKind.auto_reply),
        ({"Precedence": "auto_reply"}, MessageKind.auto_reply),
        ({"Precedence": "bulk"}, MessageKind.auto_generated),
        ({"Precedence": "junk"}, MessageKind.auto_generated),
        ({"Subject": "Out of Office: [HUB-7F3K2] SPF"}, MessageKind.auto_reply),
        ({"Subject": "Automatic reply: SPF"}, MessageKind.auto_reply),
        ({"Subject": "Risposta automatica: [HUB-7F3K2] SPF"}, MessageKind.auto_reply),
        ({"Subject": "Fuori ufficio fino al 10/12"}, MessageKind.auto_reply),
        ({"Subject": "Abwesenheitsnotiz: SPF"}, MessageKind.auto_reply),
        ({"Subject": "Automatische Antwort: SPF"}, MessageKind.auto_reply),
        ({"Subject": "Réponse automatique : SPF"}, MessageKind.auto_reply),
        ({"Subject": "Absence du bureau"}, MessageKind.auto_reply),
        # ticket systems put this on every mail, human answers included: not a signal
        ({"X-Auto-Response-Suppress": "All"}, MessageKind.human),
        ({"Subject": "Re: out of office hours support for SPF"}, MessageKind.human),
        ({"Subject": "Re: Undeliverable mail to rossi.example"}, MessageKind.human),
    ],
)
def test_auto_reply_classification(headers: dict[str, str], kind: MessageKind) -> None:
    assert parse_message(raw({**BASE, **headers})).kind is kind


DSN = """\
From: Mail Delivery System <MAILER-DAEMON@relay.msp.example>
To: cases@msp.example
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn.1@relay.msp.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system. Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.msp.example
Arrival-Date: Mon, 7 Dec 2026 10:00:00 +0100

Final-Recipient: rfc822; Support@MailHost.example
Original-Recipient: rfc822;support@mailhost.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <support@mailhost.example>: Recipient address rejected

--B
Content-Type: {orig_type}

From: Service desk <cases@msp.example>
To: support@mailhost.example
Subject: [HUB-7F3K2] SPF record fails
Message-ID: <case-7F3K2.1.hub1a2b3c@msp.example>

##- Please type your reply above this line -##
Hello, our text.

--B--
"""


@pytest.mark.parametrize("orig_type", ["message/rfc822", "text/rfc822-headers"])
def test_delivery_status_notification(orig_type: str) -> None:
    msg = parse_message(DSN.format(orig_type=orig_type).replace("\n", "\r\n").encode())
    assert msg.kind is MessageKind.bounce
    bounce = msg.bounce
    assert bounce is not None
    assert bounce.action == "failed" and bounce.status == "5.1.1" and bounce.permanent
    assert bounce.final_recipients == ("support@mailhost.example",)
    assert bounce.diagnostic and "Recipient address rejected" in bounce.diagnostic
    assert bounce.original_message_id == "case-7F3K2.1.hub1a2b3c@msp.example"
    assert bounce.reporting_mta == "relay.msp.example"
    # the bounced copy of our mail is not the bounce's text
    assert "Hello, our text." not in msg.text


def test_delayed_dsn_is_not_permanent() -> None:
    text = DSN.format(orig_type="text/rfc822-headers").replace("Action: failed", "Action: delayed")
    text = text.replace("Status: 5.1.1", "Status: 4.4.7")
    bounce = parse_message(text.replace("\n", "\r\n").encode()).bounce
    assert bounce is not None and bounce.action == "delayed" and not bounce.permanent


def test_non_standard_bounce_from_mailer_daemon() -> None:
    body = (
        "Hi. This is the qmail-send program.\nI'm afraid I wasn't able to deliver your message.\n"
        "<support@mailhost.example>:\n550 5.7.1 rejected\n--- Below this line is a copy of the message.\n\n"
        "Message-ID: <case-7F3K2.1.hub1a2b3c@msp.example>\nSubject: [HUB-7F3K2] SPF\n"
    )
    msg = parse_message(raw({"From": "MAILER-DAEMON@mx.mailhost.example", "Subject": "failure notice"}, body))
    assert msg.kind is MessageKind.bounce
    assert msg.bounce is not None and msg.bounce.status == "5.7.1" and msg.bounce.permanent
    assert msg.bounce.original_message_id == "case-7F3K2.1.hub1a2b3c@msp.example"


QUOTES = [
    (
        "gmail en",
        "Thanks, the SPF record is fixed.\n\nOn Mon, 7 Dec 2026 at 10:12, Service desk <cases@msp.example> wrote:\n"  # noqa: E501
        "> ##- Please type your reply above this line -##\n> Hello,\n",
        "Thanks, the SPF record is fixed.",
    ),
    (
        "gmail it",
        "Record corretto.\n\nIl giorno lun 7 dic 2026 alle ore 10:12 Service desk <cases@msp.example> ha scritto:\n"  # noqa: E501
        "> Buongiorno,\n> la posta viene respinta.\n",
        "Record corretto.",
    ),
    (
        "outlook en",
        "We escalated to our DNS team.\n\nRegards\nJohn\n\nFrom: Service desk <cases@msp.example>\n"
        "Sent: Monday, December 7, 2026 10:12 AM\nTo: support@mailhost.example\n"
        "Subject: [HUB-7F3K2] SPF record fails\n\nHello,\nour client's mail bounces.\n",
        "We escalated to our DNS team.\n\nRegards\nJohn",
    ),
    (
        "outlook it",
        "Abbiamo inoltrato al secondo livello.\n\nDa: Service desk <cases@msp.example>\n"
        "Inviato: lunedì 7 dicembre 2026 10:12\nA: support@mailhost.example\nOggetto: [HUB-7F3K2] SPF\n\nBuongiorno\n",  # noqa: E501
        "Abbiamo inoltrato al secondo livello.",
    ),
    (
        "original message",
        "Please send the headers of a rejected message.\n\n-----Original Message-----\nFrom: Service desk\n"
        "Sent: Monday\nSubject: x\n\nold text\n",
        "Please send the headers of a rejected message.",
    ),
    (
        "apple mail",
        "Done.\n\n> On 7 Dec 2026, at 10:12, Service desk <cases@msp.example> wrote:\n> \n> Hello\n",
        "Done.",
    ),
    (
        "our marker, no attribution line",
        "Case 00123456 opened, we will call you.\n\n##- Please type your reply above this line -##\n\nHello,\n",  # noqa: E501
        "Case 00123456 opened, we will call you.",
    ),
    (
        "our Italian marker quoted",
        "Risolto.\n> ##- Scrivete la risposta sopra questa riga -##\n> Buongiorno\n",
        "Risolto.",
    ),
    (
        "german outlook",
        "Wir prüfen das.\n\nVon: Service desk <cases@msp.example>\nGesendet: Montag, 7. Dezember 2026 10:12\n"
        "An: support@mailhost.example\nBetreff: SPF\n\nHallo\n",
        "Wir prüfen das.",
    ),
    ("no quote at all", "Just text.\nTwo lines.\n", "Just text.\nTwo lines."),
    ("only a quote: kept whole", "> quoted only\n> more\n", "> quoted only\n> more"),
    (
        "forward keeps the forwarded news",
        "FYI, see our carrier's answer.\n\n---------- Forwarded message ---------\nFrom: NOC <noc@carrier.example>\n"  # noqa: E501
        "Subject: Re: [HUB-7F3K2] Line down\n\nFibre cut, repaired at 14:00.\n",
        "FYI, see our carrier's answer.\n\n---------- Forwarded message ---------\nFrom: NOC <noc@carrier.example>\n"  # noqa: E501
        "Subject: Re: [HUB-7F3K2] Line down\n\nFibre cut, repaired at 14:00.",
    ),
]


@pytest.mark.parametrize(("style", "text", "expected"), QUOTES, ids=[q[0] for q in QUOTES])
def test_quote_stripping(style: str, text: str, expected: str) -> None:
    assert QuoteStripper().strip(text) == expected


def test_html_only_mail_is_sanitised_and_turned_into_text() -> None:
    html = (
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
        '<p onclick="steal()">Your case <b>00123456</b> is resolved.</p>'
        '<img src="https://tracker.example/p.gif"><a href="javascript:alert(1)">x</a>'
        '<a href="https://mailhost.example/case/1">view</a><ul><li>one</li><li>two</li></ul>'
        "<blockquote>On Mon you wrote:<br>old text</blockquote></body></html>"
    )
    msg = parse_message(raw(BASE, html, ctype="text/html"))
    assert msg.text_from_html
    assert msg.html is not None
    for bad in ("<script", "onclick", "<img", "javascript:", "<style", "tracker.example"):
        assert bad not in msg.html
    assert 'href="https://mailhost.example/case/1"' in msg.html
    assert "Your case 00123456 is resolved." in msg.text
    assert "- one\n- two" in msg.text
    assert "> old text" in msg.text
    assert msg.reply_text.startswith("Your case 00123456 is resolved.")
    assert "old text" not in msg.reply_text


def test_html_to_text_keeps_line_structure() -> None:
    assert html_to_text("<div>a</div><div>b<br>c</div><p>d&amp;e</p>") == "a\nb\nc\n\nd&e\n"
    assert sanitise_html("<form><input name=x></form><table><tr><td>1</td></tr></table>") == (
        "<table><tbody><tr><td>1</td></tr></tbody></table>"
    )


def test_multipart_alternative_prefers_text_and_lists_attachments() -> None:
    data = (
        b"From: a@vendor.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="M"\r\n\r\n'
        b'--M\r\nContent-Type: multipart/alternative; boundary="A"\r\n\r\n'
        b"--A\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"  # noqa: E501
        b"Perch=E9 no\r\n--A\r\nContent-Type: text/html\r\n\r\n<p>Perch&eacute; no</p>\r\n--A--\r\n"
        b"--M\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=report.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
        b"--M\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y.example\r\nSubject: inner\r\n\r\ninner text\r\n"  # noqa: E501
        b"--M--\r\n"
    )
    msg = parse_message(data)
    assert msg.text == "Perché no" and not msg.text_from_html
    assert [(a.filename, a.content_type, a.size) for a in msg.attachments] == [
        ("report.pdf", "application/pdf", 5),
        (None, "message/rfc822", len(b"From: x@y.example\nSubject: inner\n\ninner text")),
    ]
    assert "inner text" not in msg.text


def test_unknown_charset_and_broken_headers_do_not_raise() -> None:
    data = (
        b'From: "unterminated <a@b.example\r\nTo: ,,,@@@\r\nSubject: =?x-unknown?q?abc?=\r\n'
        b"Date: not a date\r\nIn-Reply-To: bare-id@x.example\r\n"
        b"Content-Type: text/plain; charset=x-klingon\r\n\r\n\xe8\xe9 text\r\n"
    )
    msg = parse_message(data)
    assert msg.date is None
    assert msg.in_reply_to == ("bare-id@x.example",)
    assert "text" in msg.text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes_parse_without_an_exception(data: bytes) -> None:
    msg = MessageParser().parse(data)
    assert msg.raw == data


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["From", "To", "Subject", "Message-ID", "References", "Content-Type", "Date", "X"]
            ),
            st.text(max_size=80),
        ),
        max_size=8,
    ),
    st.text(max_size=300),
)
def test_any_headers_parse_without_an_exception(headers: list[tuple[str, str]], body: str) -> None:
    data = "".join(f"{k}: {v}\r\n" for k, v in headers).encode("utf-8", "surrogateescape") + b"\r\n"
    msg = MessageParser().parse(data + body.encode("utf-8", "surrogateescape"))
    assert isinstance(msg.text, str)
