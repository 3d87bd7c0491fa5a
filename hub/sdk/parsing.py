"""Turning vendor payloads into typed values without letting their exceptions escape."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hub.sdk.errors import InvalidResponse

M = TypeVar("M", bound=BaseModel)


def parse_model(model: type[M], data: Any, *, what: str) -> M:
    """Validate a vendor payload; a shape the vendor's API does not document raises
    `InvalidResponse` naming the field (never echoing the payload: it may hold secrets)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise InvalidResponse(f"unexpected {what}: {where}: {first['msg']}") from None


def parse_date(value: Any, *, what: str) -> date | None:
    """An ISO date or datetime string (or epoch seconds) as a date; None stays None."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC).date()
        text = str(value)
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except (ValueError, OverflowError, OSError) as exc:
        raise InvalidResponse(f"unexpected {what}: not a date") from exc


__all__ = ["parse_date", "parse_model"]
