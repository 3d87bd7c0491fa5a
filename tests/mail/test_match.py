"""The reply-matching ladder, rule by rule, and learning vendors' case-number formats."""

from __future__ import annotations

import pytest

from hub.mail.case_numbers import compile_pattern, extract_case_numbers, propose_pattern
from hub.mail.errors import MailInputError
from hub.mail.identity import MailIdentity
from hub.mail.match import Action, CaseRef, Confidence, Matcher, Signal, TriageReason, VendorRef
from hub.mail.parse import parse_message
from tests.mail.memory_lookup import MemoryLookup

OURS = MailIdentity(instance_id="hub1a2b3c", domain="msp.example")
SF = r"(?i:(?<![\w])Case)\s*[#:]?\s*(?P<number>\d{8})(?![\w-])"


def world() -> MemoryLookup:
    lookup = MemoryLookup()
    lookup.add_vendor(VendorRef("mailhost", frozenset({"mailhost.example"}), (SF,)))
    lookup.add_vendor(VendorRef("fibra", frozenset({"fibra.example"}), ()))
    lookup.add_vendor(VendorRef("solo", frozenset({"solo-isp.example"}), (SF,)))
    lookup.add_case(CaseRef("A", "AAAAA", "mailhost", "00111111"), "case-AAAAA.1.hub1a2b3c@msp.example")
    lookup.add_case(CaseRef("B", "BBBBB", "mailhost", "00222222"), "case-BBBBB.1.hub1a2b3c@msp.example")
    lookup.add_case(CaseRef("C", "CCCCC", "mailhost"), "case-CCCCC.1.hub1a2b3c@msp.example")
    lookup.add_case(CaseRef("F", "FFFFF", "fibra", "4512345"), "case-FFFFF.1.hub1a2b3c@msp.example")
    lookup.add_case(CaseRef("S", "SSSSS", "solo"), "case-SSSSS.1.hub1a2b3c@msp.example")
    return lookup


def mail(
    subject: str = "Hello",
    body: str = "Text.",
    frm: str = "support@mailhost.example",
    to: str = "cases@msp.example",
    **headers: str,
) -> bytes:
    head = f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <x{abs(hash(subject + body))}@v.example>\r\n"  # noqa: E501
    head += "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n" + body + "\r\n").encode()


def msg_text(raw: bytes) -> str:
    return raw.decode().lower()


CASES = [
    # (name, raw, action, case, signal or reason)
    (
        "in-reply-to",
        mail(In_Reply_To="<case-AAAAA.1.hub1a2b3c@msp.example>"),
        "file",
        "A",
        Signal.in_reply_to,
    ),
    (
        "references",
        mail(References="<r@x.example> <case-AAAAA.1.hub1a2b3c@msp.example>"),
        "file",
        "A",
        Signal.references,
    ),
    ("plus-address", mail(to="cases+aaaaa@msp.example"), "file", "A", Signal.plus_address),
    ("subject token", mail("RE: [HUB-AAAAA] SPF"), "file", "A", Signal.subject_token),
    (
        "body token (quoted copy)",
        mail(body="ok\n> Our reference: [HUB-AAAAA]."),
        "file",
        "A",
        Signal.body_token,
    ),
    ("vendor number", mail("Case 00111111 update"), "file", "A", Signal.vendor_case_number),
    (
        "vendor number, no pattern: literal",
        mail("Pratica 4512345", frm="x@fibra.example"),
        "file",
        "F",
        Signal.vendor_case_number,
    ),
    (
        "signals agree: best one reported",
        mail("RE: [HUB-AAAAA] Case 00111111", to="cases+AAAAA@msp.example"),
        "file",
        "A",
        Signal.plus_address,
    ),
    (
        "subdomain of the vendor",
        mail("Case 00111111", frm="agent@eu.mail.mailhost.example"),
        "file",
        "A",
        Signal.vendor_case_number,
    ),
    (
        "unknown sender domain with our token",
        mail("RE: [HUB-AAAAA]", frm="desk@platform.example"),
        "file",
        "A",
        Signal.subject_token,
    ),
    (
        "sender domain: one open case, new number",
        mail("Case 00999999 opened", frm="n@solo-isp.example"),
        "file",
        "S",
        Signal.sender_domain,
    ),
    # triage
    (
        "token A, number of B",
        mail("RE: [HUB-AAAAA] Case 00222222"),
        "triage",
        None,
        TriageReason.conflicting_signals,
    ),
    ("two tokens", mail("[HUB-AAAAA] [HUB-BBBBB]"), "triage", None, TriageReason.conflicting_signals),
    (
        "thread of A, token of B",
        mail("[HUB-BBBBB]", In_Reply_To="<case-AAAAA.1.hub1a2b3c@msp.example>"),
        "triage",
        None,
        TriageReason.conflicting_signals,
    ),
    (
        "token quoted by a different vendor",
        mail("FW: [HUB-AAAAA] SPF", frm="noc@fibra.example"),
        "triage",
        None,
        TriageReason.sender_vendor_mismatch,
    ),
    (
        "thread of A, from a different vendor",
        mail(frm="x@fibra.example", In_Reply_To="<case-AAAAA.1.hub1a2b3c@msp.example>"),
        "triage",
        None,
        TriageReason.sender_vendor_mismatch,
    ),
    (
        "token A, a new number of A's vendor",
        mail("RE: [HUB-AAAAA] Case 00999999"),
        "triage",
        None,
        TriageReason.vendor_case_number_mismatch,
    ),
    (
        "another hub's thread, our token",
        mail("RE: [HUB-AAAAA] printer", In_Reply_To="<case-AAAAA.1.otherhub9@o.example>"),
        "triage",
        None,
        TriageReason.other_hub_instance,
    ),
    ("unknown token", mail("RE: [HUB-ZZZZZ] x"), "triage", None, TriageReason.unknown_token),
    (
        "known and unknown token",
        mail("RE: [HUB-AAAAA] [HUB-ZZZZZ]"),
        "triage",
        None,
        TriageReason.unknown_token,
    ),
    (
        "sender domain, several open cases",
        mail("Case 00999999"),
        "triage",
        None,
        TriageReason.sender_domain_ambiguous,
    ),
    (
        "sender domain, one case, no number",
        mail("Hello", frm="n@solo-isp.example"),
        "triage",
        None,
        TriageReason.sender_domain_without_case_number,
    ),
    ("nothing", mail(frm="a@stranger.example"), "triage", None, TriageReason.no_signal),
    (
        "our own mail back",
        mail(frm="cases@msp.example", Message_ID="<case-AAAAA.2.hub1a2b3c@msp.example>"),
        "drop",
        None,
        TriageReason.own_loop,
    ),
]


@pytest.mark.parametrize(("name", "raw", "action", "case", "why"), CASES, ids=[c[0] for c in CASES])
async def test_ladder(name: str, raw: bytes, action: str, case: str | None, why: object) -> None:
    decision = await Matcher(OURS).match(parse_message(raw), world())
    assert (decision.action.value, decision.case_id) == (action, case), decision
    if action == "file":
        assert decision.signal is why
        assert decision.evidence[0].value.lower() in msg_text(raw), "evidence names what the message carried"
        assert decision.evidence and all(e.case_id == case for e in decision.evidence)
    else:
        assert decision.reason is why


async def test_auto_reply_is_filed_but_marked_automatic() -> None:
    raw = mail("Automatic reply: [HUB-AAAAA] SPF", Auto_Submitted="auto-replied")
    decision = await Matcher(OURS).match(parse_message(raw), world())
    assert decision.filed and decision.case_id == "A" and decision.message_kind.value == "auto_reply"


async def test_first_number_is_learned_and_a_pattern_proposed() -> None:
    lookup = world()
    lookup.add_vendor(VendorRef("dnsco", frozenset({"dnsco.example"}), ()))
    lookup.add_case(CaseRef("D", "DDDDD", "dnsco"))
    raw = mail("[Ticket#2026120710000012] RE: [HUB-DDDDD] SPF", frm="support@dnsco.example")
    decision = await Matcher(OURS).match(parse_message(raw), lookup)
    assert decision.filed and decision.case_id == "D" and decision.confidence is Confidence.high
    assert decision.new_vendor_case_number == "2026120710000012"
    assert decision.proposed_pattern is not None
    pattern = compile_pattern(decision.proposed_pattern.regex)
    assert extract_case_numbers([pattern], "Ticket#2026120799999999 update", "ticket 1234") == [
        "2026120799999999"
    ]
    # a case with a known number reports no new one
    raw = mail("RE: [HUB-AAAAA] Case 00111111")
    assert (await Matcher(OURS).match(parse_message(raw), lookup)).new_vendor_case_number is None


async def test_bounce_files_on_the_case_of_the_original_message() -> None:
    raw = (
        b"From: MAILER-DAEMON@relay.msp.example\r\nTo: cases@msp.example\r\nSubject: Undelivered Mail\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'
        b"--R\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--R\r\nContent-Type: message/delivery-status\r\n\r\n"  # noqa: E501
        b"Reporting-MTA: dns; relay\r\n\r\nFinal-Recipient: rfc822; support@mailhost.example\r\nAction: failed\r\n"  # noqa: E501
        b"Status: 5.1.1\r\n\r\n--R\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"Message-ID: <case-BBBBB.1.hub1a2b3c@msp.example>\r\nSubject: [HUB-BBBBB] x\r\n\r\n--R--\r\n"
    )
    decision = await Matcher(OURS).match(parse_message(raw), world())
    assert decision.filed and decision.case_id == "B" and decision.signal is Signal.bounce_original
    assert decision.message_kind.value == "bounce"


async def test_bounce_of_another_hubs_mail_is_not_ours() -> None:
    raw = (
        b"From: MAILER-DAEMON@relay.example\r\nTo: cases@msp.example\r\nSubject: Undelivered Mail\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'
        b"--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; r\r\n\r\nAction: failed\r\n"
        b"Status: 5.1.1\r\n\r\n--R\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"Message-ID: <case-AAAAA.1.otherhub9@other.example>\r\nSubject: [HUB-AAAAA] x\r\n\r\n--R--\r\n"
    )
    decision = await Matcher(OURS).match(parse_message(raw), world())
    assert decision.action is Action.triage and decision.reason is TriageReason.other_hub_instance


@pytest.mark.parametrize(
    ("subject", "body", "known", "number", "matches", "ignores"),
    [
        (
            "Case #00123456: Line down [HUB-7F3K2]",
            "",
            None,
            "00123456",
            "re: case 00999999",
            "account 12345678",
        ),
        (
            "[Ticket#2026120710000012] Re: Line down",
            "",
            None,
            "2026120710000012",
            "Ticket#2026120799999999",
            "Ticket#123",
        ),
        (
            "Re: Line down",
            "Your request is logged as SR 7-1234567. Please quote it.",
            None,
            "7-1234567",
            "SR 3-7654321",
            "call 7-12345",
        ),
        ("INC0012345 - Line down", "", None, "INC0012345", "about INC0099999 now", "INC12"),
        ("Pratica n. 4512345 aperta", "", None, "4512345", "pratica 7654321", "tel 0612345"),
        (
            "TrackingID#2601120010001234 Re: x",
            "",
            None,
            "2601120010001234",
            "TrackingID#2601120010009999",
            "ID 5",
        ),
        (
            "Line down",
            "Opened as Case: 00123456 for you.",
            "00123456",
            "00123456",
            "case 00999999",
            "00999999",
        ),
        ("Re: Line down", "CS0012345 has been opened", None, "CS0012345", "CS0099999", "CS12"),
    ],
)
def test_learning_a_vendor_number_format(
    subject: str, body: str, known: str | None, number: str, matches: str, ignores: str
) -> None:
    proposal = propose_pattern(subject, body, known)
    assert proposal is not None and proposal.number == number
    pattern = compile_pattern(proposal.regex)
    assert extract_case_numbers([pattern], subject, body) == [number]
    assert extract_case_numbers([pattern], matches) != []
    assert extract_case_numbers([pattern], ignores) == []


@pytest.mark.parametrize(
    ("subject", "body", "known"),
    [
        ("Line down", "We opened 00123456 for you. Call 0612345678.", None),  # digits without a label
        ("Line down", "We opened 00123456 for you.", "00123456"),  # known, but no label to anchor on
        ("Re: hello", "Your account 123456 is fine", None),
    ],
)
def test_no_pattern_without_a_safe_anchor(subject: str, body: str, known: str | None) -> None:
    assert propose_pattern(subject, body, known) is None


@pytest.mark.parametrize(
    ("regex", "reason"),
    [
        (r"Case (\d+)", "needs a named group"),
        (r"(?P<number>\d*)", "matches an empty text"),
        (r"(?P<number>[", "not a valid regular expression"),
        ("x" * 400, "longer than"),
    ],
)
def test_bad_patterns_are_refused_with_a_reason(regex: str, reason: str) -> None:
    with pytest.raises(MailInputError) as err:
        compile_pattern(regex)
    assert reason in err.value.errors[0]["message"]
    assert err.value.errors[0]["field"] == "case_number_pattern"
