"""Mail benchmark: parse and match 10,000 vendor messages (the reply-matching corpus of
tests/mail/corpus.py, scaled up), and optionally ingest them from a real IMAP server.

    .venv/bin/python -m tests.bench.bench_mail                   # 10,000 messages, parse + match
    .venv/bin/python -m tests.bench.bench_mail --messages 2000 --imap   # + poll them from pymap

Figures: messages/s and CPU (process time) per message for parsing, for matching (over the
in-memory lookup: the database's share is not in it), and for both; with --imap, the
poller's fetch rate from the loopback pymap server. Correctness at scale is printed too
(messages on a wrong case must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from hub.mail.imap import ImapCursor, ImapPoller
from hub.mail.match import Action, Matcher
from hub.mail.parse import MessageParser
from hub.mail.world import LoopbackImapServer
from tests.mail.corpus import OURS, build_corpus
from tests.mail.test_corpus import _report, run_corpus


def _cases_for(messages: int) -> int:
    return max(20, round(messages / 5.0))  # the corpus yields about 5.3 messages per case: cut to size


async def bench(messages: int, imap: bool, seed: int) -> int:
    started = time.perf_counter()
    corpus = build_corpus(n_cases=_cases_for(messages), seed=seed)
    samples = corpus.samples[:messages]
    corpus.samples = samples
    print(
        f"corpus: {len(samples)} messages, {len(corpus.lookup.cases)} cases, "
        f"{sum(len(s.raw) for s in samples) / len(samples):.0f} bytes on average, "
        f"built in {time.perf_counter() - started:.1f} s"
    )

    parser = MessageParser()
    wall, cpu = time.perf_counter(), time.process_time()
    parsed = [parser.parse(s.raw) for s in samples]
    parse_wall, parse_cpu = time.perf_counter() - wall, time.process_time() - cpu

    matcher = Matcher(OURS)
    per_message: list[float] = []
    wall, cpu = time.perf_counter(), time.process_time()
    for msg in parsed:
        t = time.perf_counter()
        await matcher.match(msg, corpus.lookup)
        per_message.append(time.perf_counter() - t)
    match_wall, match_cpu = time.perf_counter() - wall, time.process_time() - cpu

    n = len(samples)
    print(f"{'phase':8} {'msg/s':>9} {'CPU µs/msg':>11}")
    for name, w, c in (
        ("parse", parse_wall, parse_cpu),
        ("match", match_wall, match_cpu),
        ("both", parse_wall + match_wall, parse_cpu + match_cpu),
    ):
        print(f"{name:8} {n / w:9.0f} {c / n * 1e6:11.0f}")
    per_message.sort()
    print(
        f"match latency: median {statistics.median(per_message) * 1e6:.0f} µs, "
        f"p99 {per_message[int(len(per_message) * 0.99)] * 1e6:.0f} µs"
    )

    # Correctness at this scale. Matching above is read-only, so the same corpus serves:
    # the corpus run plays the case service (stores Message-IDs, learns numbers) as it goes.
    tallies, _ = await run_corpus(corpus)
    total, report = _report(tallies)
    print(report)

    if imap:
        server = LoopbackImapServer()
        server.start()
        try:
            t = time.perf_counter()
            for start in range(0, n, 500):
                server.append_sync([s.raw for s in samples[start : start + 500]])
            print(f"imap: {n} messages appended in {time.perf_counter() - t:.1f} s")
            wall, cpu = time.perf_counter(), time.process_time()
            got = 0
            cursor: ImapCursor | None = None
            async with ImapPoller(server.settings(batch_size=100, max_messages=1000)) as poller:
                while True:
                    batch = 0
                    async for fetched in poller.fetch_new(cursor):
                        msg = parser.parse(fetched.raw)
                        decision = await matcher.match(msg, corpus.lookup)
                        assert decision.action in (Action.file, Action.triage, Action.drop)
                        cursor = fetched.cursor
                        batch += 1
                    got += batch
                    if not batch:
                        break
            w, c = time.perf_counter() - wall, time.process_time() - cpu
            print(
                f"imap ingest (poll + parse + match): {got} messages, {got / w:.0f} msg/s, "
                f"hub-process CPU {c / got * 1e6:.0f} µs/msg (the server runs in its own process)"
            )
        finally:
            server.stop()
    return 1 if total.wrong else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument(
        "--imap", action="store_true", help="also ingest the messages from a loopback pymap server"
    )
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    sys.exit(asyncio.run(bench(args.messages, args.imap, args.seed)))


if __name__ == "__main__":
    main()
