"""End to end in the loopback mail world: the hub's mail goes out over real SMTP to the
simulated vendors, their answers come back into a real IMAP mailbox, the poller reads
them and the ladder files them on the right case."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from hub.mail.compose import Composer, OutboundRequest
from hub.mail.imap import ImapCursor, ImapPoller
from hub.mail.match import Action, CaseRef, Matcher, VendorRef
from hub.mail.parse import MessageParser
from hub.mail.simulator import DEFAULT_PERSONAS
from hub.mail.smtp import SendKind, SmtpSender
from hub.mail.world import MailWorld
from tests.mail.corpus import OURS
from tests.mail.memory_lookup import MemoryLookup


async def test_vendor_answers_travel_the_mail_world_and_land_on_their_case() -> None:
    personas = {p.key: p for p in DEFAULT_PERSONAS}
    lookup = MemoryLookup()
    for p in DEFAULT_PERSONAS:
        lookup.add_vendor(VendorRef(p.key, frozenset({p.domain})))
    composer = Composer(OURS)
    async with MailWorld.start(time_scale=0.0002) as world:
        sender = SmtpSender(world.smtp_settings())
        tokens = {"mailhost": "MHAAA", "ironbox": "1BAAA", "carrierone": "CRAAA", "blackhole": "BHAAA"}
        for key, token in tokens.items():
            mail = composer.compose(
                OutboundRequest(
                    token=token,
                    seq=1,
                    to=(personas[key].support_address,),
                    kind="open",
                    context={
                        "title": f"Problem with {key}",
                        "client_name": "Rossi Srl",
                        "description": "Down.",
                    },
                ),
                now=datetime(2026, 12, 7, 9, tzinfo=UTC),
            )
            lookup.add_case(CaseRef(f"case-{key}", token, key), mail.message_id)
            outcome = await sender.send(mail.as_bytes(), sender=OURS.from_address, recipients=mail.recipients)
            assert outcome.kind is SendKind.sent
        await asyncio.wait_for(world.simulator.drain(), 30)
        assert len(world.sink.received) == 4
        assert len(world.simulator.received["blackhole"]) == 1  # it got our mail and never answers

        parser, matcher = MessageParser(), Matcher(OURS)
        filed: dict[str, list[str]] = {}
        cursor: ImapCursor | None = None
        async with ImapPoller(
            world.imap_settings(batch_size=3, outcome_folders={"triage": "Triage"})
        ) as poller:
            async for fetched in poller.fetch_new(cursor):
                msg = parser.parse(fetched.raw)
                decision = await matcher.match(msg, lookup)
                assert decision.action is Action.file, (msg.subject, decision)
                filed.setdefault(decision.case_id or "", []).append(msg.kind.value)
                if msg.message_id:
                    lookup.message_ids[msg.message_id] = decision.case_id or ""
                cursor = fetched.cursor
            assert cursor is not None
            assert [f async for f in poller.fetch_new(cursor)] == []
    # the scripted answers: acknowledgement, question, update, resolution (the forwarder's
    # partner answers instead of the vendor), and nothing at all from the silent vendor
    # (delivery order between close answers is up to the server)
    assert sorted(filed["case-mailhost"]) == ["auto_generated", "human", "human", "human"]
    assert sorted(filed["case-ironbox"]) == ["auto_generated", "human", "human", "human"]
    assert sorted(filed["case-carrierone"]) == ["auto_generated", "human"]
    assert "case-blackhole" not in filed
