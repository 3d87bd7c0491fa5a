"""Finding adapters: every entry point in the `vendor_hub.adapters` group.

Installed is not enabled: a Connection row enables an adapter. A broken entry point is
reported, not fatal, so one bad third-party package cannot take the hub down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from hub.sdk.manifest import AdapterSpec

GROUP = "vendor_hub.adapters"


@dataclass(frozen=True)
class Registry:
    specs: dict[str, AdapterSpec]
    broken: dict[str, str]

    def get(self, slug: str) -> AdapterSpec | None:
        return self.specs.get(slug)


def discover(extra: Sequence[str] = ()) -> Registry:
    """Every adapter of the entry points, plus `extra` ones given as "module:attribute"
    (an adapter being developed, before it is packaged: `HUB_ADAPTER_EXTRA`)."""
    specs: dict[str, AdapterSpec] = {}
    broken: dict[str, str] = {}
    # (name to report it under, how to load it, the slug it must have if any)
    found: list[tuple[str, EntryPoint, str | None]] = [
        (point.name, point, point.name) for point in entry_points(group=GROUP)
    ]
    for value in extra:
        module, _, attr = value.strip().partition(":")
        point = EntryPoint(name=module, value=f"{module}:{attr or 'spec'}", group=GROUP)
        found.append((value.strip(), point, None))
    for name, point, slug in found:
        try:
            spec = point.load()
        except Exception as exc:  # any import failure of a plug-in is reported, not fatal
            broken[name] = f"cannot be imported: {type(exc).__name__}: {exc}"
            continue
        if not isinstance(spec, AdapterSpec):
            broken[name] = "entry point is not an AdapterSpec"
            continue
        problems = spec.manifest.problems()
        if slug is not None and spec.manifest.slug != slug:
            problems.append(f"entry point name {slug!r} differs from slug {spec.manifest.slug!r}")
        if problems:
            broken[name] = "; ".join(problems)
            continue
        specs[spec.manifest.slug] = spec
    return Registry(dict(sorted(specs.items())), broken)


@cache
def registry() -> Registry:
    """The process-wide registry (entry points do not change while a process runs)."""
    return discover()


__all__ = ["GROUP", "Registry", "discover", "registry"]
