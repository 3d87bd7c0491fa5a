"""Sophos Central Partner API: customer tenants and their licences (antivirus category)."""

from __future__ import annotations

from typing import Any

from adapters.sophos_central.adapter import SophosCentralAdapter
from adapters.sophos_central.config import SophosCentralConfig
from hub.sdk import AdapterContext, AdapterSpec, Capability, Manifest


def _create(config: Any, ctx: AdapterContext) -> SophosCentralAdapter:
    return SophosCentralAdapter(config, ctx)


spec = AdapterSpec(
    manifest=Manifest(
        slug="sophos_central",
        vendor="Sophos",
        category="antivirus",
        version="1.0.0",
        capabilities=frozenset({Capability.tenants, Capability.license_usage, Capability.term_readback}),
        config_model=SophosCentralConfig,
        account_ref_field="partner_id",
        simulator="adapters.sophos_central.simulator:SophosCentralSimulator",
        docs_url="https://developer.sophos.com/getting-started",
        endpoint_fields=("auth_url", "api_url"),
        # Tenants live on regional hosts (api-eu01.central.sophos.com ...) named by whoami.
        official_hosts=("id.sophos.com", "api.central.sophos.com", "*.central.sophos.com"),
    ),
    factory=_create,
)

__all__ = ["SophosCentralAdapter", "SophosCentralConfig", "spec"]
