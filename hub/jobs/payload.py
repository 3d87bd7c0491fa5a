"""Typed job payloads: each job kind declares what its payload holds.

A payload model names its kind (`class AdvanceRenewal(JobPayload, kind="renewal.advance")`),
carries ids, never objects, and is validated twice: when it is enqueued (a bad payload
never reaches the table) and when a worker runs it (a payload written by an older version
that no longer parses fails its job with a clear error, without retries, instead of
crashing the worker or retrying something that can never work).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class JobPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ClassVar[str]

    def __init_subclass__(cls, kind: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind is not None:
            if not KIND_PATTERN.match(kind):
                raise ValueError(f"job kind {kind!r} must look like 'module.action'")
            cls.kind = kind


class PeriodicPayload(JobPayload):
    """The payload of a periodic kind: which slot of its schedule the job runs for (set by
    the worker that offered the slot; None when a person queued a run by hand)."""

    slot: datetime | None = None


class PayloadError(Exception):
    """A stored payload does not match its kind's model (written by another version)."""


def parse_payload(model: type[JobPayload], raw: dict[str, Any]) -> JobPayload:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['msg']}" for err in exc.errors()
        )
        raise PayloadError(f"payload does not match {model.kind}: {problems}") from None
