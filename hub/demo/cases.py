"""The demo's vendor cases, made through the real services while a mail world runs on
loopback (`hub.mail.world`: an SMTP server standing in for the vendors' mail servers, the
vendor mailbox simulator behind it, a real IMAP server holding the hub's cases mailbox):

- SPF failing at colombologistics.com: opened from the failing check, sent to the mail
  host, which only acknowledged it: waiting on the vendor, its clock running;
- DMARC `p=none` at panificioesposito.it: the mail host answers with its case number and
  later says it is resolved; the demo then publishes the fix in the demo DNS server (what
  the vendor would have done) and the re-verification job re-runs the check: resolved;
- a silent telephony vendor: breaching, a chaser sent (time is faked: the case is opened
  a day in the past through the runtime's clock, then the chasers run at the real now);
- a Dell server part dispatched through the Dell TechDirect API (`hub.case.desk`), when
  the demo's Dell connection is up: the work order number is the vendor's case number,
  and one round of the API poll (`hub.case.api_poll`) files Dell's intake status;
- a message nobody can place (an unknown sender, no reference) in triage;
- the ISP outage: the line probing a dead loopback port is probed until it is down and
  `hub.case.outage` opens its case with the ISP.

Idempotent: each demo case is known by its client and title (the outage case by its
line); when all exist, nothing runs (not even the mail world). The mail world lives only
while the cases are made: `hub serve` afterwards has no SMTP or IMAP configured, so later
mail stays queued in the outbox."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import Principal
from hub.case import api_poll, chasers, desk, outage, outbox, poller, service
from hub.case.schemas import CaseCreate, MailProfileWrite
from hub.case.timeline import CLOCK_RUNNING
from hub.db import session_scope
from hub.demo.world import DNS, DemoWorld, DnsService
from hub.demo.zones import SPF_FAIL_DOMAIN, txt
from hub.jobs import JobContext, queue
from hub.jobs.worker import run_task
from hub.line import service as lines
from hub.line.probe import probe_round
from hub.mail.simulator import Step, VendorPersona
from hub.mail.world import MailWorld
from hub.models import (
    Asset,
    CaseEvent,
    CaseMail,
    Check,
    Client,
    Connection,
    Domain,
    IspLine,
    TriageItem,
    Vendor,
    VendorAccount,
    VendorCase,
    VendorMailProfile,
)
from hub.models.enums import CaseChannel, CaseEventKind, CaseSeverity, Role, TriageState, VendorCategory
from hub.sdk.records import PartRequest

DEMO = Principal(actor="demo", role=Role.admin)
DMARC_DOMAIN = "panificioesposito.it"
SPF_TITLE = f"SPF check failing for {SPF_FAIL_DOMAIN}"
DMARC_TITLE = f"DMARC check failing for {DMARC_DOMAIN}"
BREACH_TITLE = "SIP trunk drops calls after 30 minutes"
API_TITLE = "Power supply failure on a PowerEdge server"
TRIAGE_MESSAGE_ID = "demo-unplaced-invoice@billing.unknown-vendor.example"
DELL_ADAPTER = "dell_techdirect"
WORKER = "demo-cases"
# (what is made, the plan's field it is made from; the triage message needs nothing).
_PLANNED: tuple[tuple[str, str | None], ...] = (
    ("spf", "spf"),
    ("dmarc", "dmarc"),
    ("breach", "breach"),
    ("api", "dell"),
    ("line", "line"),
    ("triage", None),
)


@dataclass
class CaseRow:
    client: str
    vendor: str
    title: str
    status: str
    channel: str
    vendor_case_number: str | None
    breaching: bool
    chasers: int


@dataclass
class DemoCasesOutcome:
    created: int
    triage_open: int  # messages waiting in triage (the demo's own and any other)
    skipped: list[str]
    rows: list[CaseRow]


def _domain_of(vendor: Vendor) -> str:
    # .example (RFC 2606): a demo profile can never reach a real vendor, whatever SMTP
    # server is configured later.
    return re.sub(r"[^a-z0-9]+", "-", vendor.name.lower()).strip("-") + ".vendors.example"


def _persona(vendor: Vendor, key: str, script: tuple[Step, ...], *, silent: bool = False) -> VendorPersona:
    return VendorPersona(key, vendor.name, _domain_of(vendor), "salesforce", script=script, silent=silent)


@dataclass
class _Plan:
    """What the demo cases are made from (None: not in this database)."""

    spf: tuple[uuid.UUID, uuid.UUID, Vendor] | None = None  # check, account, vendor
    dmarc: tuple[uuid.UUID, uuid.UUID, Vendor] | None = None
    breach: tuple[uuid.UUID, Vendor] | None = None
    dell: tuple[uuid.UUID, uuid.UUID, str, uuid.UUID] | None = None  # asset, account, serial, connection
    line: tuple[uuid.UUID, Vendor] | None = None


async def _domain_check(
    session: AsyncSession, name: str, kind: str
) -> tuple[uuid.UUID, uuid.UUID, Vendor] | None:
    domain = (await session.execute(select(Domain).where(Domain.name == name))).scalar_one_or_none()
    if domain is None or domain.mail_host_account_id is None:
        return None
    check = (
        await session.execute(
            select(Check).where(Check.kind == kind, Check.target_ref == str(domain.id)).limit(1)
        )
    ).scalar_one_or_none()
    account = await session.get(VendorAccount, domain.mail_host_account_id)
    if check is None or account is None:
        return None
    vendor = await session.get(Vendor, account.vendor_id)
    assert vendor is not None
    return check.id, account.id, vendor


async def _plan(session: AsyncSession) -> _Plan:
    plan = _Plan(
        spf=await _domain_check(session, SPF_FAIL_DOMAIN, "spf"),
        dmarc=await _domain_check(session, DMARC_DOMAIN, "dmarc"),
    )
    phone = (
        await session.execute(
            select(VendorAccount, Vendor)
            .join(Vendor, Vendor.id == VendorAccount.vendor_id)
            .join(Client, Client.id == VendorAccount.client_id)
            .where(Vendor.category == VendorCategory.telephony, Client.archived_at.is_(None))
            .order_by(Client.name, Vendor.name)
            .limit(1)
        )
    ).first()
    if phone is not None:
        plan.breach = (phone[0].id, phone[1])
    connection = (
        await session.execute(
            select(Connection.id)
            .where(Connection.adapter_slug == DELL_ADAPTER, Connection.enabled.is_(True))
            .limit(1)
        )
    ).scalar_one_or_none()
    asset = (
        await session.execute(
            select(Asset)
            .where(
                Asset.manufacturer.ilike("dell%"),
                Asset.serial.is_not(None),
                Asset.vendor_account_id.is_not(None),
            )
            .order_by(Asset.name)
            .limit(1)
        )
    ).scalar_one_or_none()
    if connection is not None and asset is not None and asset.serial and asset.vendor_account_id:
        plan.dell = (asset.id, asset.vendor_account_id, asset.serial, connection)
    # The demo's probed line (the one probing a dead loopback port); JSON has no portable
    # "not empty" test, so the few lines are read.
    probed = (await session.execute(select(IspLine).order_by(IspLine.circuit_id))).scalars()
    line = next((x for x in probed if x.probe_targets), None)
    if line is not None:
        isp = await session.get(VendorAccount, line.vendor_account_id)
        vendor = await session.get(Vendor, isp.vendor_id) if isp is not None else None
        if vendor is not None:
            plan.line = (line.id, vendor)
    return plan


async def _case_titled(session: AsyncSession, account_id: uuid.UUID, title: str) -> VendorCase | None:
    return (
        await session.execute(
            select(VendorCase)
            .where(VendorCase.vendor_account_id == account_id, VendorCase.title == title)
            .limit(1)
        )
    ).scalar_one_or_none()


async def _line_case(session: AsyncSession, line_id: uuid.UUID) -> VendorCase | None:
    return (
        await session.execute(select(VendorCase).where(VendorCase.line_id == line_id).limit(1))
    ).scalar_one_or_none()


async def _ensure_profile(session: AsyncSession, persona: VendorPersona, vendor: Vendor, sla: str) -> None:
    """The vendor's mail profile pointing at its simulated desk; a profile already there
    (the demo's own from an earlier run, or one a technician set) is left alone."""
    if await session.get(VendorMailProfile, vendor.id) is not None:
        return
    await service.put_mail_profile(
        session,
        DEMO,
        vendor.id,
        MailProfileWrite(
            language="it" if persona.language == "it" else "en",
            support_email=persona.support_address,
            mail_domains=[persona.domain],
            sla_first_response=sla,
        ),
    )


def _unplaced_message(now: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Billing <billing@unknown-vendor.example>"
    msg["To"] = "cases@hub.invalid"
    msg["Subject"] = "Your invoice for November"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{TRIAGE_MESSAGE_ID}>"
    msg.set_content("Hello,\n\nplease find your invoice attached. Which of your clients is it for?\n")
    return msg.as_bytes()


def _publish_dmarc_fix(world: DemoWorld) -> None:
    """The mail host's fix, as it would appear in DNS: the DMARC record replaced in the demo
    DNS server (for as long as this world runs; each `hub demo` publishes it again once
    its DMARC case exists, so the demo checks agree with the resolved case)."""
    name = f"_dmarc.{DMARC_DOMAIN}"
    text = txt(f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{DMARC_DOMAIN}; adkim=r; aspf=r")
    service_ = world.services.get(DNS)
    if not isinstance(service_, DnsService):
        return
    owner = dns.name.from_text(name)
    rrset = dns.rrset.from_text(owner, 300, dns.rdataclass.IN, dns.rdatatype.TXT, text)
    service_.server.records[(owner, dns.rdatatype.TXT)] = rrset


async def _run_jobs(runtime: Any, kind: str) -> int:
    ran = 0
    while True:
        async with runtime.unit_of_work() as session:
            claimed = await queue.claim(session, WORKER, [kind], 1, timedelta(seconds=120))
        if not claimed:
            return ran
        await run_task(JobContext.of(runtime, claimed[0], WORKER))
        ran += 1


async def ensure_demo_cases(runtime: Any, world: DemoWorld) -> DemoCasesOutcome:
    """Make whichever demo cases are missing; returns them all with their states."""
    async with runtime.unit_of_work(write=False) as session:
        plan = await _plan(session)
        have = {
            "spf": plan.spf is not None and await _case_titled(session, plan.spf[1], SPF_TITLE) is not None,
            "dmarc": plan.dmarc is not None
            and await _case_titled(session, plan.dmarc[1], DMARC_TITLE) is not None,
            "breach": plan.breach is not None
            and await _case_titled(session, plan.breach[0], BREACH_TITLE) is not None,
            "api": plan.dell is not None and await _case_titled(session, plan.dell[1], API_TITLE) is not None,
            "line": plan.line is not None and await _line_case(session, plan.line[0]) is not None,
        }
        have["triage"] = (
            await session.execute(
                select(CaseMail.id).where(CaseMail.message_id.contains(TRIAGE_MESSAGE_ID)).limit(1)
            )
        ).first() is not None
    skipped = [
        name
        for name, found in (
            ("spf", plan.spf),
            ("dmarc", plan.dmarc),
            ("breach", plan.breach),
            ("api", plan.dell),
            ("line", plan.line),
        )
        if found is None
    ]
    created = 0
    now = runtime.now()
    if have["dmarc"]:
        _publish_dmarc_fix(world)
    # Nothing missing that this database can make: no mail world at all.
    if all(have[key] for key, source in _PLANNED if source is None or getattr(plan, source) is not None):
        async with runtime.unit_of_work(write=False) as session:
            return DemoCasesOutcome(0, await _triage_open(session), skipped, await case_rows(session, now))
    personas: list[VendorPersona] = []
    if plan.spf and not have["spf"]:
        personas.append(_persona(plan.spf[2], "spf", (Step(1, "auto_ack"),)))
    if plan.dmarc and not have["dmarc"]:
        script = (Step(1, "auto_ack"), Step(300, "update"), Step(900, "resolved"))
        personas.append(_persona(plan.dmarc[2], "dmarc", script))
    if plan.breach and not have["breach"]:
        personas.append(_persona(plan.breach[1], "breach", (), silent=True))
    if plan.line and not have["line"]:
        personas.append(_persona(plan.line[1], "line", (Step(1, "auto_ack"),)))
    # A vendor may be behind two demo cases: one persona per support address.
    personas = list({p.support_address: p for p in personas}.values())
    async with MailWorld.start(personas, time_scale=0.0005) as mail:
        imap = mail.imap_settings()
        saved = runtime.settings
        runtime.use_settings(
            case={
                "smtp_host": "127.0.0.1",
                "smtp_port": mail.smtp_port,
                "smtp_security": "none",
                "smtp_timeout_seconds": 10,
                "imap_host": imap.host,
                "imap_port": imap.port,
                "imap_security": "none",
                "imap_username": imap.username,
                "imap_password": imap.password.get_secret_value(),
            },
            check=world.check_overrides(),
        )
        try:
            created = await _make(runtime, world, mail, plan, have)
        finally:
            runtime.settings = saved
    async with runtime.unit_of_work(write=False) as session:
        rows = await case_rows(session, runtime.now())
        return DemoCasesOutcome(created, await _triage_open(session), skipped, rows)


async def _triage_open(session: AsyncSession) -> int:
    found = await session.execute(select(func.count()).where(TriageItem.state == TriageState.open))
    return int(found.scalar_one())


async def _exchange(runtime: Any, mail: MailWorld) -> None:
    """Our outbox to the vendors, their answers to our mailbox, the mailbox to the cases."""
    units = lambda: session_scope(runtime.sessionmaker)  # noqa: E731
    await outbox.send_due(units, runtime.now(), runtime.settings.case)
    await mail.simulator.drain()
    await poller.poll(units, runtime.now, runtime.settings.case)


async def _make(runtime: Any, world: DemoWorld, mail: MailWorld, plan: _Plan, have: dict[str, bool]) -> int:
    created = 0
    by_vendor = {p.name: p for p in mail.simulator.personas.values()}
    async with runtime.unit_of_work() as session:
        for found, sla in ((plan.spf, "8h"), (plan.dmarc, "8h"), (plan.breach, "4h"), (plan.line, "4h")):
            if found is not None:
                vendor = found[-1]
                assert isinstance(vendor, Vendor)
                if vendor.name in by_vendor:
                    await _ensure_profile(session, by_vendor[vendor.name], vendor, sla)
    async with runtime.unit_of_work() as session:
        for key, found, title in (("spf", plan.spf, SPF_TITLE), ("dmarc", plan.dmarc, DMARC_TITLE)):
            if found is not None and not have[key]:
                check_id, account_id, _ = found
                await service.create_case(
                    session,
                    DEMO,
                    CaseCreate(vendor_account_id=account_id, check_id=check_id, title=title, submit=True),
                )
                created += 1
    if plan.breach and not have["breach"]:
        # Faked time: the case is opened a day ago (the runtime's clock set back for the
        # moment), so that its 4-hour first-response target is long past now.
        real_clock = runtime.clock
        opened = real_clock() - timedelta(days=1)
        runtime.clock = lambda: opened
        try:
            async with runtime.unit_of_work() as session:
                await service.create_case(
                    session,
                    DEMO,
                    CaseCreate(
                        vendor_account_id=plan.breach[0],
                        title=BREACH_TITLE,
                        description="Every call through the trunk is cut after exactly 30 minutes.",
                        severity=CaseSeverity.high,
                        sla_first_response="4h",
                        submit=True,
                    ),
                )
        finally:
            runtime.clock = real_clock
        created += 1
    if plan.line and not have["line"]:
        created += await _outage(runtime, plan.line[0])
    await _exchange(runtime, mail)
    if plan.breach and not have["breach"]:
        async with runtime.unit_of_work() as session:
            await chasers.chase(session, runtime.now(), runtime.settings.case)
        await _exchange(runtime, mail)
    if plan.dmarc and not have["dmarc"]:
        # The vendor said it is resolved; its fix, published, and the re-check job run.
        _publish_dmarc_fix(world)
        await _run_jobs(runtime, "case.verify")
    # A message nobody can place: no reference, an unknown sender (the same Message-ID
    # every run: a second demo's copy is recognised as a duplicate).
    await mail.imap.append(_unplaced_message(runtime.now()))
    await poller.poll(lambda: session_scope(runtime.sessionmaker), runtime.now, runtime.settings.case)
    if plan.dell and not have["api"]:
        created += await _api_case(runtime, plan.dell)
    return created


async def _outage(runtime: Any, line_id: uuid.UUID) -> int:
    """Probe rounds against the line's dead port until it is down, then the outage job's
    own function opens the case."""
    settings = runtime.settings.line
    for _ in range(10):
        async with runtime.unit_of_work() as session:
            line = await session.get(IspLine, line_id)
            if line is None or line.state.value == "down":
                break
            probe = await lines.plan_probe(session, line_id)
        if probe is None:
            return 0
        results = await probe_round(
            probe.targets, timeout_seconds=settings.connect_timeout_seconds, concurrency=settings.concurrency
        )
        async with runtime.unit_of_work() as session:
            line = await session.get(IspLine, line_id)
            assert line is not None
            await lines.record_round(session, line, results, runtime.now())
    async with runtime.unit_of_work() as session:
        return len(await outage.open_outage_cases(session, runtime.now()))


async def _api_case(runtime: Any, dell: tuple[uuid.UUID, uuid.UUID, str, uuid.UUID]) -> int:
    asset_id, account_id, serial, connection_id = dell
    async with runtime.unit_of_work() as session:
        case = await service.create_case(
            session,
            DEMO,
            CaseCreate(
                vendor_account_id=account_id,
                asset_id=asset_id,
                title=API_TITLE,
                description="PSU 1 reports a failure; the server runs on its redundant supply.",
                channel=CaseChannel.api,
                severity=CaseSeverity.high,
                sla_first_response="4h",
            ),
        )
        case_id = case.id
    await desk.open_through_api(
        runtime,
        DEMO,
        case_id,
        connection_id,
        subject=serial,
        parts=(PartRequest(part_number="PSU", quantity=1),),
    )
    # One round of the periodic poll: Dell's intake status lands on the timeline.
    await api_poll.poll_case(runtime, runtime.unit_of_work, case_id)
    return 1


async def case_rows(session: AsyncSession, now: datetime) -> list[CaseRow]:
    """Every case of the hub with its state (the demo's summary)."""
    rows = (
        await session.execute(
            select(VendorCase, Client.name, Vendor.name)
            .join(Client, Client.id == VendorCase.client_id)
            .join(VendorAccount, VendorAccount.id == VendorCase.vendor_account_id)
            .join(Vendor, Vendor.id == VendorAccount.vendor_id)
            .order_by(VendorCase.created_at)
        )
    ).all()
    breaching = set(
        (
            await session.execute(
                select(VendorCase.id).where(
                    VendorCase.vendor_sla_due_at <= now, VendorCase.status.in_(CLOCK_RUNNING)
                )
            )
        ).scalars()
    )
    out = []
    for case, client, vendor in rows:
        chased = (
            await session.execute(
                select(CaseEvent.id).where(
                    CaseEvent.case_id == case.id, CaseEvent.kind == CaseEventKind.chaser
                )
            )
        ).all()
        late = case.id in breaching
        out.append(
            CaseRow(
                client=client,
                vendor=vendor,
                title=case.title,
                status=case.status.value,
                channel=case.channel.value,
                vendor_case_number=case.external_ref,
                breaching=late,
                chasers=len(chased),
            )
        )
    return out


__all__ = ["CaseRow", "DemoCasesOutcome", "case_rows", "ensure_demo_cases"]
