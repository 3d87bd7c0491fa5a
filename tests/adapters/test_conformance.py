"""The conformance suite (hub.sdk.testing.conformance) for every adapter registered by
entry point, over ASGI and over a real loopback socket. A new adapter is enrolled by its
entry point alone; an exemption is skipped with the reason its manifest gives."""

from __future__ import annotations

import pytest

from hub.sdk.registry import discover
from hub.sdk.testing.conformance import CHECKS, Case, applicable

REGISTRY = discover()


def _cases() -> list[object]:
    params = []
    for slug, spec in REGISTRY.specs.items():
        for check, exemption in applicable(spec).items():
            for mode in ("asgi", "loopback"):
                marks = [pytest.mark.skip(reason=f"exempt: {exemption}")] if exemption else []
                params.append(pytest.param(slug, check, mode, marks=marks, id=f"{slug}-{check}-{mode}"))
    return params


def test_every_entry_point_loads() -> None:
    assert not REGISTRY.broken, REGISTRY.broken


@pytest.mark.parametrize(("slug", "check", "mode"), _cases())
async def test_conformance(slug: str, check: str, mode: str) -> None:
    await CHECKS[check](Case(REGISTRY.specs[slug], mode))  # type: ignore[arg-type]
