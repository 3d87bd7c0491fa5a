"""The card's pure rules, table-driven: what a search text is, which vendor a failing
check points at, whether a channel is open (lunch breaks, holidays, time zones), and
which SLA level an entitlement names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.card import engine
from hub.card.engine import QueryKind, Role


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("192.0.2.5", QueryKind.ip, "192.0.2.5"),
        ("https://198.51.100.7:10443/login", QueryKind.ip, "198.51.100.7"),
        ("2001:DB8::1", QueryKind.ip, "2001:db8::1"),
        ("Example.IT", QueryKind.domain, "example.it"),
        ("mario.rossi@ferramenta.example.", QueryKind.domain, "ferramenta.example"),
        ("https://mail.shop.example.com/owa", QueryKind.domain, "mail.shop.example.com"),
        ("bücher.example", QueryKind.domain, "xn--bcher-kva.example"),
        ("DEMOR75006015", QueryKind.text, "DEMOR75006015"),
        ("FWB-1234567", QueryKind.text, "FWB-1234567"),
        ("Register.it support", QueryKind.text, "Register.it support"),
        ("http://[not-an-address", QueryKind.text, "http://[not-an-address"),
        ("a..b", QueryKind.text, "a..b"),
    ],
)
def test_a_search_text_is_read_as_an_address_a_domain_or_plain_text(text, kind, value):
    assert engine.classify(text) == engine.Query(kind, value)


def test_a_host_finds_the_domain_it_is_under_but_never_a_bare_tld():
    assert engine.parent_domains("mail.shop.example.it") == [
        "mail.shop.example.it",
        "shop.example.it",
        "example.it",
    ]


@pytest.mark.parametrize(
    ("stored", "host"),
    [
        ("https://192.0.2.5:8443", "192.0.2.5"),
        ("192.0.2.5", "192.0.2.5"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("FW01.Example.IT", "fw01.example.it"),
        ("", None),
        (None, None),
    ],
)
def test_the_host_of_a_management_address(stored, host):
    assert engine.address_host(stored) == host


@pytest.mark.parametrize(
    ("failing", "order"),
    [
        ([], [Role.mail_host, Role.dns_host, Role.registrar]),
        (["domain_expiry"], [Role.registrar, Role.mail_host, Role.dns_host]),
        (["dns_zone"], [Role.dns_host, Role.registrar, Role.mail_host]),
        (["dmarc"], [Role.dns_host, Role.mail_host, Role.registrar]),
        (["dmarc", "spf"], [Role.mail_host, Role.dns_host, Role.registrar]),
        (["firmware"], [Role.mail_host, Role.dns_host, Role.registrar]),
    ],
)
def test_failing_checks_put_the_vendor_that_can_fix_them_first(failing, order):
    assert engine.rank_roles([Role.mail_host, Role.dns_host, Role.registrar], failing) == order


LEVELS = [
    {"level": "ProSupport", "aliases": ["PS"]},
    {"level": "ProSupport Plus", "aliases": []},
    {"level": "Basic"},
]


@pytest.mark.parametrize(
    ("entitlement", "matched"),
    [
        ("ProSupport", "ProSupport"),
        ("  prosupport   plus ", "ProSupport Plus"),
        ("ProSupport Plus 4H Mission Critical", "ProSupport Plus"),
        ("ProSupport Next Business Day", "ProSupport"),
        ("ps", "ProSupport"),
        ("ProSupportPlus", None),
        ("Gold", None),
        (None, None),
    ],
)
def test_an_entitlement_matches_the_vendors_level_by_name_alias_or_longest_prefix(entitlement, matched):
    found = engine.match_level(entitlement, LEVELS)
    assert (found["level"] if found else None) == matched


DESK = {
    "kind": "phone",
    "value": "+39 02 0000 0101",
    "weekly": {d: ["08:30-13:00", "14:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "timezone": "Europe/Rome",
    "holidays": {"country": "IT", "subdivision": None},
}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "open_now", "opens", "closes"),
    [
        # Tuesday 5 January 2027, 10:00 in Rome: open until the lunch break.
        ("2027-01-05T10:00+01:00", True, None, "2027-01-05T13:00+01:00"),
        # Lunch: opens again at 14:00.
        ("2027-01-05T13:30+01:00", False, "2027-01-05T14:00+01:00", None),
        # Tuesday evening: next opening is Thursday, Wednesday 6 January being Epiphany.
        ("2027-01-05T19:00+01:00", False, "2027-01-07T08:30+01:00", None),
        ("2027-01-06T10:00+01:00", False, "2027-01-07T08:30+01:00", None),
        # 09:00 in New York is 15:00 in Rome: open; the hours are the vendor's own.
        ("2027-01-05T09:00-05:00", True, None, "2027-01-05T18:00+01:00"),
        # Summer time: 08:30 in Rome is 06:30 UTC.
        ("2027-07-05T06:29Z", False, "2027-07-05T08:30+02:00", None),
    ],
)
def test_a_channel_is_open_on_the_vendors_wall_clock_with_breaks_and_holidays(now, open_now, opens, closes):
    state = engine.channel_state(DESK, _at(now))
    assert state.open_now is open_now
    assert state.opens_at == (_at(opens) if opens else None)
    assert state.closes_at == (_at(closes) if closes else None)
    assert state.hours == "Mon-Fri 08:30-13:00, 14:00-18:00 (Europe/Rome, closed on IT public holidays)"


def test_a_line_open_around_the_clock_never_closes_and_unreadable_hours_say_why():
    always = engine.channel_state({"kind": "phone", "value": "1", "hours": None}, _at("2027-01-06T03:00Z"))
    assert (always.open_now, always.closes_at, always.hours) == (True, None, "24x7 (Europe/Rome)")
    assert always.local_time == "Wed 04:00 CET"
    broken = engine.channel_state(
        {"kind": "phone", "value": "1", "hours": {"days": ["mon"], "opens": "18:00", "closes": "09:00"}},
        _at("2027-01-06T03:00Z"),
    )
    assert broken.open_now is None and "closes before it opens" in (broken.problem or "")


def test_a_channel_reserved_to_a_level_serves_only_its_holders():
    line = {"levels": ["ProSupport Plus"]}
    assert engine.serves(line, ["prosupport plus"]) and not engine.serves(line, ["ProSupport"])
    assert engine.serves({"levels": []}, [])


def test_the_sla_promise_of_a_case_opened_now_runs_on_the_levels_calendar():
    nbd = {
        "level": "ProSupport",
        "first_response": "business_hours:2",
        "resolution": "nbd",
        **{k: DESK[k] for k in ("weekly", "timezone", "holidays")},
    }
    # Tuesday 12:00: two business hours are 13:00 (one before lunch) + 15:00; the next
    # business day is Thursday (Epiphany), closing at 18:00.
    promised = engine.promise(nbd, _at("2027-01-05T12:00+01:00"))
    assert promised.first_response_due == _at("2027-01-05T15:00+01:00")
    assert promised.resolution_due == _at("2027-01-07T18:00+01:00")
    assert promised.timezone == "Europe/Rome"
    clock = engine.promise({"level": "Plus", "first_response": "30m"}, _at("2027-01-06T23:50Z"))
    assert clock.first_response_due == _at("2027-01-07T00:20Z") and clock.resolution_due is None
