"""Tag-value lists (RFC 6376 §3.2), the record format DMARC, DKIM and TLS-RPT share."""

from __future__ import annotations

import re

_TAG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def parse_tags(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The (name, value) pairs in order, and syntax errors. Whitespace around names and
    values is folding whitespace and dropped; a trailing ";" is allowed."""
    pairs: list[tuple[str, str]] = []
    errors: list[str] = []
    parts = text.split(";")
    if parts and parts[-1].strip() == "":
        parts = parts[:-1]
    seen: set[str] = set()
    for part in parts:
        name, eq, value = part.partition("=")
        name = name.strip()
        if not eq:
            errors.append(f"{part.strip()!r} is not a tag=value pair")
            continue
        if not _TAG_NAME.match(name):
            errors.append(f"bad tag name {name!r}")
            continue
        if name in seen:
            # RFC 6376 §3.2: a duplicate tag makes the entire tag list invalid.
            errors.append(f"tag {name!r} appears more than once")
        seen.add(name)
        pairs.append((name, value.strip()))
    return pairs, errors
