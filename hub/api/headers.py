"""Security headers on every response (a pure ASGI middleware: it sees every response,
streamed or not, errors included).

The API answers JSON to programs: nothing of it may be sniffed as HTML, framed, cached by
a shared cache, or leak the URL it came from. A response that sets a header itself keeps
its value (the docs page has its own Content-Security-Policy; the calendar feed allows
calendar apps to cache it briefly).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULTS: tuple[tuple[str, str], ...] = (
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()"),
    ("content-security-policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
)
HSTS = ("strict-transport-security", "max-age=31536000")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = str(scope.get("path", "")).startswith("/api/")
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in DEFAULTS:
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault(*HSTS)
                if api:
                    # API answers are one caller's data: no cache keeps them.
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)


__all__ = ["DEFAULTS", "SecurityHeaders"]
