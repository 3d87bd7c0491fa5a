"""`hub check ...`: checks for technicians (one domain, readable) and for bulk runs and
benchmarks (files in, JSON lines out, progress on stderr)."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hub.check.context import CheckContext
from hub.check.dns.client import DnsStats, parse_nameserver
from hub.check.dns.dnsbl_bulk import run_dnsbl
from hub.check.dns.dnsbl_zones import Zone
from hub.check.engine import DNS_KINDS, DOMAIN_KINDS, DomainOptions, DomainReport, check_domain, check_domains
from hub.check.enums import CheckStatus
from hub.check.findings import Severity
from hub.check.kinds.dkim import DkimParams
from hub.check.settings import CheckSettings
from hub.check.workers import dnsbl_in_workers, domains_in_workers, options_for, run_loop
from hub.kit.console import fail, progress_bar
from hub.kit.domain_names import normalise_domain
from hub.kit.textfile import FileProblem, content_lines, load_json, read_text

app = typer.Typer(help="Mail, DNS, block-list, expiry and firmware checks.", no_args_is_help=True)
err = Console(stderr=True)
out = Console()

KIND_TITLES = {
    "dns_zone": "NS / SOA / CAA",
    "mx": "MX and reverse DNS",
    "spf": "SPF",
    "dmarc": "DMARC",
    "dkim": "DKIM",
    "tlsrpt": "TLS reporting",
    "domain_expiry": "Registration (RDAP)",
}
SEVERITY_STYLE = {
    Severity.critical: "bold white on red",
    Severity.error: "bold red",
    Severity.warning: "yellow",
    Severity.info: "cyan",
}
STATUS_STYLE = {
    CheckStatus.ok: "green",
    CheckStatus.warn: "yellow",
    CheckStatus.fail: "bold red",
    CheckStatus.unknown: "magenta",
    CheckStatus.pending: "dim",
}

NameserverOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--nameserver",
        "-n",
        help="HOST[:PORT] to send every query to (repeatable); default HUB_DNS_NAMESERVERS",
    ),
]
TimeoutOpt = Annotated[float | None, typer.Option("--timeout", help="seconds per DNS query")]
RdapBaseOpt = Annotated[str | None, typer.Option("--rdap-base", help="RDAP base URL to ask for every domain")]
RdapBootstrapOpt = Annotated[
    str | None, typer.Option("--rdap-bootstrap", help="URL of the RDAP bootstrap file")
]
NoRdapOpt = Annotated[bool, typer.Option("--no-rdap", help="skip the registration expiry check")]
ConcurrencyOpt = Annotated[int | None, typer.Option("--concurrency", help="targets checked at the same time")]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", min=1, help="processes to share the targets between (default: one per CPU)"),
]


# Below a few hundred targets a second process costs more to start than it saves.
DOMAIN_WORKERS_FROM = 200
DNSBL_WORKERS_FROM = 50_000


def _workers(requested: int | None, targets: int, default_at: int = DOMAIN_WORKERS_FROM) -> int:
    wanted = requested or (os.cpu_count() or 1 if targets >= default_at else 1)
    return max(1, min(wanted, targets))


def make_settings(
    nameserver: list[str] | None,
    timeout: float | None = None,
    rdap_base: str | None = None,
    rdap_bootstrap: str | None = None,
    concurrency: int | None = None,
) -> CheckSettings:
    settings = CheckSettings()
    update: dict[str, Any] = {}
    if nameserver:
        for ns in nameserver:
            try:
                parse_nameserver(ns)
            except ValueError as exc:
                raise typer.BadParameter(f"{ns!r}: {exc}", param_hint="--nameserver") from None
        update["dns_nameservers"] = nameserver
    if timeout is not None:
        update["dns_timeout"] = timeout
    if rdap_base:
        update["rdap_base_url"] = rdap_base
    if rdap_bootstrap:
        update["rdap_bootstrap_url"] = rdap_bootstrap
    if concurrency:
        update["check_concurrency"] = concurrency
    return settings.model_copy(update=update)


# RFC 6376 §3.1: a selector is one or more DNS labels (underscores are seen in the wild).
_SELECTOR = re.compile(
    r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$"
)
# Columns of a spreadsheet export (a space inside a name is a bad name, reported per line).
_COLUMNS = re.compile(r"[,;\t]")


def read_targets(path: Path, what: str) -> list[tuple[int, str]]:
    """(line, text) of a one-per-line file: comments (`#`) and blank lines skipped; an
    empty list, or a line with columns (a spreadsheet export), is a FileProblem naming
    the line."""
    lines = content_lines(read_text(path))
    if not lines:
        raise FileProblem(str(path), 1, f"no {what} in the file (one per line; '#' starts a comment)")
    for number, content in lines:
        columns = len(_COLUMNS.split(content))
        if columns > 1:
            raise FileProblem(
                str(path), number, f"one {what} per line expected, found {columns} columns: {content[:60]!r}"
            )
    return lines


def _selector(name: str, line: int, text: str) -> str:
    if not _SELECTOR.match(text):
        raise FileProblem(
            name, line, f"{text[:60]!r} is not a DKIM selector (DNS labels: letters, digits, '-')"
        )
    return text


def _domain(name: str, line: int, text: str) -> str:
    try:
        return normalise_domain(text)
    except ValueError as exc:
        raise FileProblem(name, line, f"{text[:60]!r} is not a domain name: {exc}") from None


def read_selectors(path: Path) -> dict[str, list[str]]:
    """DKIM selectors, as text lines: `selector` (used for every domain), `example.com s1
    s2` (that domain's), `* s1 s2` (every domain's); or JSON `{"example.com": ["s1"],
    "*": ["s2"]}`. Anything else is a FileProblem naming the line."""
    name, text = str(path), read_text(path)
    selectors: dict[str, list[str]] = {}
    if text.lstrip("\ufeff \t\r\n").startswith("{"):
        raw, lines = load_json(text, name)
        for key, value in raw.items():
            line = lines.get(key, 1)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise FileProblem(name, line, f'{key!r}: expected a list of selectors, e.g. ["selector1"]')
            domain = "*" if key == "*" else _domain(name, line, key)
            selectors.setdefault(domain, []).extend(_selector(name, line, v) for v in value)
    else:
        for line, content in content_lines(text):
            first, *rest = content.replace(",", " ").split()
            if not rest:  # a plain list: one selector per line, for every domain
                selectors.setdefault("*", []).append(_selector(name, line, first))
                continue
            domain = "*" if first == "*" else _domain(name, line, first)
            selectors.setdefault(domain, []).extend(_selector(name, line, v) for v in rest)
    if not selectors:
        raise FileProblem(name, 1, "no selectors in the file (one per line, or 'domain s1 s2' lines)")
    return selectors


def read_zones(path: Path) -> list[Zone]:
    """ZONES.json: a list of zone objects; a problem names the line of its entry."""
    name = str(path)
    raw, lines = load_json(read_text(path), name)
    if not isinstance(raw, list):
        raise FileProblem(name, 1, 'expected a JSON list of zones, e.g. [{"zone": "zen.spamhaus.org"}]')
    if not raw:
        raise FileProblem(name, 1, "no zones in the file")
    zones = []
    for index, entry in enumerate(raw):
        try:
            zones.append(Zone.model_validate(entry))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            reason = f"zone {index + 1}: {where + ': ' if where else ''}{first['msg']}"
            raise FileProblem(name, lines.get(index, 1), reason) from None
    return zones


def render_report(report: DomainReport, console: Console) -> None:
    console.print(
        Text.assemble(
            ("Domain ", "bold"),
            (report.domain, "bold cyan"),
            ("  status ", "bold"),
            (report.status.value.upper(), STATUS_STYLE[report.status]),
        )
    )
    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("Check")
    table.add_column("Status")
    table.add_column("Severity")
    # A finding code is what people search for and quote: never cut, whatever the width
    # (80 columns squeezed it to "spf_too_many_l…"); the message wraps instead.
    longest = max((len(c) for c in report.codes), default=4)
    table.add_column("Code", no_wrap=True, min_width=longest)
    table.add_column("Finding", overflow="fold", ratio=1)
    for kind, result in report.results.items():
        title = KIND_TITLES.get(kind, kind)
        status = Text(result.status.value, style=STATUS_STYLE[result.status])
        rows: list[tuple[Text, Text, str]] = [
            (Text(f.severity.value, style=SEVERITY_STYLE[f.severity]), Text(f.code), f.message)
            for f in sorted(result.findings, key=lambda f: list(Severity).index(f.severity), reverse=True)
        ]
        rows += [(Text("unknown", style="magenta"), Text("-"), reason) for reason in result.unknown]
        if not rows:
            rows = [(Text("-"), Text("-"), "no problem found")]
        for i, (severity, code, message) in enumerate(rows):
            table.add_row(title if i == 0 else "", status if i == 0 else "", severity, code, message)
        table.add_section()
    console.print(table)
    facts = {k: v for result in report.results.values() for k, v in result.facts.items() if v}
    if facts.get("expires_on"):
        console.print(
            f"Registration expires on {facts['expires_on']} ({facts.get('registrar') or 'registrar unknown'})"
        )


@app.command("domain")
def domain_command(
    name: Annotated[str, typer.Argument(help="the domain to check")],
    nameserver: NameserverOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")] = False,
    dkim_selector: Annotated[
        list[str] | None, typer.Option("--dkim-selector", help="a DKIM selector the domain uses (repeatable)")
    ] = None,
    provider: Annotated[
        str | None, typer.Option("--provider", help="mail provider: microsoft365, google_workspace")
    ] = None,
    rdap_base: RdapBaseOpt = None,
    rdap_bootstrap: RdapBootstrapOpt = None,
    no_rdap: NoRdapOpt = False,
    timeout: TimeoutOpt = None,
) -> None:
    """Everything about one domain: delegation, mail authentication, registration."""
    try:
        domain = normalise_domain(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="NAME") from None
    settings = make_settings(nameserver, timeout, rdap_base, rdap_bootstrap)
    options = DomainOptions(
        kinds=DNS_KINDS if no_rdap else DOMAIN_KINDS,
        params={"dkim": DkimParams(selectors=dkim_selector or [], provider=provider)},
    )

    async def run() -> DomainReport:
        async with CheckContext.create(settings) as ctx:
            return await check_domain(ctx, domain, options)

    report = run_loop(run())
    if as_json:
        payload = {
            "domain": report.domain,
            "status": report.status.value,
            "findings": report.codes,
            "checks": {k: e.model_dump(mode="json") for k, e in report.results.items()},
        }
        print(json.dumps(payload, indent=2))
    else:
        render_report(report, out)


@app.command("domains")
def domains_command(
    file: Annotated[Path, typer.Argument(help="one domain per line", exists=True, dir_okay=False)],
    out_path: Annotated[Path, typer.Option("--out", help="JSON lines: one per domain")],
    nameserver: NameserverOpt = None,
    dkim_selectors: Annotated[
        Path | None,
        typer.Option(
            "--dkim-selectors",
            help="DKIM selectors: one per line (every domain), 'domain s1 s2' lines, or JSON",
        ),
    ] = None,
    rdap_base: RdapBaseOpt = None,
    rdap_bootstrap: RdapBootstrapOpt = None,
    no_rdap: NoRdapOpt = False,
    timeout: TimeoutOpt = None,
    concurrency: ConcurrencyOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Checks every domain in FILE; writes {"domain": ..., "findings": [codes]} per line."""
    settings = make_settings(nameserver, timeout, rdap_base, rdap_bootstrap, concurrency)
    try:
        selectors = read_selectors(dkim_selectors) if dkim_selectors else {}
        lines = read_targets(file, "domain")
    except FileProblem as exc:
        fail(str(exc))
    domains: list[str] = []
    invalid: list[dict[str, Any]] = []
    # A name that is not a domain is reported in its output line: one typo does not stop
    # a bulk run (a file that is not a list of domains does, above).
    for number, raw in lines:
        try:
            domains.append(normalise_domain(raw))
        except ValueError as exc:
            invalid.append({"domain": raw, "findings": [], "unknown": [], "error": f"line {number}: {exc}"})
    domains = list(dict.fromkeys(domains))
    workers = _workers(workers, len(domains))

    started = time.perf_counter()
    # With worker processes the bar refreshes from here, not from a thread of its own: the
    # workers are forked, which is safe only while this process runs no other thread.
    bar_thread = workers == 1
    with out_path.open("w", encoding="utf-8") as sink, progress_bar(err, auto_refresh=bar_thread) as bar:
        for line in invalid:
            sink.write(json.dumps(line) + "\n")
        task = bar.add_task("domains", total=len(domains))
        shown = time.monotonic()

        def on_line(line: dict[str, Any]) -> None:
            nonlocal shown
            sink.write(json.dumps(line) + "\n")
            bar.advance(task)
            if not bar_thread and time.monotonic() - shown > 0.1:
                shown = time.monotonic()
                bar.refresh()

        if workers > 1:
            stats = domains_in_workers(settings, domains, selectors, not no_rdap, workers, on_line)
        else:

            async def run() -> DnsStats:
                async with CheckContext.create(settings) as ctx:
                    build = options_for(selectors, not no_rdap)
                    await check_domains(ctx, domains, build, lambda report: on_line(report.line()))
                    return ctx.dns.stats

            stats = run_loop(run())
    elapsed = time.perf_counter() - started
    err.print(
        f"{len(domains)} domains in {elapsed:.1f}s ({len(domains) / max(elapsed, 1e-9):.1f}/s, "
        f"{workers} worker{'s' if workers > 1 else ''}); "
        f"{stats.queries} DNS queries ({stats.queries / max(len(domains), 1):.1f} per domain), "
        f"{stats.cache_hits} answered from the run's cache, {stats.tcp_fallbacks} over TCP, "
        f"{stats.timeouts} timed out"
    )


@app.command("dnsbl")
def dnsbl_command(
    file: Annotated[
        Path, typer.Argument(help="one IP address (or domain) per line", exists=True, dir_okay=False)
    ],
    zones_path: Annotated[Path, typer.Option("--zones", help="ZONES.json", exists=True, dir_okay=False)],
    out_path: Annotated[Path, typer.Option("--out", help="JSON lines: one per address")],
    nameserver: NameserverOpt = None,
    timeout: TimeoutOpt = None,
    window: Annotated[
        int | None,
        typer.Option(
            "--window",
            "--concurrency",
            min=1,
            max=8192,
            help="queries in flight per process (HUB_DNSBL_WINDOW)",
        ),
    ] = None,
    workers: WorkersOpt = None,
) -> None:
    """Looks every address up in every zone; writes {"ip", "listed", "errors"} per line."""
    settings = make_settings(nameserver, timeout)
    if window:
        settings = settings.model_copy(update={"dnsbl_window": window})
    try:
        zones = read_zones(zones_path)
        targets = list(dict.fromkeys(text for _, text in read_targets(file, "address or domain")))
    except FileProblem as exc:
        fail(str(exc))
    # One process already runs well past 10,000 lookups/s (the bulk path); a second one
    # pays its start-up (~1 s on a busy 2-core machine) and shares the cores with the
    # server, so by default it is used only for runs long enough to win that back.
    workers = _workers(workers, len(targets), default_at=DNSBL_WORKERS_FROM)
    started = time.perf_counter()
    with progress_bar(err) as bar:
        task = bar.add_task("addresses", total=len(targets))

        def advance(n: int) -> None:
            bar.advance(task, n)

        if workers > 1:
            results, stats = dnsbl_in_workers(settings, targets, zones, workers, advance)
        else:
            results, _refused, stats = run_loop(run_dnsbl(settings, targets, zones, on_progress=advance))
    with out_path.open("w", encoding="utf-8") as sink:
        for result in results:
            sink.write(json.dumps(result.line()) + "\n")
    elapsed = time.perf_counter() - started
    listed = sum(1 for r in results if r.listed)
    err.print(
        f"{len(results)} addresses in {elapsed:.1f}s, {stats.queries} lookups "
        f"({stats.queries / max(elapsed, 1e-9):.0f}/s, {workers} worker{'s' if workers > 1 else ''}); "
        f"{listed} listed, {stats.timeouts} timed out"
    )
    refused = {r for result in results for r in result.errors}
    if refused:
        err.print(
            f"[magenta]zones with errors (unknown, not listings):[/magenta] {', '.join(sorted(refused))}"
        )


if __name__ == "__main__":
    app()
