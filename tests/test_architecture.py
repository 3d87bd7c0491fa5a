"""The module boundaries hold: the import contracts of pyproject.toml (run by import-linter,
also in `make lint`), each forbidden list naming every package of the hub, and no module
of the hub reading settings or keeping a seam at import."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HUB = ROOT / "hub"


def _contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}


def _hub_packages() -> set[str]:
    return {
        f"hub.{p.stem if p.is_file() else p.name}"
        for p in HUB.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.stem != "__init__")
    }


def test_every_import_contract_is_kept() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("contract", "allowed"),
    [
        ("Adapters use only the hub's SDK", "hub.sdk"),
        ("The SDK imports nothing else of the hub (it is what adapters see)", "hub.sdk"),
        ("hub.kit is a leaf: helpers with no knowledge of the domain", "hub.kit"),
    ],
)
def test_a_new_hub_package_is_forbidden_too(contract: str, allowed: str) -> None:
    """The forbidden lists name each package: a package added later is covered at once."""
    forbidden = set(_contracts()[contract]["forbidden_modules"])  # type: ignore[call-overload]
    assert _hub_packages() - {allowed} == forbidden


def _module_level_calls(tree: ast.Module) -> list[ast.Call]:
    calls: list[ast.Call] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        calls.extend(n for n in ast.walk(node) if isinstance(n, ast.Call))
    return calls


def test_no_module_of_the_hub_reads_settings_at_import() -> None:
    """Settings are read when a runtime is built, never when a module is imported (a test
    or a second runtime in the process would otherwise inherit the first environment)."""
    offenders = []
    for path in sorted(HUB.rglob("*.py")):
        for call in _module_level_calls(ast.parse(path.read_text(), str(path))):
            name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")
            if name.endswith("Settings") and name != "BaseSettings":
                offenders.append(f"{path.relative_to(ROOT)}:{call.lineno} {name}()")
    assert not offenders, offenders


def test_no_module_of_the_hub_rebinds_a_global() -> None:
    """No `global` statement: a module-level variable rebound at run time is a seam tests
    would patch (the runtime object is the seam)."""
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted(HUB.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Global)
    ]
    assert not offenders, offenders
