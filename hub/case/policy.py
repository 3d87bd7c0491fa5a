"""Pure rules of cases that read a vendor's words: does a message say the problem is
fixed (which triggers the re-run of the originating check, never a state change by
itself)."""

from __future__ import annotations

import re

# English and Italian, the vendor languages of the templates; a false positive only
# costs a re-run of a check.
_RESOLVED = re.compile(
    r"\b(?:has\s+been|is\s+now|was)\s+(?:resolved|fixed|repaired|restored)\b"
    r"|\bis\s+(?:up|working)\s+again\b"
    r"|\b(?:è|e')\s+stat[oa]\s+(?:risolt[oa]|riparat[oa]|ripristinat[oa])\b"
    r"|\bdi\s+nuovo\s+attiv[oa]\b",
    re.IGNORECASE,
)


def says_resolved(text: str) -> bool:
    """True when the vendor's reply (quotes stripped) says the problem is fixed."""
    return _RESOLVED.search(text) is not None
