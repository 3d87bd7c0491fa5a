"""The reply-matching corpus: hundreds of messages from simulated vendors and adversaries,
each with its right answer. Zero on a wrong case; at least 99 % of the messages that carry
a usable signal (defined in tests/mail/corpus.py) filed automatically; the rest in triage."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

from hub.mail.case_numbers import extract_case_numbers
from hub.mail.match import Action, Decision, Matcher
from hub.mail.parse import MessageParser
from tests.mail.corpus import OURS, Corpus, build_corpus, usable


@dataclass
class Tally:
    total: int = 0
    usable: int = 0
    filed_usable: int = 0
    filed: int = 0
    triage: int = 0
    dropped: int = 0
    wrong: int = 0
    signals: Counter[str] = field(default_factory=Counter)


async def run_corpus(corpus: Corpus) -> tuple[dict[str, Tally], list[str]]:
    """Matches every sample in time order and applies what the case service would: store
    the Message-ID of a filed message, learn the vendor number (and a proposed pattern),
    and play the technician on triage (file it where it belongs, note the number shown)."""
    parser = MessageParser()
    matcher = Matcher(OURS)
    lookup = corpus.lookup
    tallies: dict[str, Tally] = defaultdict(Tally)
    failures: list[str] = []
    for sample in corpus.samples:
        msg = parser.parse(sample.raw)
        is_usable = usable(sample, msg, corpus)
        decision: Decision = await matcher.match(msg, lookup)
        t = tallies[sample.category]
        t.total += 1
        t.usable += is_usable
        if decision.action is Action.file:
            t.filed += 1
            t.signals[decision.signal.value if decision.signal else "?"] += 1
            if decision.case_id != sample.truth:
                t.wrong += 1
                failures.append(
                    f"WRONG {sample.category}: truth {sample.truth}, filed {decision.case_id} ({decision})"
                )
            elif is_usable:
                t.filed_usable += 1
        elif decision.action is Action.drop:
            t.dropped += 1
        else:
            t.triage += 1
            if is_usable:
                failures.append(
                    f"triaged usable {sample.category} {msg.subject!r}: {decision.reason} {decision.detail}"
                )
        if sample.expect_drop and decision.action is not Action.drop:
            failures.append(f"own mail not dropped: {msg.subject!r} -> {decision.action}")

        # What the case service does next.
        case_id = decision.case_id if decision.action is Action.file else sample.truth
        if case_id is None or decision.action is Action.drop:
            continue
        if msg.message_id:
            lookup.message_ids.setdefault(msg.message_id, case_id)
        case = lookup.cases[case_id]
        vendor = lookup.vendors[case.vendor_id]
        if decision.action is Action.file:
            if decision.new_vendor_case_number and not case.vendor_case_number:
                lookup.set_number(case_id, decision.new_vendor_case_number)
            if decision.proposed_pattern and not vendor.case_number_patterns:
                lookup.vendors[vendor.vendor_id] = replace(
                    vendor, case_number_patterns=(decision.proposed_pattern.regex,)
                )
        elif msg.sender_domain in vendor.domains and not case.vendor_case_number:
            numbers = extract_case_numbers(corpus.patterns[vendor.vendor_id], msg.subject, msg.reply_text)
            if numbers:
                lookup.set_number(case_id, numbers[0])
    return tallies, failures


def _report(tallies: dict[str, Tally]) -> tuple[Tally, str]:
    total = Tally()
    lines = [
        f"{'category':45} {'n':>4} {'usable':>6} {'filed':>5} {'triage':>6} {'drop':>4} {'wrong':>5}  signals"
    ]
    for name in sorted(tallies):
        t = tallies[name]
        for attr in ("total", "usable", "filed_usable", "filed", "triage", "dropped", "wrong"):
            setattr(total, attr, getattr(total, attr) + getattr(t, attr))
        signals = ", ".join(f"{k} {v}" for k, v in t.signals.most_common())
        lines.append(
            f"{name:45} {t.total:4} {t.usable:6} {t.filed:5} {t.triage:6} {t.dropped:4} {t.wrong:5}  {signals}"  # noqa: E501
        )
    rate = total.filed_usable / total.usable if total.usable else 0.0
    lines.append(
        f"TOTAL {total.total} messages; wrong case {total.wrong}; usable {total.usable}, filed automatically "
        f"{total.filed_usable} ({rate:.2%}); triage {total.triage}; dropped {total.dropped}"
    )
    return total, "\n".join(lines)


async def test_reply_matching_corpus_files_nothing_on_a_wrong_case() -> None:
    corpus = build_corpus(n_cases=80, seed=1)
    tallies, failures = await run_corpus(corpus)
    total, report = _report(tallies)
    print("\n" + report)
    assert total.total >= 400
    # every kind of message the issue names is in the corpus
    for category in (
        "forwarded to a partner",
        "reply (replace)",
        "auto-acknowledgement",
        "out of office",
        "bounce of our mail",
        "HTML-only reply",
        "a different vendor quoting our token",
        "reply to another hub instance",
        "vendor number only",
        "sender domain only (several open cases)",
        "our own mail looping back",
    ):
        assert tallies[category].total > 0, category
    assert total.wrong == 0, "\n".join(f for f in failures if f.startswith("WRONG"))
    assert total.filed_usable / total.usable >= 0.99, "\n".join(failures[:20])
    assert not [f for f in failures if f.startswith("own mail")]
    # the triage queue is there for real: the messages without a usable signal land in it
    assert (
        total.triage
        >= tallies["reply to another hub instance"].total + tallies["noise (newsletter, stranger)"].total
    )


async def test_corpus_with_other_seeds_stays_clean() -> None:
    for seed in (2, 3):
        tallies, failures = await run_corpus(build_corpus(n_cases=40, seed=seed))
        total, report = _report(tallies)
        assert total.wrong == 0, report
        assert total.filed_usable / total.usable >= 0.99, report + "\n" + "\n".join(failures[:10])
