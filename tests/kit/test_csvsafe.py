"""The one CSV formula neutraliser: a formula anywhere a spreadsheet may start a cell
(the beginning, or after a `;`, `,`, tab or line break inside a value) is made text."""

from __future__ import annotations

from typing import Any

import pytest

from hub.kit.csvsafe import neutralise, safe_row


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Microsoft 365", "Microsoft 365"),
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("\t=1+1", "'\t'=1+1"),
        # EU spreadsheets split on ';': the second piece is a cell of its own.
        ('Acme;=HYPERLINK("http://x")', 'Acme;\'=HYPERLINK("http://x")'),
        ("Acme; =1+1", "Acme; '=1+1"),
        ("Acme,@SUM(A1)", "Acme,'@SUM(A1)"),
        ("line one\n=cmd", "line one\n'=cmd"),
        ("a;b;+cmd", "a;b;'+cmd"),
        # Plain numbers stay numbers, in either decimal convention.
        ("-12.50", "-12.50"),
        ("-1.234,56", "-1.234,56"),
        ("12;-3", "12;-3"),
        ("", ""),
    ],
)
def test_neutralise(value: str, expected: str) -> None:
    assert neutralise(value) == expected


@pytest.mark.parametrize("value", [None, 3, -4, 1.5, True])
def test_non_text_is_left_alone(value: Any) -> None:
    assert neutralise(value) == value


def test_safe_row_writes_none_as_an_empty_cell() -> None:
    assert safe_row(["=x", None, 5]) == ["'=x", "", 5]
