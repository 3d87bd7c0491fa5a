"""A real IMAP server (pymap, in-memory) on loopback for the poller tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.mail.world import LoopbackImapServer


@pytest.fixture
def imap_server() -> Iterator[LoopbackImapServer]:
    server = LoopbackImapServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def vendor_mail(n: int, *, domain: str = "vendor.example", message_id: str | None = None) -> bytes:
    mid = message_id or f"m{n}@{domain}"
    return (
        f"From: Support <support@{domain}>\r\nTo: cases+7F3K2@msp.example\r\n"
        f"Subject: Re: [HUB-7F3K2] update {n}\r\nMessage-ID: <{mid}>\r\n"
        f"Date: Mon, 07 Dec 2026 10:{n % 60:02d}:00 +0000\r\n\r\nUpdate number {n}.\r\n"
    ).encode()
