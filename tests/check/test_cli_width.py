"""`hub check domain` on an 80-column terminal: every finding code printed whole (it is
what people search for and quote), the messages wrap instead."""

from __future__ import annotations

import io

from rich.console import Console

from hub.check.cli import render_report
from hub.check.engine import DomainReport
from hub.check.findings import Evaluation, finding
from hub.models.enums import CheckStatus


def test_finding_codes_are_never_cut_at_80_columns() -> None:
    codes = ["spf_too_many_lookups", "dmarc_policy_none", "mx_host_unresolvable"]
    long_message = "a message long enough to need wrapping on any terminal that is eighty columns wide " * 2
    report = DomainReport(
        domain="colombologistics.com",
        results={
            "spf": Evaluation(status=CheckStatus.fail, findings=[finding(codes[0], long_message)]),
            "dmarc": Evaluation(status=CheckStatus.warn, findings=[finding(codes[1], long_message)]),
            "mx": Evaluation(status=CheckStatus.fail, findings=[finding(codes[2], long_message)]),
        },
    )
    out = io.StringIO()
    render_report(report, Console(file=out, width=80, force_terminal=False, color_system=None))
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    for code in codes:
        assert code in text, text
    assert "…" not in text
