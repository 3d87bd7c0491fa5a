"""Vendor HTML: sanitised for display (nh3, an allow-list sanitiser) and turned into
plain text for the timeline when a vendor sends HTML only.

Images are dropped: a remote image in vendor mail is a tracking pixel at best, and the
timeline shows attachments separately. Links keep http(s) and mailto only.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
_DROP_WITH_CONTENT = {"script", "style", "head", "title", "template", "noscript"}
_BLOCKS = {
    "address",
    "article",
    "blockquote",
    "div",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tr",
    "ul",
}
_PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol", "pre"}
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")


def sanitise_html(html: str) -> str:
    """Safe to embed in our pages: no scripts, styles, event handlers, forms or images."""
    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._quote = 0
        self._pre = 0

    def _break(self, lines: int = 1) -> None:
        """At least `lines` line ends before the next text (adjacent blocks share them)."""
        tail = "".join(self.parts[-3:])
        have = len(tail) - len(tail.rstrip("\n"))
        if self.parts and have < lines:
            self.parts.append("\n" * (lines - have))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_WITH_CONTENT:
            self._skip += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag in _BLOCKS:
            self._break(2 if tag in _PARAGRAPHS else 1)
            if tag == "blockquote":
                self._quote += 1
            elif tag == "pre":
                self._pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_WITH_CONTENT:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self._break(2 if tag in _PARAGRAPHS else 1)
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)
            elif tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if not self._pre:
            data = _SPACES.sub(" ", data.replace("\r", " ").replace("\n", " "))
        if self._quote:
            # Quoted blocks keep a "> " mark so quote stripping treats them as history.
            data = data.replace("\n", "\n" + "> " * self._quote)
            if not self.parts or self.parts[-1].endswith("\n"):
                data = "> " * self._quote + data.lstrip()
        self.parts.append(data)


def html_to_text(html: str) -> str:
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    lines = [line.strip() for line in "".join(writer.parts).split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip() + "\n"
