"""The reply-matching ladder: which case does an inbound message belong to, and why.

No I/O of its own: the questions it needs answered go through `CaseLookup`, which the case
service implements over the database (and the tests over dicts).

The rule above all others: a message on a wrong case is far worse than a message in
triage. So every signal is collected first, and a message is filed only when all that
point at a case point at the SAME case and nothing contradicts it:

| signal              | what it is                                                      | confidence |
|---------------------|-----------------------------------------------------------------|------------|
| in_reply_to         | In-Reply-To names a Message-ID we sent or filed on the case     | high       |
| references          | References names one                                            | high       |
| bounce_original     | a bounce's original Message-ID is one we sent                   | high       |
| plus_address        | delivered to cases+TOKEN@our-domain                             | high       |
| subject_token       | [PREFIX-TOKEN] in the subject                                   | high       |
| vendor_case_number  | the vendor's case number, known on the case, from its domain    | medium     |
| body_token          | [PREFIX-TOKEN] in the body (a quoted copy of our mail)          | medium     |
| sender_domain       | the vendor's domain, ONE open case with it, and a number in the | low        |
|                     | vendor's learned case-number pattern                            |            |

Triage (never a guess) when: signals name different cases; the sender's domain belongs to
known vendors none of which is the case's vendor (a different vendor quoting our token);
the message carries a case number of the case's vendor that is not the case's number;
the thread headers point only at ANOTHER hub instance (GLPI's guard: its tokens may look
like ours); a token that matches no case; sender domain alone with zero or several open
cases or without a case number in the vendor's pattern; nothing at all.

Our own mail coming back (our Message-ID and instance, or from our own address) is
`drop`ped: stored raw by the caller, not filed, not triaged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from hub.mail.case_numbers import ProposedPattern, compile_pattern, extract_case_numbers, propose_pattern
from hub.mail.classify import MessageKind
from hub.mail.identity import MailIdentity
from hub.mail.parse import InboundMessage


class Signal(StrEnum):
    in_reply_to = "in_reply_to"
    references = "references"
    bounce_original = "bounce_original"
    plus_address = "plus_address"
    subject_token = "subject_token"
    vendor_case_number = "vendor_case_number"
    body_token = "body_token"
    sender_domain = "sender_domain"


class Confidence(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


class Action(StrEnum):
    file = "file"
    triage = "triage"
    drop = "drop"


class TriageReason(StrEnum):
    no_signal = "no_signal"
    conflicting_signals = "conflicting_signals"
    sender_vendor_mismatch = "sender_vendor_mismatch"
    vendor_case_number_mismatch = "vendor_case_number_mismatch"
    other_hub_instance = "other_hub_instance"
    unknown_token = "unknown_token"
    sender_domain_ambiguous = "sender_domain_ambiguous"
    sender_domain_without_case_number = "sender_domain_without_case_number"
    own_loop = "own_loop"  # the reason of a drop


CONFIDENCE = {
    Signal.in_reply_to: Confidence.high,
    Signal.references: Confidence.high,
    Signal.bounce_original: Confidence.high,
    Signal.plus_address: Confidence.high,
    Signal.subject_token: Confidence.high,
    Signal.vendor_case_number: Confidence.medium,
    Signal.body_token: Confidence.medium,
    Signal.sender_domain: Confidence.low,
}
LADDER = tuple(CONFIDENCE)  # the order signals are reported in
MAX_LITERAL_SCAN = 500  # open cases of one vendor searched for their number literally


@dataclass(frozen=True)
class VendorRef:
    vendor_id: str
    domains: frozenset[str] = frozenset()
    case_number_patterns: tuple[str, ...] = ()  # regexes with a (?P<number>...) group


@dataclass(frozen=True)
class CaseRef:
    case_id: str
    token: str
    vendor_id: str
    vendor_case_number: str | None = None
    is_open: bool = True


class CaseLookup(Protocol):
    """What the ladder asks the case service. Ids are strings (str(uuid) for the hub)."""

    async def cases_for_message_ids(self, message_ids: Sequence[str]) -> Mapping[str, CaseRef]:
        """Message-IDs (normalised) we sent or filed -> their case; unknown ids left out."""
        ...

    async def case_for_token(self, token: str) -> CaseRef | None: ...

    async def case_for_vendor_number(self, vendor_id: str, number: str) -> CaseRef | None: ...

    async def vendors_for_domain(self, domain: str) -> Sequence[VendorRef]:
        """Vendors whose mail domains include exactly this domain."""
        ...

    async def vendor(self, vendor_id: str) -> VendorRef | None: ...

    async def open_cases_for_vendor(self, vendor_id: str) -> Sequence[CaseRef]: ...


@dataclass(frozen=True)
class Evidence:
    signal: Signal
    value: str  # the Message-ID, token, number or domain seen
    case_id: str


@dataclass(frozen=True)
class Decision:
    action: Action
    case_id: str | None = None
    signal: Signal | None = None  # the first signal of the ladder that matched
    confidence: Confidence | None = None
    reason: TriageReason | None = None
    detail: str = ""  # for people: what disagreed, with which cases
    evidence: tuple[Evidence, ...] = ()
    message_kind: MessageKind = MessageKind.human
    # A number of the case's vendor seen in the message and not yet on the case: the case
    # service stores it (Zammad's ExternalSync, Halo's supplier reference).
    new_vendor_case_number: str | None = None
    # The vendor has no pattern yet: one proposed from this message, for a person to accept.
    proposed_pattern: ProposedPattern | None = None

    @property
    def filed(self) -> bool:
        return self.action is Action.file


@dataclass
class _Gathered:
    """Every signal one message gives, collected before anything is decided."""

    evidence: list[Evidence] = field(default_factory=list)
    cases: dict[str, CaseRef] = field(default_factory=dict)
    problems: list[tuple[TriageReason, str]] = field(default_factory=list)
    unknown_tokens: list[str] = field(default_factory=list)
    found_numbers: dict[str, list[str]] = field(default_factory=dict)
    sender_vendors: Sequence[VendorRef] = ()
    known: Mapping[str, CaseRef] = field(default_factory=dict)
    other_instance: list[str] = field(default_factory=list)


@dataclass
class Matcher:
    identity: MailIdentity
    # compiled vendor patterns, per matcher instance (bounded: patterns are few)
    _compiled: dict[str, re.Pattern[str] | None] = field(default_factory=dict, repr=False)

    def _patterns(self, vendor: VendorRef) -> list[re.Pattern[str]]:
        out = []
        for regex in vendor.case_number_patterns:
            if regex not in self._compiled:
                if len(self._compiled) > 10_000:
                    self._compiled.clear()
                try:
                    self._compiled[regex] = compile_pattern(regex)
                except ValueError:
                    self._compiled[regex] = None  # a bad stored pattern never matches
            compiled = self._compiled[regex]
            if compiled is not None:
                out.append(compiled)
        return out

    async def match(self, msg: InboundMessage, lookup: CaseLookup) -> Decision:
        identity = self.identity
        kind = msg.kind
        # 0. Our own mail looping back.
        if (msg.message_id and identity.is_own_message_id(msg.message_id)) or identity.is_own_address(
            msg.from_addr
        ):
            return Decision(Action.drop, reason=TriageReason.own_loop, message_kind=kind)
        got = _Gathered()
        await self._thread_signals(msg, lookup, got)  # 1. thread headers, a bounce's original
        await self._token_signals(msg, lookup, got)  # 2-3. plus-address, subject, body tokens
        await self._vendor_number_signals(msg, lookup, got)  # 4. the sender's vendors' numbers
        if got.other_instance and not got.known:
            # Answers another hub: its [PREFIX-TOKEN] may collide with ours.
            got.problems.append(
                (TriageReason.other_hub_instance, f"thread of another hub: {got.other_instance[0]}")
            )
        named = {e.case_id for e in got.evidence}
        if len(named) > 1:
            got.problems.append(
                (
                    TriageReason.conflicting_signals,
                    "; ".join(f"{e.signal.value} {e.value} -> case {e.case_id}" for e in got.evidence),
                )
            )
        if len(named) == 1:
            case = got.cases[next(iter(named))]
            numbers = got.found_numbers.get(case.vendor_id, [])
            self._contradictions(msg, case, numbers, got)
            if not got.problems:
                return await self._file(msg, case, got.evidence, numbers, got.sender_vendors, lookup)
        if got.problems:
            reason, detail = got.problems[0]
            return Decision(
                Action.triage, reason=reason, detail=detail, evidence=tuple(got.evidence), message_kind=kind
            )
        if got.unknown_tokens:
            return Decision(
                Action.triage,
                reason=TriageReason.unknown_token,
                detail=f"token(s) {', '.join(got.unknown_tokens)} match no case",
                message_kind=kind,
            )
        # 5. Sender domain alone.
        return await self._by_sender_domain(msg, got.sender_vendors, got.found_numbers, lookup)

    async def _thread_signals(self, msg: InboundMessage, lookup: CaseLookup, got: _Gathered) -> None:
        identity = self.identity
        thread = [m for m in msg.thread_ids if not identity.is_other_instance_message_id(m)]
        got.other_instance = [m for m in msg.thread_ids if identity.is_other_instance_message_id(m)]
        bounce_id = msg.bounce.original_message_id if msg.bounce else None
        if bounce_id and identity.is_other_instance_message_id(bounce_id):
            got.other_instance.append(bounce_id)
            bounce_id = None
        asked = list(dict.fromkeys([*thread, *([bounce_id] if bounce_id else [])]))
        known = await lookup.cases_for_message_ids(asked) if asked else {}
        got.known = known
        for mid in msg.in_reply_to:
            if mid in known:
                got.evidence.append(Evidence(Signal.in_reply_to, mid, known[mid].case_id))
        for mid in msg.references:
            if mid in known and mid not in msg.in_reply_to:
                got.evidence.append(Evidence(Signal.references, mid, known[mid].case_id))
        if bounce_id and bounce_id in known:
            got.evidence.append(Evidence(Signal.bounce_original, bounce_id, known[bounce_id].case_id))
        got.cases.update({ref.case_id: ref for ref in known.values()})

    async def _token_signals(self, msg: InboundMessage, lookup: CaseLookup, got: _Gathered) -> None:
        identity = self.identity
        looked_up: dict[str, CaseRef | None] = {}
        for signal, tokens in (
            (Signal.plus_address, [t for a in msg.recipients if (t := identity.token_from_address(a))]),
            (Signal.subject_token, identity.tokens_in(msg.subject)),
            (Signal.body_token, identity.tokens_in(msg.text)),
        ):
            for token in dict.fromkeys(tokens):
                if token not in looked_up:
                    looked_up[token] = await lookup.case_for_token(token)
                ref = looked_up[token]
                if ref is None:
                    if signal is not Signal.body_token:
                        got.unknown_tokens.append(token)
                    continue
                got.cases[ref.case_id] = ref
                got.evidence.append(Evidence(signal, token, ref.case_id))

    async def _vendor_number_signals(self, msg: InboundMessage, lookup: CaseLookup, got: _Gathered) -> None:
        got.sender_vendors = await self._sender_vendors(msg.sender_domain, lookup)
        for vendor in got.sender_vendors:
            numbers = extract_case_numbers(self._patterns(vendor), msg.subject, msg.reply_text)
            got.found_numbers[vendor.vendor_id] = numbers
            for number in numbers:
                ref = await lookup.case_for_vendor_number(vendor.vendor_id, number)
                if ref is not None:
                    got.cases[ref.case_id] = ref
                    got.evidence.append(Evidence(Signal.vendor_case_number, number, ref.case_id))
            if not vendor.case_number_patterns:
                await self._literal_numbers(msg, vendor, numbers, lookup, got)

    async def _literal_numbers(
        self, msg: InboundMessage, vendor: VendorRef, numbers: list[str], lookup: CaseLookup, got: _Gathered
    ) -> None:
        """No pattern learned yet: a number typed in on one of the vendor's open cases (from
        a phone call), looked for literally."""
        for ref in (await lookup.open_cases_for_vendor(vendor.vendor_id))[:MAX_LITERAL_SCAN]:
            known_number = ref.vendor_case_number
            if not known_number or len(known_number) < 5 or known_number in numbers:
                continue
            literal = rf"(?<![\w-]){re.escape(known_number)}(?![\w-])"
            if re.search(literal, msg.subject, re.IGNORECASE) or re.search(
                literal, msg.reply_text, re.IGNORECASE
            ):
                got.cases[ref.case_id] = ref
                got.evidence.append(Evidence(Signal.vendor_case_number, known_number, ref.case_id))

    def _contradictions(self, msg: InboundMessage, case: CaseRef, numbers: list[str], got: _Gathered) -> None:
        """What speaks against filing on the one case every signal names."""
        sender_vendor_ids = {v.vendor_id for v in got.sender_vendors}
        if sender_vendor_ids and case.vendor_id not in sender_vendor_ids:
            got.problems.append(
                (
                    TriageReason.sender_vendor_mismatch,
                    f"{msg.sender_domain} belongs to another vendor than case {case.case_id}'s",
                )
            )
        if case.vendor_case_number and any(n != case.vendor_case_number.upper() for n in numbers):
            got.problems.append(
                (
                    TriageReason.vendor_case_number_mismatch,
                    f"case {case.case_id} is the vendor's {case.vendor_case_number}; "
                    f"the message names {', '.join(numbers)}",
                )
            )
        if got.unknown_tokens:
            got.problems.append(
                (TriageReason.unknown_token, f"token(s) {', '.join(got.unknown_tokens)} unknown")
            )

    async def _sender_vendors(self, domain: str, lookup: CaseLookup) -> Sequence[VendorRef]:
        """Vendors of the sender's domain, trying parent domains (mail.vendor.example ->
        vendor.example) down to two labels."""
        labels = domain.split(".") if domain else []
        for start in range(0, max(0, len(labels) - 1)):
            vendors = await lookup.vendors_for_domain(".".join(labels[start:]))
            if vendors:
                return vendors
        return ()

    async def _file(
        self,
        msg: InboundMessage,
        case: CaseRef,
        evidence: list[Evidence],
        numbers: list[str],
        sender_vendors: Sequence[VendorRef],
        lookup: CaseLookup,
    ) -> Decision:
        first = min(evidence, key=lambda e: LADDER.index(e.signal))
        new_number = numbers[0] if numbers and not case.vendor_case_number else None
        proposal = None
        vendor = next((v for v in sender_vendors if v.vendor_id == case.vendor_id), None)
        if vendor is not None and not vendor.case_number_patterns and not case.vendor_case_number:
            proposal = propose_pattern(msg.subject, msg.reply_text)
            if proposal is not None:
                new_number = proposal.number
        return Decision(
            Action.file,
            case_id=case.case_id,
            signal=first.signal,
            confidence=CONFIDENCE[first.signal],
            evidence=tuple(sorted(evidence, key=lambda e: LADDER.index(e.signal))),
            message_kind=msg.kind,
            new_vendor_case_number=new_number,
            proposed_pattern=proposal,
        )

    async def _by_sender_domain(
        self,
        msg: InboundMessage,
        sender_vendors: Sequence[VendorRef],
        found_numbers: Mapping[str, list[str]],
        lookup: CaseLookup,
    ) -> Decision:
        kind = msg.kind
        if not sender_vendors:
            return Decision(Action.triage, reason=TriageReason.no_signal, message_kind=kind)
        if len(sender_vendors) > 1:
            return Decision(
                Action.triage,
                reason=TriageReason.sender_domain_ambiguous,
                detail=f"{msg.sender_domain} belongs to {len(sender_vendors)} vendors",
                message_kind=kind,
            )
        vendor = sender_vendors[0]
        open_cases = [c for c in await lookup.open_cases_for_vendor(vendor.vendor_id) if c.is_open]
        if len(open_cases) != 1:
            return Decision(
                Action.triage,
                reason=TriageReason.sender_domain_ambiguous,
                detail=f"{len(open_cases)} open cases with vendor {vendor.vendor_id}",
                message_kind=kind,
            )
        case = open_cases[0]
        numbers = found_numbers.get(vendor.vendor_id, [])
        # The only open case, and the vendor's first number for it (a case that already has
        # a number would have matched it above: a different number is another case).
        if not numbers or case.vendor_case_number:
            return Decision(
                Action.triage,
                reason=TriageReason.sender_domain_without_case_number,
                detail=f"one open case ({case.case_id}) but no new case number in the vendor's format",
                message_kind=kind,
            )
        return Decision(
            Action.file,
            case_id=case.case_id,
            signal=Signal.sender_domain,
            confidence=Confidence.low,
            evidence=(Evidence(Signal.sender_domain, msg.sender_domain, case.case_id),),
            message_kind=kind,
            new_vendor_case_number=numbers[0],
        )
