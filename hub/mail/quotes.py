"""Quoted history stripped from a reply, for the timeline (the original is always kept).

In order: our own "reply above this line" marker (`##- ... -##`, any language: every
copy of our message starts with it, so a vendor answering on top leaves it right under
its answer); then mail-parser-reply, which knows the attribution lines of the common
clients in many languages (`On ... wrote:`, `Il giorno ... ha scritto:`, Outlook's
`From:/Sent:` and `Da:/Inviato:` blocks, `-----Original Message-----`); then any trailing
block of `>` lines. When stripping would leave nothing (a vendor writing below the quote,
or only a quote), the full text is returned: losing a vendor's words is worse than
showing some history twice. A forward is kept whole (minus our own quoted copy): what
was forwarded is the news.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailparser_reply import EmailReplyParser

# Ours, in any language: `##- <anything> -##`, possibly quoted (`> ##- ... -##`).
MARKER = re.compile(r"^[ \t>]*##-.*-##[ \t]*$", re.MULTILINE)
_QUOTED_LINE = re.compile(r"^[ \t]*>")
# Separators mail-parser-reply does not cut at (seen in forwarded vendor mail).
_EXTRA_SEPARATORS = re.compile(
    r"^[ \t]*(?:-{2,}\s*(?:Original Message|Messaggio originale|Ursprüngliche Nachricht|"
    r"Message d'origine)\s*-{2,})[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
# A forward carries the news itself (a vendor passing on its carrier's answer): it is kept.
_FORWARD = re.compile(
    r"^[ \t>]*(?:-{2,}\s*(?:Forwarded message|Messaggio inoltrato|Weitergeleitete Nachricht|"
    r"Message transféré)\s*-{2,}|Begin forwarded message:|Inizio messaggio inoltrato:)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
LANGUAGES = ("en", "it", "de", "fr")


@dataclass
class QuoteStripper:
    """Holds one reply parser (its patterns are built once per instance)."""

    languages: tuple[str, ...] = LANGUAGES
    _parser: EmailReplyParser = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._parser = EmailReplyParser(languages=list(self.languages))

    def strip(self, text: str) -> str:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        full = text.strip()
        if not full:
            return ""
        top = text
        marker = MARKER.search(top)
        if marker is not None:
            top = top[: marker.start()]
        if _FORWARD.search(top):
            return top.strip() or full
        separator = _EXTRA_SEPARATORS.search(top)
        if separator is not None:
            top = top[: separator.start()]
        if top.strip():
            try:
                reply = self._parser.parse_reply(top)
            except Exception:  # a third-party parser must never lose a message
                reply = top
            top = reply if reply and reply.strip() else top
        top = _drop_trailing_quote(top).strip()
        return top if top else full


def _drop_trailing_quote(text: str) -> str:
    lines = text.split("\n")
    end = len(lines)
    while end and (not lines[end - 1].strip() or _QUOTED_LINE.match(lines[end - 1])):
        end -= 1
    # A trailing "On ... wrote:" left before a quote block is dropped with it.
    if end < len(lines) and end and lines[end - 1].rstrip().endswith(":"):
        candidate = lines[end - 1].lower()
        if any(word in candidate for word in ("wrote", "scritto", "schrieb", "écrit", "a écrit")):
            end -= 1
    return "\n".join(lines[:end])
