"""A DMARC record that is published but broken is `dmarc_syntax_error` with its reason,
never `dmarc_missing` (RFC 7489: a TXT at _dmarc that does not begin with "v=DMARC1" is
discarded by receivers, §6.6.3, so the finding says no policy applies), against the real
DNS server on loopback."""

from __future__ import annotations

import pytest

from hub.check.context import CheckContext
from hub.check.enums import CheckStatus
from hub.check.kinds.registry import get_kind
from hub.check.settings import CheckSettings
from tests.check.dns_server import DnsTestServer
from tests.check.world import publish, txt

DISCARDED = "Receivers discard a record that does not begin with 'v=DMARC1' (RFC 7489 §6.6.3)"

# (what is published at _dmarc, the code, words the finding's message must carry)
CASES: dict[str, tuple[list[str], str, list[str]]] = {
    "version not first": (
        ["p=reject; v=DMARC1; rua=mailto:d@{d}"],
        "dmarc_syntax_error",
        ["'v=DMARC1' must be the first tag, but the record begins with 'p='", DISCARDED],
    ),
    "no version at all": (
        ["p=reject; rua=mailto:d@{d}"],
        "dmarc_syntax_error",
        ["the record has no 'v=DMARC1' tag", DISCARDED],
    ),
    "';' missing after the version": (
        ["v=DMARC1 p=reject; rua=mailto:d@{d}"],
        "dmarc_syntax_error",
        ["a ';' is missing after 'v=DMARC1'", DISCARDED],
    ),
    "version with a space": (
        ["v=DMARC 1; p=none; rua=mailto:d@{d}"],
        "dmarc_syntax_error",
        ["the version is 'DMARC 1'; it must be exactly 'DMARC1'", DISCARDED],
    ),
    "misspelt version": (
        ["v=DMRAC1; p=reject; rua=mailto:d@{d}"],
        "dmarc_syntax_error",
        ["the version is 'DMRAC1'", DISCARDED],
    ),
    "version in lower case": (
        ["v=dmarc1; p=reject; rua=mailto:d@{d}"],
        "dmarc_syntax_error",
        ["the version is 'dmarc1'; it must be exactly 'DMARC1'"],
    ),
    "misspelt policy with a report address": (
        ["v=DMARC1; p=rejct; rua=mailto:d@{d}"],
        "dmarc_syntax_error",
        ["p='rejct' is not none, quarantine or reject", "receivers read it as p=none"],
    ),
    "misspelt policy without a report address": (
        ["v=DMARC1; p=quarantien"],
        "dmarc_syntax_error",
        ["p='quarantien'", "receivers apply no DMARC policy"],
    ),
    "';' missing between two later tags": (
        ["v=DMARC1; p=reject rua=mailto:d@{d}"],
        "dmarc_syntax_error",
        ["a ';' is missing between 'p=' and 'rua='"],
    ),
    # The boundary: what is not meant as DMARC, and a valid record beside a broken one.
    "a verification token only": (["google-site-verification=abc"], "dmarc_missing", ["no DMARC record"]),
    "an SPF record at the wrong name": (["v=spf1 -all"], "dmarc_missing", ["no DMARC record"]),
    "a valid record beside a broken one": (
        ["v=DMARC1; p=reject; rua=mailto:d@{d}", "p=none; v=DMARC1"],
        "",
        [],
    ),
}


@pytest.mark.parametrize("label", sorted(CASES))
async def test_a_broken_dmarc_record_is_a_syntax_error_with_its_reason(
    label: str, dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    published, code, words = CASES[label]
    name = "broken-dmarc.test"
    publish(dns_server, name, {("_dmarc", "TXT"): [txt(r.replace("{d}", name)) for r in published]})
    async with CheckContext.create(check_settings) as ctx:
        kind = get_kind("dmarc")
        result = await kind.run(ctx, name, kind.parse_params({}))
    assert result.unknown == []
    assert result.codes == ([code] if code else [])
    if code:
        assert result.status is CheckStatus.fail
        message = result.findings[0].message
        for word in words:
            assert word in message, message
    else:
        assert result.status is CheckStatus.ok


async def test_a_broken_record_stops_the_search_at_the_subdomain(
    dns_server: DnsTestServer, check_settings: CheckSettings
) -> None:
    # Receivers discard the subdomain's broken record and use the organisation's; the
    # technician hears about the broken record the subdomain publishes, and that.
    publish(dns_server, "parent-dmarc.test")
    dns_server.add("_dmarc.mail.parent-dmarc.test", "TXT", txt("v=DMARC1 p=reject"))
    async with CheckContext.create(check_settings) as ctx:
        kind = get_kind("dmarc")
        result = await kind.run(ctx, "mail.parent-dmarc.test", kind.parse_params({}))
    assert result.codes == ["dmarc_syntax_error"]
    assert result.findings[0].evidence["found_at"] == "_dmarc.mail.parent-dmarc.test"
    assert "they fall back to the policy of parent-dmarc.test" in result.findings[0].message
