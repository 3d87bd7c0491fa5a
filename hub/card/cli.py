"""`hub who CLIENT [VENDOR|DOMAIN|SERIAL|IP|ACCOUNT]`: the "who to call" card in the
terminal, from the same service as the API."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from hub.kit.console import fail


def _out() -> Console:
    # Made per call: a console made at import keeps the terminal width of that moment.
    return Console()


def who(
    client: Annotated[str, typer.Argument(help="the client's slug, id or exact name")],
    what: Annotated[
        str | None,
        typer.Argument(help="a vendor, domain (or e-mail address), serial, IP address or account number"),
    ] = None,
    reveal_pin: Annotated[
        bool, typer.Option("--reveal-pin", help="also show the support PINs in clear (audited)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")] = False,
) -> None:
    """Who to call for a client: the vendor's channels and whether they are open now, the
    SLA, escalation, account numbers, open cases and what depends on the vendor."""
    from hub.auth.principal import CLI
    from hub.card.schemas import WhoAnswer
    from hub.card.service import who as find
    from hub.errors import HubError
    from hub.runtime import run_command

    async def run(runtime: Any) -> tuple[dict[str, Any], dict[str, str]]:
        async with runtime.unit_of_work(write=reveal_pin) as session:
            client_id = await _client_id(session, client)
            if client_id is None:
                raise LookupError(f"no client '{client}' (give its slug, id or exact name)")
            answer = WhoAnswer.model_validate(await find(session, CLI, client_id, what, runtime.now()))
            pins = await _reveal(session, CLI, answer) if reveal_pin else {}
            return answer.model_dump(mode="json"), pins

    try:
        answer, pins = run_command(run)
    except LookupError as exc:
        fail(str(exc))
    except HubError as exc:
        fail(exc.detail)
    if as_json:
        print(json.dumps({**answer, "support_pins": pins} if reveal_pin else answer, indent=2))
        return
    if not answer["matches"]:
        if what is None:
            fail("this client has no vendor account yet")
        fail(f"nothing of this client matches '{what}' (a vendor, domain, serial, IP or account number)")
    if what is None:
        _out().print(_overview(answer))
        return
    for match in answer["matches"]:
        _out().print(_card_panel(match, pins))


async def _client_id(session: Any, text: str) -> uuid.UUID | None:
    from sqlalchemy import or_, select

    from hub.models import Client

    try:
        as_id: uuid.UUID | None = uuid.UUID(text)
    except ValueError:
        as_id = None
    stmt = select(Client.id).where(or_(Client.slug == text, Client.name == text, Client.id == as_id))
    found: uuid.UUID | None = (await session.execute(stmt)).scalars().first()
    return found


async def _reveal(session: Any, principal: Any, answer: Any) -> dict[str, str]:
    """account number -> PIN, through the audited reveal of hub.account."""
    from hub.account.service import VendorAccountService

    pins: dict[str, str] = {}
    for match in answer.matches:
        for account in match.card.accounts:
            if account.support_pin_set and account.account_number not in pins:
                pins[account.account_number] = await VendorAccountService().reveal_pin(
                    session, principal, account.vendor_account_id
                )
    return pins


# -- rendering ------------------------------------------------------------------------------


def _when(value: str | None, zone: str) -> str:
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M")


def _open_text(channel: dict[str, Any]) -> Text:
    if channel["open_now"] is None:
        return Text(f"? {channel['problem']}", style="yellow")
    if channel["open_now"]:
        until = _when(channel["closes_at"], channel["timezone"])
        return Text("OPEN" + (f" until {until}" if until else ""), style="bold green")
    return Text(f"closed, opens {_when(channel['opens_at'], channel['timezone'])}", style="red")


def _overview(answer: dict[str, Any]) -> Table:
    table = Table(title="Vendors of this client (hub who CLIENT VENDOR for the full card)")
    for column in ("vendor", "category", "open now", "call", "accounts", "open cases", "depends"):
        table.add_column(column)
    for match in answer["matches"]:
        card = match["card"]
        phone = next((c for c in card["channels"] if c["kind"] == "phone" and c["entitled"]), None)
        deps = card["depends_on"]
        table.add_row(
            card["vendor"]["name"],
            card["vendor"]["category"],
            Text("yes", style="green") if card["open_now"] else Text("no", style="red"),
            phone["value"] if phone else "",
            ", ".join(a["account_number"] for a in card["accounts"]),
            str(len(card["open_cases"])),
            f"{len(deps['subscriptions'])} subs, {len(deps['assets'])} assets, "
            f"{len(deps['domains'])} domains",
        )
    return table


def _card_panel(match: dict[str, Any], pins: dict[str, str]) -> Panel:
    card = match["card"]
    parts: list[Any] = [Text("why: " + "; ".join(match["why"]), style="italic")]
    for check in match["failing_checks"]:
        parts.append(Text(f"failing check: {check['kind']} ({check['status']})", style="red"))
    parts += [
        _channels(card),
        _sla(card),
        _escalation(card),
        _accounts(card, pins),
        _cases(card),
        _depends(card),
    ]
    title = f"{card['vendor']['name']} for {card['client']['name']}"
    return Panel(Group(*[p for p in parts if p is not None]), title=title, title_align="left")


def _channels(card: dict[str, Any]) -> Table:
    table = Table(title="Support channels (vendor's time zone)", title_justify="left")
    for column in ("kind", "contact", "hours", "now there", "status", "for"):
        table.add_column(column)
    for c in card["channels"]:
        levels = ", ".join(c["levels"]) if c["levels"] else "everyone"
        table.add_row(
            c["kind"] + (f" ({c['label']})" if c["label"] else ""),
            c["value"],
            c["hours"],
            c["local_time"],
            _open_text(c),
            levels if c["entitled"] else Text(f"{levels} (not entitled)", style="dim"),
        )
    return table


def _sla(card: dict[str, Any]) -> Table | None:
    if not card["sla"]:
        return None
    table = Table(title="SLA of this client's entitlements", title_justify="left")
    for column in ("from", "level", "first response", "resolution", "a case opened now: answer by"):
        table.add_column(column)
    for s in card["sla"]:
        source = s["source"]
        if s["assets"]:
            source += f" ({len(s['assets'])} assets)"
        level = s["level"] or "vendor default"
        if s["level"] and not s["matched_level"]:
            level += " (no SLA known for this level)"
        due = s["first_response_due_if_opened_now"]
        table.add_row(
            source,
            level,
            s["first_response"] or "",
            (s["resolution"] or "") + (" on site" if s.get("onsite") else ""),
            f"{_when(due, s['timezone'])} ({s['timezone']})" if due else "",
        )
    return table


def _escalation(card: dict[str, Any]) -> Table | None:
    if not card["escalation"]:
        return None
    table = Table(title="Escalation", title_justify="left")
    for column in ("level", "who", "contact", "after (h)", "people"):
        table.add_column(column)
    for e in card["escalation"]:
        people = "; ".join(
            " ".join(x for x in (p["name"], p["email"] or "", p["phone"] or "") if x) for p in e["people"]
        )
        table.add_row(str(e["level"]), e["name"], e["contact"], str(e["after_hours"] or ""), people)
    return table


def _accounts(card: dict[str, Any], pins: dict[str, str]) -> Table:
    table = Table(title="Our accounts", title_justify="left")
    for column in ("account", "contract", "level", "holder", "may authorise", "PIN"):
        table.add_column(column)
    for a in card["accounts"]:
        authorisers = ", ".join(p["name"] for p in a["authorisers"]) or (a["authorised_by"] or "")
        if a["account_number"] in pins:
            pin = Text(pins[a["account_number"]], style="bold")
        elif a["support_pin_set"]:
            pin = Text("on file (--reveal-pin)")
        else:
            pin = Text("none", style="dim")
        table.add_row(
            a["account_number"],
            a["contract_number"] or "",
            a["support_level"] or "",
            a["account_holder"] or "",
            authorisers,
            pin,
        )
    return table


def _cases(card: dict[str, Any]) -> Table | Text:
    if not card["open_cases"]:
        return Text("No open case with this vendor.", style="dim")
    table = Table(title="Open cases with this vendor", title_justify="left")
    for column in ("title", "status", "severity", "vendor's number", "opened"):
        table.add_column(column)
    for c in card["open_cases"]:
        table.add_row(
            c["title"],
            c["status"],
            c["severity"],
            c["vendor_case_number"] or "",
            _when(c["opened_at"], "UTC"),
        )
    return table


def _depends(card: dict[str, Any]) -> Table:
    deps = card["depends_on"]
    table = Table(title="What depends on this vendor", title_justify="left")
    table.add_column("what")
    table.add_column("details")
    for s in deps["subscriptions"]:
        ends = f", ends {s['ends_on']}" if s["ends_on"] else ""
        table.add_row("subscription", f"{s['product']} x{s['quantity']} ({s['status']}{ends})")
    for a in deps["assets"]:
        warranty = f", {a['warranty_level']} to {a['warranty_ends_on']}" if a["warranty_level"] else ""
        table.add_row("asset", f"{a['name']} {a['model'] or ''} s/n {a['serial'] or '-'}{warranty}")
    for d in deps["domains"]:
        table.add_row("domain", f"{d['name']} ({', '.join(d['roles'])})")
    return table
