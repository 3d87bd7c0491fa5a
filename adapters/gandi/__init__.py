"""Gandi v5 (registrar): the organisation's domains with their registry expiry, renewals
through the `Renewer` contract (a domain renews by the year), and the expiry read back."""

from __future__ import annotations

from typing import Any

from hub.sdk.capabilities import Capability
from hub.sdk.context import AdapterContext
from hub.sdk.manifest import AdapterSpec, Manifest

from .adapter import GandiAdapter
from .config import GandiConfig


def _factory(config: Any, ctx: AdapterContext) -> GandiAdapter:
    return GandiAdapter(config, ctx)


spec = AdapterSpec(
    manifest=Manifest(
        slug="gandi",
        vendor="Gandi",
        category="registrar",
        version="1.0.0",
        capabilities=frozenset({Capability.domains, Capability.renewal, Capability.term_readback}),
        config_model=GandiConfig,
        account_ref_field="sharing_id",
        simulator="adapters.gandi.simulator:GandiSimulator",
        docs_url="https://api.gandi.net/docs/domains/",
        endpoint_fields=("api_url",),
        official_hosts=("api.gandi.net", "api.sandbox.gandi.net"),
    ),
    factory=_factory,
)

__all__ = ["GandiAdapter", "GandiConfig", "spec"]
