"""The engine: one shared DNS cache per run, a broken kind contained, kinds known only
through the context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest

from hub.check.context import CheckContext
from hub.check.engine import DNS_KINDS, DomainOptions, check_domain, run_kind
from hub.check.enums import CheckStatus, CheckTarget
from hub.check.findings import Evaluation, evaluation, finding
from hub.check.kinds.base import CheckKind, Params
from hub.check.settings import CheckSettings
from tests.check.dns_server import DnsTestServer
from tests.check.world import publish


async def test_a_whole_domain_report_shares_one_query_per_name(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    publish(dns_server, "shared.test")
    async with CheckContext.create(check_settings) as ctx:
        report = await check_domain(ctx, "shared.test", DomainOptions(kinds=DNS_KINDS))
    assert report.codes == [] and report.status == CheckStatus.ok
    counts = dns_server.query_counts()
    assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]


class EchoParams(Params):
    code: str | None = None


@dataclass
class Seen:
    target: str
    code: str | None


class EchoKind(CheckKind[EchoParams, Seen]):
    """Reports the code it is given: a kind with no I/O, to watch the engine alone."""

    name = "echo"
    target = CheckTarget.domain
    params_model = EchoParams
    codes = frozenset({"spf_missing"})

    async def collect(self, ctx: CheckContext, target: str, params: EchoParams) -> Seen:
        return Seen(target, params.code)

    def evaluate(self, data: Seen, params: EchoParams, now: datetime) -> Evaluation:
        return evaluation([finding(data.code, f"{data.target}: {data.code}")] if data.code else [])


class BrokenKind(EchoKind):
    name = "broken"

    async def collect(self, ctx: CheckContext, target: str, params: EchoParams) -> Seen:
        raise RuntimeError("a bug in the kind")


KINDS = {"echo": EchoKind(), "broken": BrokenKind()}


async def test_a_broken_kind_is_unknown_and_the_others_still_report(check_settings: CheckSettings) -> None:
    async with CheckContext.create(check_settings, kinds=KINDS) as ctx:
        options = DomainOptions(kinds=("echo", "broken"), params={"echo": {"code": "spf_missing"}})
        report = await check_domain(ctx, "a.test", options)
    assert report.results["echo"].codes == ["spf_missing"]
    assert report.results["broken"].status == CheckStatus.unknown
    assert report.results["broken"].unknown == ["internal error in broken: RuntimeError: a bug in the kind"]
    assert report.status == CheckStatus.fail  # a certain failure beside an unknown part
    assert report.line() == {"domain": "a.test", "findings": ["spf_missing"], "unknown": ["broken"]}


async def test_invalid_raw_params_make_the_run_unknown_not_a_crash(check_settings: CheckSettings) -> None:
    async with CheckContext.create(check_settings, kinds=KINDS) as ctx:
        result = await run_kind(ctx, "echo", "a.test", {"cod": "spf_missing"})
    assert result.status == CheckStatus.unknown
    assert result.unknown[0].startswith("internal error in echo: ValidationError")


async def test_a_kind_the_context_does_not_know_is_a_key_error_naming_the_known_ones(
    check_settings: CheckSettings,
) -> None:
    async with CheckContext.create(check_settings, kinds=KINDS) as ctx:
        with pytest.raises(KeyError, match="unknown check kind 'spf'; known: broken, echo"):
            await run_kind(ctx, "spf", "a.test", {})
