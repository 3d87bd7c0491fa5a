"""Neutralising spreadsheet formulas in CSV cells (CWE-1236), for every CSV the hub writes.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and some also after a
tab or a carriage return). A cell is not only what the CSV writer thinks it is: a
spreadsheet set to another separator splits the text again, and European spreadsheets
split on `;` (`Acme;=HYPERLINK(...)`, which a comma CSV writes unquoted, becomes a second
cell holding a formula). So every piece of a text that follows a separator a spreadsheet
may use (`;` `,` tab, line breaks) is neutralised as if it began a cell: a `'` goes
before the formula character, which spreadsheets read as "this is text". Plain numbers
(`-12.50`, `-1.234,56`) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_TRIGGERS = frozenset("=+-@\t\r")
# What a spreadsheet may split a text on, when it picks a separator other than the file's.
_SEPARATORS = re.compile(r"([;,\t\r\n])")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d[\d.,' ]*$")


def _piece(text: str) -> str:
    body = text.lstrip(" ")
    if not body or body[0] not in _TRIGGERS:
        return text
    if body[0] in "+-" and _PLAIN_NUMBER.match(body.rstrip()):
        return text
    return text[: len(text) - len(body)] + "'" + body


def neutralise(value: Any) -> Any:
    """`value` safe to put in a CSV cell (non-text values are returned as they are)."""
    if not isinstance(value, str) or not value:
        return value
    parts = _SEPARATORS.split(value)
    safe = "".join(part if i % 2 else _piece(part) for i, part in enumerate(parts))
    # A cell starting with a tab or a carriage return is a trigger of its own.
    return "'" + safe if value[0] in "\t\r" else safe


def safe_row(values: Iterable[Any]) -> list[Any]:
    """A row for `csv.writer` with every text cell neutralised and None as an empty cell."""
    return ["" if v is None else neutralise(v) for v in values]


__all__ = ["neutralise", "safe_row"]
