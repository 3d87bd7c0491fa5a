"""Address blocks: what a line may hold, and which of its addresses get PTR and block-list
checks."""

from __future__ import annotations

import pytest

from hub.line.schemas import MAX_CHECKED_ADDRESSES, address_block, checked_addresses


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("203.0.113.8/29", "203.0.113.8/29"),
        (" 198.51.100.7 ", "198.51.100.7/32"),
        ("2001:DB8:1::/48", "2001:db8:1::/48"),
        ("2001:db8::25", "2001:db8::25/128"),
        ("8.8.8.0/24", "8.8.8.0/24"),
    ],
)
def test_a_block_is_stored_as_its_normalised_cidr(given: str, stored: str) -> None:
    assert address_block(given) == stored


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("203.0.113.9/29", "host bits set: the block is 203.0.113.8/29"),
        ("10.1.2.0/24", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.1", "loopback"),
        ("fd00::/8", "unique local"),
        ("224.0.0.1", "multicast"),
        ("203.0.113.0/33", "not an IPv4 or IPv6 address block"),
        ("mail.example.com", "not an IPv4 or IPv6 address block"),
    ],
)
def test_a_block_that_is_no_public_block_is_refused_saying_why(given: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        address_block(given)


def test_checked_addresses_are_the_hosts_of_small_v4_blocks_and_single_v6_addresses() -> None:
    assert checked_addresses(
        ["203.0.113.8/30", "2001:db8:1::/48", "2001:db8::25/128", "198.51.100.7/32"]
    ) == [
        "203.0.113.9",
        "203.0.113.10",
        "2001:db8::25",
        "198.51.100.7",
    ]
    # A /24 is checked up to the cap, not 254 addresses per line.
    many = checked_addresses(["198.51.100.0/24"])
    assert len(many) == MAX_CHECKED_ADDRESSES and many[0] == "198.51.100.1"
