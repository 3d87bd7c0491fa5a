"""A small per-process cache of rendered spend reports.

Profiling the spend endpoint (tests/bench) showed ~85 % of its time in building lines
in Python and loading rows, for data that changes rarely. A cached report is served only
while the client's fingerprint (hub.report.service.spend_fingerprint), read from the
database on every request, is unchanged: several processes each keep their own cache and
none can serve a stale report.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CachedReport:
    fingerprint: tuple[Any, ...]
    report: dict[str, Any]
    body: bytes


class ReportCache:
    def __init__(self, max_entries: int = 256) -> None:
        self._entries: OrderedDict[uuid.UUID, CachedReport] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, client_id: uuid.UUID, fingerprint: tuple[Any, ...]) -> CachedReport | None:
        with self._lock:
            entry = self._entries.get(client_id)
            if entry is None or entry.fingerprint != fingerprint:
                self.misses += 1
                return None
            self._entries.move_to_end(client_id)
            self.hits += 1
            return entry

    def put(self, client_id: uuid.UUID, entry: CachedReport) -> None:
        with self._lock:
            self._entries[client_id] = entry
            self._entries.move_to_end(client_id)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
