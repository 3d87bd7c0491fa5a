"""One TCP connect of the probe, with no database: a listener that never completes the
handshake fails by the timeout, not later; a round keeps the order of its targets."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import pytest

from hub.line.probe import Target, connect_once, probe_round, targets_of


def _full_backlog(sockets: list[socket.socket]) -> int:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    sockets.append(server)
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            c.connect(("127.0.0.1", port))
        sockets.append(c)
    return port


@pytest.fixture
def full_backlogs() -> Iterator[tuple[int, int]]:
    """Two loopback ports whose accept queues are full: the kernel drops further SYNs, so a
    connect neither succeeds nor is refused (what a filtered or dead line looks like)."""
    sockets: list[socket.socket] = []
    try:
        yield _full_backlog(sockets), _full_backlog(sockets)
    finally:
        for s in sockets:
            s.close()


async def test_a_target_that_never_answers_fails_when_the_timeout_ends(
    full_backlogs: tuple[int, int],
) -> None:
    started = time.perf_counter()
    result = await connect_once(Target("127.0.0.1", full_backlogs[0]), timeout_seconds=0.4)
    elapsed = time.perf_counter() - started
    assert (result.ok, result.error, result.latency_ms) == (False, "timeout", None)
    assert 0.35 < elapsed < 1.5


async def test_a_round_waits_for_its_slow_targets_at_once_not_one_after_the_other(
    full_backlogs: tuple[int, int],
) -> None:
    slow, slower = full_backlogs
    started = time.perf_counter()
    results = await probe_round(
        [Target("127.0.0.1", slow), Target("127.0.0.1", slower)], timeout_seconds=0.5, concurrency=4
    )
    elapsed = time.perf_counter() - started
    assert [(r.port, r.error) for r in results] == [(slow, "timeout"), (slower, "timeout")]
    assert elapsed < 0.9


async def test_a_round_keeps_the_order_of_its_targets_and_connects_to_a_repeated_one_once(
    closed_port: int,
) -> None:
    with socket.socket() as up:
        up.bind(("127.0.0.1", 0))
        up.listen(8)
        port = int(up.getsockname()[1])
        targets = targets_of([{"host": "127.0.0.1", "ports": [closed_port, port, closed_port]}])
        results = await probe_round(targets, timeout_seconds=1.0, concurrency=4)
    assert [(r.port, r.ok, r.error) for r in results] == [
        (closed_port, False, "connection refused"),
        (port, True, None),
    ]
