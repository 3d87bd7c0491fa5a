"""Text files people hand to commands (a list of domains, a JSON config): read as UTF-8,
and every problem is a `FileProblem` naming the file, the line and the reason, which the
command prints as one line (`hub.kit.console.fail`) instead of a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STDIN = "-"


class FileProblem(Exception):
    """`<file>:<line>: <reason>` (no line: the file as a whole could not be read)."""

    def __init__(self, name: str, line: int | None, reason: str) -> None:
        super().__init__(reason)
        self.name, self.line, self.reason = name, line, reason

    def __str__(self) -> str:
        where = f"{self.name}:{self.line}" if self.line is not None else self.name
        return f"{where}: {self.reason}"


def _line_of(data: bytes | str, offset: int) -> int:
    newline: Any = b"\n" if isinstance(data, bytes) else "\n"
    return data.count(newline, 0, offset) + 1


def decode(data: bytes, name: str) -> str:
    """UTF-8 text (a byte-order mark is dropped); binary data or another encoding is a
    FileProblem at the line of the first offending byte."""
    nul = data.find(b"\x00")
    if nul >= 0:
        return _raise(name, _line_of(data, nul), "binary data (a NUL byte), not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        reason = f"not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column}); save the file as UTF-8"
        return _raise(name, _line_of(data, exc.start), reason)


def _raise(name: str, line: int | None, reason: str) -> str:
    raise FileProblem(name, line, reason)


def read_text(path: Path, *, stdin: Any = None) -> str:
    """The file's text; `-` reads `stdin` when given (a binary stream or a text one)."""
    name = str(path)
    if stdin is not None and name == STDIN:
        raw = stdin.read()
        return decode(raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape"), "<stdin>")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileProblem(name, None, f"cannot read it: {exc.strerror or exc}") from None
    return decode(data, name)


def content_lines(text: str) -> list[tuple[int, str]]:
    """(line number, content) of each line with something on it once a `#` comment and
    the surrounding blanks are removed."""
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        content = raw.split("#", 1)[0].strip()
        if content:
            out.append((number, content))
    return out


def load_json(text: str, name: str) -> tuple[Any, dict[Any, int]]:
    """The JSON document, and the line each top-level entry starts on (an array's
    elements by index, an object's members by key), for errors that name a line."""
    text = text.removeprefix("\ufeff")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileProblem(name, exc.lineno, f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    lines: dict[Any, int] = {}
    if isinstance(document, list | dict):
        _entry_lines(text, isinstance(document, dict), lines)
    return document, lines


def _skip(text: str, i: int) -> int:
    """Past the JSON whitespace at `i`."""
    while i < len(text) and text[i] in " \t\n\r":
        i += 1
    return i


def _entry_lines(text: str, is_object: bool, lines: dict[Any, int]) -> None:
    """Walks the (valid) document's top level once, noting where each entry begins."""
    decoder = json.JSONDecoder()
    i = _skip(text, 0) + 1  # past "[" or "{"
    index = 0
    while True:
        i = _skip(text, i)
        if text[i] in "]}":
            return
        line = _line_of(text, i)
        if is_object:
            key, i = decoder.raw_decode(text, i)
            i = _skip(text, _skip(text, i) + 1)  # past ":"
            lines.setdefault(key, line)
        else:
            lines[index] = line
            index += 1
        _, i = decoder.raw_decode(text, i)
        i = _skip(text, i)
        if text[i] == ",":
            i += 1


__all__ = ["STDIN", "FileProblem", "content_lines", "decode", "load_json", "read_text"]
