"""Declarative base, naming convention and the mixins every aggregate shares."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Enum, Integer, MetaData, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from hub.kit.crypto import Purpose
from hub.kit.time import utcnow
from hub.kit.types import Money, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        uuid.UUID: Uuid(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
        list[str]: JSON(),
        list[dict[str, Any]]: JSON(),
    }


def str_enum(enum_cls: type[enum.StrEnum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a named CHECK constraint, storing values."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


SECRET_PURPOSE = "secret_purpose"


def encrypted_column(purpose: Purpose, *, nullable: bool = False, type_: Any = Text) -> Mapped[Any]:
    """A Fernet token under `purpose`'s key. The purpose is recorded on the column, so
    `hub secrets rotate` and the audit redaction find every encrypted column by itself
    (a test fails for a `*_encrypted` column without one)."""
    return mapped_column(type_, nullable=nullable, info={SECRET_PURPOSE: purpose})


def secret_purpose(column: Column[Any]) -> Purpose | None:
    purpose = column.info.get(SECRET_PURPOSE)
    return purpose if isinstance(purpose, Purpose) else None


def money_column(*, nullable: bool = False) -> Mapped[Any]:
    return mapped_column(Money(), nullable=nullable)


class UUIDPk:
    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Versioned:
    """Optimistic concurrency: every UPDATE carries `WHERE version = <read version>`.

    SQLAlchemy raises StaleDataError when the row changed underneath; the API maps that
    (and a client sending an old version) to 409 so nothing written in between is lost.
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}


class Entity(UUIDPk, Timestamps, Versioned):
    """The shape of every user-editable aggregate."""


# SQLite only auto-assigns ids to a column declared exactly INTEGER PRIMARY KEY.
BIGINT_PK = BigInteger().with_variant(Integer(), "sqlite")


class BigIntPk:
    """For append-only, high-volume rows (runs, terms, audit, jobs): ordered ids."""

    id: Mapped[int] = mapped_column(BIGINT_PK, primary_key=True, autoincrement=True)
