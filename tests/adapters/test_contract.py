"""The contract's own promises: schemas are current, categories match the hub's, and
adapters import nothing of the hub but hub.sdk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hub.connection.cli import DEFAULT_SCHEMAS
from hub.models.enums import VendorCategory
from hub.sdk import schemas
from hub.sdk.manifest import CATEGORIES
from hub.sdk.registry import discover

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schemas_are_current() -> None:
    stale = schemas.stale(DEFAULT_SCHEMAS, discover())
    assert not stale, f"run `hub schemas export`: stale {stale}"


def test_sdk_categories_are_the_hubs() -> None:
    assert {c.value for c in VendorCategory} == CATEGORIES


def test_import_contract_holds() -> None:
    """import-linter: adapters.* may import only hub.sdk of the hub, and hub.sdk only itself."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contract_lists_every_hub_package() -> None:
    """A new top-level hub package is forbidden to adapters too (the contract names each)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = config["tool"]["importlinter"]["contracts"][0]
    forbidden = set(contract["forbidden_modules"])
    packages = {
        f"hub.{p.stem if p.is_file() else p.name}"
        for p in (ROOT / "hub").iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.stem != "__init__")
    }
    assert packages - {"hub.sdk"} == forbidden
