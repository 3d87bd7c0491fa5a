"""Every DNS kind against a real server whose answer for the name it depends on times out
or fails: the check is `unknown` with the reason, never `fail`."""

from __future__ import annotations

import pytest

from hub.check.context import CheckContext
from hub.check.enums import CheckStatus
from hub.check.kinds.registry import get_kind
from hub.check.settings import CheckSettings
from tests.check.dns_server import DnsTestServer
from tests.check.world import publish, txt

# For each kind, the name whose lookup failing must make it unknown.
FAILING_NAME = {
    "dns_zone": "{d}",
    "mx": "{d}",
    "spf": "{d}",
    "dmarc": "_dmarc.{d}",
    "dkim": "selector1._domainkey.{d}",
    "tlsrpt": "_smtp._tls.{d}",
}


@pytest.mark.parametrize("failure", ["timeout", "servfail"])
@pytest.mark.parametrize("kind", sorted(FAILING_NAME))
async def test_lookup_failure_makes_the_check_unknown_with_the_reason_never_fail(
    kind: str, failure: str, dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    # The broken name would otherwise be reported (missing SPF/DMARC/DKIM/TLS-RPT, no MX).
    publish(
        dns_server,
        "broken.test",
        {
            ("@", "TXT"): [],
            ("_dmarc", "TXT"): [],
            ("@", "MX"): [],
            ("_smtp._tls", "TXT"): [],
            ("@", "NS"): [],
        },
    )
    dns_server.add("google._domainkey.broken.test", "TXT", txt("v=DKIM1; p="))
    target = FAILING_NAME[kind].replace("{d}", "broken.test")
    (dns_server.timeout_names if failure == "timeout" else dns_server.servfail_names).add(target)
    async with CheckContext.create(check_settings) as ctx:
        check = get_kind(kind)
        result = await check.run(ctx, "broken.test", check.parse_params({}))
    assert result.status == CheckStatus.unknown
    assert result.unknown and ("timeout" if failure == "timeout" else "SERVFAIL") in " ".join(result.unknown)
    assert not [f for f in result.findings if f.severity.value in ("error", "critical")]
