"""Base classes of every request and response model."""

from __future__ import annotations

from datetime import date
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

T = TypeVar("T")


def _no_nul(value: Any) -> Any:
    # PostgreSQL cannot store NUL in text, and no legitimate input carries one.
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    if isinstance(value, list):
        for item in value:
            _no_nul(item)
    return value


class Input(BaseModel):
    """Request bodies and query models: unknown fields are an error, not silently
    dropped; text may not contain NUL."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _reject_nul(cls, value: Any) -> Any:
        return _no_nul(value)


class UpdateInput(Input):
    version: int = Field(
        ge=1,
        description="The version you read; a stale version is refused with 409 so that "
        "nobody's change is overwritten unseen",
    )


def ends_after_start(ends_on: date | None, info: ValidationInfo) -> date | None:
    """For a field validator on `ends_on` (declared after `starts_on`), so that the error
    names `ends_on` instead of the whole body."""
    starts_on = info.data.get("starts_on")
    if ends_on is not None and starts_on is not None and ends_on < starts_on:
        raise ValueError(f"must not be before starts_on ({starts_on})")
    return ends_on


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
