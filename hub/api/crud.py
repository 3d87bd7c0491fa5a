"""The generic half of every module's service: fetch with scoping, list with filters,
sorting and paging, create/update/delete with audit, optimistic concurrency and
reference checks. Module services subclass `CrudService` and add their rules in the
`prepare_*` hooks; nothing here knows a particular aggregate."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import Field
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm.exc import StaleDataError

from hub.audit.service import diff, record, snapshot
from hub.auth.principal import Principal, ensure_client_access, scope_to_client
from hub.errors import Conflict, InvalidInput, NotFound, StaleVersion, StillReferenced
from hub.kit.schema import Input, UpdateInput
from hub.kit.time import today
from hub.models.base import Base
from hub.models.enums import AuditAction

M = TypeVar("M", bound=Base)
FilterFn = Callable[[Select[Any], Any], Select[Any]]


class ListParams(Input):
    """Paging and sorting shared by every list; resources add their own filters."""

    limit: int = Field(50, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=1_000_000)
    sort: str | None = Field(
        None, max_length=200, description="fields, comma separated; -field sorts descending"
    )


@dataclass(frozen=True)
class Reference:
    """A column elsewhere that points at this resource; deleting is refused while any
    row still points here, and the message says which."""

    column: InstrumentedAttribute[Any]
    label: str


@dataclass
class Resource(Generic[M]):
    model: type[M]
    label: str  # human name, e.g. "vendor account"
    subject_type: str  # audit subject type, e.g. "vendor_account"
    client_column: InstrumentedAttribute[Any] | None
    sort_fields: Mapping[str, InstrumentedAttribute[Any]]
    default_sort: str
    filters: Mapping[str, FilterFn] = field(default_factory=dict)
    references: Sequence[Reference] = ()
    # Fields stored in JSON columns: dumped in JSON mode (times, URLs, enums as text).
    json_fields: frozenset[str] = frozenset()

    def values(self, data: Input, *, only_set: bool = False) -> dict[str, Any]:
        exclude = {"version"} | set(self.json_fields)
        values = data.model_dump(exclude_unset=only_set, exclude=exclude)
        values.update(data.model_dump(mode="json", exclude_unset=only_set, include=set(self.json_fields)))
        return values


def ends_within(column: InstrumentedAttribute[Any]) -> FilterFn:
    """`ends within N days`: from today up to today + N (lapsed items are excluded)."""

    def apply(stmt: Select[Any], days: int) -> Select[Any]:
        start = today()
        return stmt.where(column >= start, column <= start + timedelta(days=days))

    return apply


def equals(column: InstrumentedAttribute[Any]) -> FilterFn:
    return lambda stmt, value: stmt.where(column == value)


def contains_text(*columns: InstrumentedAttribute[Any]) -> FilterFn:
    def apply(stmt: Select[Any], text: str) -> Select[Any]:
        pattern = f"%{text.lower()}%"
        return stmt.where(or_(*(func.lower(c).like(pattern) for c in columns)))

    return apply


def refuse_nulls(model: type[Base], changes: Mapping[str, Any]) -> None:
    """A 422 naming the field for an explicit null sent for a column that cannot be null
    (an update schema's fields are optional, so pydantic lets `null` through; the database
    would refuse it as an error the caller cannot read)."""
    columns = model.__table__.columns
    for key, value in changes.items():
        if value is None and key in columns and not columns[key].nullable:
            raise InvalidInput(key, "cannot be null")


class CrudService(Generic[M]):
    resource: ClassVar[Resource[Any]]

    # --- hooks for module services -------------------------------------------------
    def scope(self, stmt: Select[Any], principal: Principal) -> Select[Any]:
        column = self.resource.client_column
        return scope_to_client(stmt, principal, column) if column is not None else stmt

    def client_of(self, obj: M) -> uuid.UUID | None:
        column = self.resource.client_column
        return getattr(obj, column.key) if column is not None else None

    async def check_visible(self, session: AsyncSession, principal: Principal, obj: M) -> None:
        ensure_client_access(principal, self.client_of(obj), self.resource.label)

    async def prepare_create(
        self, session: AsyncSession, principal: Principal, values: dict[str, Any]
    ) -> dict[str, Any]:
        return values

    async def prepare_update(
        self, session: AsyncSession, principal: Principal, obj: M, changes: dict[str, Any]
    ) -> dict[str, Any]:
        return changes

    async def after_create(self, session: AsyncSession, principal: Principal, obj: M) -> None:
        return None

    # --- reads ---------------------------------------------------------------------
    async def get(self, session: AsyncSession, principal: Principal, obj_id: uuid.UUID) -> M:
        missing = NotFound(f"{self.resource.label} {obj_id} not found")
        obj: M | None = await session.get(self.resource.model, obj_id)
        if obj is None:
            raise missing
        try:
            await self.check_visible(session, principal, obj)
        except NotFound:
            # Another client's object answers exactly like a missing one: no oracle.
            raise missing from None
        return obj

    async def list(
        self, session: AsyncSession, principal: Principal, params: ListParams
    ) -> tuple[builtins.list[M], int]:
        res = self.resource
        stmt = self.scope(select(res.model), principal)
        for name, value in params.model_dump(exclude={"limit", "offset", "sort"}).items():
            if value is not None and name in res.filters:
                stmt = res.filters[name](stmt, value)
        total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
        stmt = stmt.order_by(*self._order_by(params.sort or res.default_sort))
        rows = (await session.execute(stmt.limit(params.limit).offset(params.offset))).scalars().all()
        return list(rows), int(total)

    def _order_by(self, sort: str) -> builtins.list[Any]:
        fields = self.resource.sort_fields
        clauses: builtins.list[Any] = []
        for raw in (s.strip() for s in sort.split(",") if s.strip()):
            descending = raw.startswith("-")
            name = raw.lstrip("-+")
            if name not in fields:
                raise InvalidInput(
                    "sort",
                    f"cannot sort by '{name}'; use one of {', '.join(sorted(fields))}",
                    location="query",
                )
            column = fields[name]
            clauses.append(column.desc().nulls_last() if descending else column.asc().nulls_last())
        # A unique tie-breaker keeps pages stable when sort keys repeat.
        clauses.append(self.resource.model.id)
        return clauses

    # --- writes --------------------------------------------------------------------
    async def create(self, session: AsyncSession, principal: Principal, data: Input) -> M:
        principal.require_staff()
        values = await self.prepare_create(session, principal, self.resource.values(data))
        obj: M = self.resource.model(**values)
        session.add(obj)
        await self._flush(session)
        await self.after_create(session, principal, obj)
        record(
            session,
            principal,
            AuditAction.create,
            subject_type=self.resource.subject_type,
            subject_id=obj.id,  # type: ignore[attr-defined]
            client_id=self.client_of(obj),
            after=snapshot(obj),
        )
        await self._flush(session)
        return obj

    async def update(
        self, session: AsyncSession, principal: Principal, obj_id: uuid.UUID, data: UpdateInput
    ) -> M:
        principal.require_staff()
        version = data.version
        changes = self.resource.values(data, only_set=True)
        refuse_nulls(self.resource.model, changes)
        obj = await self.get(session, principal, obj_id)
        current = obj.version  # type: ignore[attr-defined]
        if current != version:
            raise StaleVersion(
                f"{self.resource.label} is at version {current}, you sent {version}; "
                "read it again and reapply your change",
                current_version=current,
            )
        before = snapshot(obj)
        changes = await self.prepare_update(session, principal, obj, changes)
        for key, value in changes.items():
            setattr(obj, key, value)
        await self._flush(session)
        old, new = diff(before, snapshot(obj))
        if new:
            record(
                session,
                principal,
                AuditAction.update,
                subject_type=self.resource.subject_type,
                subject_id=obj_id,
                client_id=self.client_of(obj),
                before=old,
                after=new,
            )
        return obj

    async def delete(self, session: AsyncSession, principal: Principal, obj_id: uuid.UUID) -> None:
        principal.require_staff()
        obj = await self.get(session, principal, obj_id)
        await self.refuse_if_referenced(session, obj_id)
        before = snapshot(obj)
        await session.delete(obj)
        await self._flush(session)
        record(
            session,
            principal,
            AuditAction.delete,
            subject_type=self.resource.subject_type,
            subject_id=obj_id,
            client_id=self.client_of(obj),
            before=before,
        )

    async def refuse_if_referenced(self, session: AsyncSession, obj_id: uuid.UUID) -> None:
        found: dict[str, int] = {}
        for ref in self.resource.references:
            n = (await session.execute(select(func.count()).where(ref.column == obj_id))).scalar_one()
            if n:
                found[ref.label] = int(n)
        if found:
            what = ", ".join(f"{n} {label}" for label, n in found.items())
            raise StillReferenced(
                f"{self.resource.label} is still referenced by {what}; remove or reassign them first",
                references=found,
            )

    async def _flush(self, session: AsyncSession) -> None:
        try:
            await session.flush()
        except StaleDataError as exc:
            raise StaleVersion(
                f"{self.resource.label} was changed by someone else meanwhile; read it again"
            ) from exc
        except IntegrityError as exc:
            raise Conflict(_integrity_message(self.resource.label, exc)) from exc


def _integrity_message(label: str, exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    if "unique" in text or "duplicate" in text:
        return f"a {label} with the same unique values already exists"
    if "foreign key" in text:
        return f"the {label} refers to something that does not exist, or is still referenced"
    if "check" in text:
        return f"the {label} breaks a rule of the data model: {exc.orig}"
    return f"the {label} conflicts with stored data"
