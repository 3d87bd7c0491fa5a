"""JSON Schema of every record and every adapter's config, as committed under `schemas/`.

`hub schemas export` writes them; a test fails when the committed files are stale, so a
change to a record or a config model is always visible in review."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from hub.sdk import records
from hub.sdk.registry import Registry


def record_models() -> list[type[BaseModel]]:
    models = []
    for name in records.__all__:
        value = getattr(records, name)
        if isinstance(value, type) and issubclass(value, BaseModel) and value is not records.Record:
            models.append(value)
    return models


def _dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def expected_files(registry: Registry) -> dict[str, str]:
    """Relative path -> content of every schema file."""
    files = {}
    for model in record_models():
        files[f"records/{model.__name__}.json"] = _dump(model.model_json_schema(mode="serialization"))
    for slug, spec in registry.specs.items():
        schema = spec.manifest.config_model.model_json_schema(mode="validation")
        schema["x-account-ref-field"] = spec.manifest.account_ref_field
        files[f"adapters/{slug}.config.json"] = _dump(schema)
    return files


def export(root: Path, registry: Registry) -> list[str]:
    """Write the schema files under `root`, removing stale ones; returns what changed."""
    wanted = expected_files(registry)
    changed = []
    for relative, content in wanted.items():
        path = root / relative
        if not path.exists() or path.read_text() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            changed.append(relative)
    for path in sorted(root.glob("*/*.json")):
        relative = path.relative_to(root).as_posix()
        if relative not in wanted:
            path.unlink()
            changed.append(relative)
    return changed


def stale(root: Path, registry: Registry) -> list[str]:
    wanted = expected_files(registry)
    found = {p.relative_to(root).as_posix(): p.read_text() for p in root.glob("*/*.json")}
    return sorted(
        {path for path in wanted if found.get(path) != wanted[path]}
        | {path for path in found if path not in wanted}
    )


__all__ = ["expected_files", "export", "record_models", "stale"]
