"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from hub.kit.money import FACTOR, SCALE


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant on every backend.

    SQLite keeps no offset, so values come back naive; this restores UTC on the way out
    and refuses naive datetimes on the way in, so a local time can never slip in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC instant is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            naive: datetime = value
            return naive.replace(tzinfo=UTC)
        aware: datetime = value.astimezone(UTC)
        return aware


class Money(TypeDecorator[Decimal]):
    """A Decimal column stored as BIGINT ten-thousandths."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int(Decimal(value).quantize(SCALE, rounding=ROUND_HALF_EVEN) * FACTOR)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / FACTOR).quantize(SCALE)
