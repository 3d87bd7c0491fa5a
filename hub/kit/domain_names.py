"""A domain name as the hub stores it: lower case ASCII (IDNA, UTS 46), no trailing dot.

Kept apart from `hub.kit.fields` (which loads Babel and pycountry for money and locales) so
that `hub check domains` can read its input without them."""

from __future__ import annotations

import idna


def normalise_domain(value: str) -> str:
    name = value.strip().rstrip(".").lower()
    if not name:
        raise ValueError("domain name is empty")
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"not a valid domain name: {exc}") from None
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise ValueError("a domain name needs at least two labels (example.com)")
    if len(ascii_name) > 253:
        raise ValueError("domain name longer than 253 characters")
    if labels[-1].isdigit():
        raise ValueError("the top-level label cannot be numeric")
    return ascii_name
