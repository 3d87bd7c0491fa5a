"""Finding adapters: every entry point in the `vendor_hub.adapters` group.

Installed is not enabled: a Connection row enables an adapter. A broken entry point is
reported, not fatal, so one bad third-party package cannot take the hub down.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points

from hub.sdk.manifest import AdapterSpec

GROUP = "vendor_hub.adapters"


@dataclass(frozen=True)
class Registry:
    specs: dict[str, AdapterSpec]
    broken: dict[str, str]

    def get(self, slug: str) -> AdapterSpec | None:
        return self.specs.get(slug)


def discover() -> Registry:
    specs: dict[str, AdapterSpec] = {}
    broken: dict[str, str] = {}
    for point in entry_points(group=GROUP):
        try:
            spec = point.load()
        except Exception as exc:  # any import failure of a plug-in is reported, not fatal
            broken[point.name] = f"cannot be imported: {type(exc).__name__}: {exc}"
            continue
        if not isinstance(spec, AdapterSpec):
            broken[point.name] = "entry point is not an AdapterSpec"
            continue
        problems = spec.manifest.problems()
        if spec.manifest.slug != point.name:
            problems.append(f"entry point name {point.name!r} differs from slug {spec.manifest.slug!r}")
        if problems:
            broken[point.name] = "; ".join(problems)
            continue
        specs[spec.manifest.slug] = spec
    return Registry(dict(sorted(specs.items())), broken)


@cache
def registry() -> Registry:
    """The process-wide registry (entry points do not change while a process runs)."""
    return discover()


__all__ = ["GROUP", "Registry", "discover", "registry"]
