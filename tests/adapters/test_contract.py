"""The contract's own promises: schemas are current and categories match the hub's. (That
adapters import nothing of the hub but hub.sdk is in tests/test_architecture.py.)"""

from __future__ import annotations

from hub.connection.cli import DEFAULT_SCHEMAS
from hub.models.enums import VendorCategory
from hub.sdk import schemas
from hub.sdk.manifest import CATEGORIES
from hub.sdk.registry import discover


def test_committed_schemas_are_current() -> None:
    stale = schemas.stale(DEFAULT_SCHEMAS, discover())
    assert not stale, f"run `hub schemas export`: stale {stale}"


def test_sdk_categories_are_the_hubs() -> None:
    assert {c.value for c in VendorCategory} == CATEGORIES
