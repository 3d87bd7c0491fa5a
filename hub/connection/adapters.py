"""Where the hub finds adapters: one function, so that tests can swap the registry.

Production always uses the entry points (`hub.sdk.registry.registry()`); tests install a
registry holding their own test adapter with `use_registry`. The connection service, the
API, the CLI and the sync engine all ask `adapter_registry()`, never the entry points.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hub.errors import InvalidInput
from hub.sdk.manifest import AdapterSpec
from hub.sdk.registry import Registry, registry

_override: Registry | None = None


def adapter_registry() -> Registry:
    return _override if _override is not None else registry()


@contextmanager
def use_registry(replacement: Registry) -> Iterator[Registry]:
    """Use `replacement` instead of the entry points for the block (tests)."""
    global _override
    previous, _override = _override, replacement
    try:
        yield replacement
    finally:
        _override = previous


def spec_for(slug: str) -> AdapterSpec | None:
    return adapter_registry().get(slug)


def require_spec(slug: str, *, field: str = "adapter_slug") -> AdapterSpec:
    spec = spec_for(slug)
    if spec is None:
        known = ", ".join(adapter_registry().specs) or "none installed"
        raise InvalidInput(field, f"no adapter '{slug}' is installed (known: {known})")
    return spec
