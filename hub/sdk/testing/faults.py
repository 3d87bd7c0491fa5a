"""The fault plan every simulator shares: scripted and seeded-random failures, injected by
an ASGI middleware in front of the simulator's routes, with every request recorded."""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ErrorBody = Callable[[int], dict[str, Any]]


@dataclass
class Fault:
    """One scripted fault. Matching requests (method, path regex, query-string regex and,
    for APIs that put the operation in the body such as SOAP, request-body regex) first
    let `after` through, then the fault hits `times` of them (None: every one from then
    on)."""

    status: int | None = None
    times: int | None = 1
    after: int = 0
    method: str | None = None
    path: str | None = None
    query: str | None = None
    retry_after: str | None = None
    latency: float = 0.0
    hang: bool = False
    malformed: bool = False
    commit_then_fail: bool = False
    """Let the simulator apply the request, then answer `status` (default 502) or hang:
    how duplicate orders happen in real life."""
    body: dict[str, Any] | None = None
    request_body: str | None = None
    """Regex the request body (decoded as Latin-1) must contain, e.g. `<\\w+:CreateDispatch>`."""
    seen: int = 0
    hits: int = 0

    def matches(self, method: str, path: str, query: str = "", body: bytes = b"") -> bool:
        if self.method and self.method.upper() != method:
            return False
        if self.query is not None and not re.search(self.query, query):
            return False
        if self.request_body is not None and not re.search(self.request_body, body.decode("latin1")):
            return False
        return not (self.path and not re.search(self.path, path))

    def matches_request(self, request: RecordedRequest) -> bool:
        """Whether a recorded request is one this fault would match (to count them)."""
        return self.matches(request.method, request.path, request.query, request.body)

    def take(self) -> bool:
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        self.hits += 1
        return True


@dataclass
class RandomFaults:
    """Seeded random faults: `rates` maps a status (or "hang"/"commit_then_fail", or
    "slow": answered after `latency`) to a probability, applied to requests whose method,
    path and query string match `method`, `path` and `query` (regexes; `query=r"^$"`
    tells `POST /orders` from `POST /orders?isMock=true`). Without a "slow" rate,
    `latency` delays every answer that got no other fault."""

    rates: dict[int | str, float]
    seed: int = 0
    path: str | None = None
    method: str | None = None
    query: str | None = None
    latency: float = 0.0
    retry_after: str | None = None
    hits: dict[int | str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def pick(self, method: str, path: str, query: str = "") -> int | str | None:
        if self.method and self.method.upper() != method:
            return None
        if self.path and not re.search(self.path, path):
            return None
        if self.query is not None and not re.search(self.query, query):
            return None
        roll = self._rng.random()
        for kind, rate in self.rates.items():
            if roll < rate:
                self.hits[kind] = self.hits.get(kind, 0) + 1
                return kind
            roll -= rate
        return None


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int | None


@dataclass
class FaultPlan:
    faults: list[Fault] = field(default_factory=list)
    random: RandomFaults | None = None
    hang_seconds: float = 3600.0

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()
        self.random = None


class FaultInjector:
    """ASGI middleware: records every HTTP request and applies the plan."""

    def __init__(self, app: ASGIApp, plan: FaultPlan, error_body: ErrorBody) -> None:
        self.app = app
        self.plan = plan
        self.error_body = error_body
        self.requests: list[RecordedRequest] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode("latin1")
        body = await _read_body(receive)
        headers = {k.decode("latin1"): v.decode("latin1") for k, v in scope["headers"]}
        fault = self._choose(method, path, query, body)
        status_seen: list[int] = []

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
            await send(message)

        try:
            if fault is None:
                await self.app(scope, replay, recording_send)
                return
            if fault.latency:
                await asyncio.sleep(fault.latency)
            if fault.commit_then_fail:
                await self.app(scope, replay, _discard)
                if fault.hang:
                    await asyncio.sleep(self.plan.hang_seconds)
                await self._error(fault.status or 502, fault, recording_send)
                return
            if fault.hang:
                await asyncio.sleep(self.plan.hang_seconds)
                return
            if fault.malformed:
                await _respond(
                    recording_send, 200, b'{"items": [ this is not json', {"content-type": "application/json"}
                )
                return
            if fault.status is not None:
                await self._error(fault.status, fault, recording_send)
                return
            await self.app(scope, replay, recording_send)
        finally:
            self.requests.append(
                RecordedRequest(
                    method,
                    path,
                    query,
                    headers,
                    body,
                    status_seen[0] if status_seen else None,
                )
            )

    def _choose(self, method: str, path: str, query: str = "", body: bytes = b"") -> Fault | None:
        for fault in self.plan.faults:
            if fault.matches(method, path, query, body) and fault.take():
                return fault
        chance = self.plan.random
        if chance is not None:
            kind = chance.pick(method, path, query)
            if kind == "slow":
                return Fault(latency=chance.latency)
            if kind == "hang":
                return Fault(hang=True)
            if kind == "commit_then_fail":
                return Fault(commit_then_fail=True, status=502)
            if isinstance(kind, int):
                return Fault(status=kind, retry_after=chance.retry_after if kind == 429 else None)
            if chance.latency and "slow" not in chance.rates:  # no "slow" rate: every answer is slow
                return Fault(latency=chance.latency)
        return None

    async def _error(self, status: int, fault: Fault, send: Send) -> None:
        headers = {"content-type": "application/json"}
        if fault.retry_after is not None:
            headers["retry-after"] = fault.retry_after
        body = fault.body if fault.body is not None else self.error_body(status)
        await _respond(send, status, json.dumps(body).encode(), headers)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _discard(message: Message) -> None:
    return None


async def _respond(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


__all__ = ["Fault", "FaultInjector", "FaultPlan", "RandomFaults", "RecordedRequest"]
