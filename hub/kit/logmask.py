"""Capability tokens out of logs.

Two kinds of URL carry their own authority in the path: a calendar feed
(`/calendar/hubcal_<id>_<secret>.ics`, calendar apps cannot send a header) and a signed
approval link (`/approvals/<payload>.<signature>`). Whoever reads a log line with one can
use it, so the access log and the hub's own error log show them masked: a feed keeps its
public prefix (`hubcal_1a2b3c4d`, the one the API lists, so a line can still be traced to
its feed), a link shows nothing of itself.
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "***"
_FEED = re.compile(r"(/calendar/)(hubcal_[0-9a-f]{8})?[^/?#\s\"]*?(\.ics)")
_APPROVAL = re.compile(r"(/approvals/)[^/?#\s\"]+")


def mask_capabilities(text: str) -> str:
    """`text` with every calendar feed token and approval link token masked."""
    text = _FEED.sub(
        lambda m: f"{m.group(1)}{m.group(2) + '_' if m.group(2) else ''}{MASK}{m.group(3)}", text
    )
    return _APPROVAL.sub(lambda m: f"{m.group(1)}{MASK}", text)


def _mask(value: Any) -> Any:
    return mask_capabilities(value) if isinstance(value, str) else value


class CapabilityMaskingFilter(logging.Filter):
    """Masks capability tokens in a record's message and arguments, keeping the arguments'
    shape (uvicorn's access formatter reads them by position)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_capabilities(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_mask(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _mask(v) for k, v in record.args.items()}
        return True


def mask_logger(name: str) -> None:
    """Put the masking filter on a logger (once; safe to call again)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, CapabilityMaskingFilter) for f in logger.filters):
        logger.addFilter(CapabilityMaskingFilter())


__all__ = ["MASK", "CapabilityMaskingFilter", "mask_capabilities", "mask_logger"]
