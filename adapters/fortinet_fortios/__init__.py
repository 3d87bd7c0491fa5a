"""Fortinet FortiOS (FortiGate) adapter: system status, firmware and FortiGuard licences."""

from __future__ import annotations

from typing import Any

from hub.sdk import AdapterContext, AdapterSpec, Capability, Manifest

from .config import FortiosConfig


def _create(config: Any, ctx: AdapterContext) -> Any:
    from .adapter import FortiosAdapter

    return FortiosAdapter(config, ctx)


spec = AdapterSpec(
    manifest=Manifest(
        slug="fortinet_fortios",
        vendor="Fortinet",
        category="firewall",
        version="1.0.0",
        capabilities=frozenset(
            {Capability.assets, Capability.firmware, Capability.license_usage, Capability.term_readback}
        ),
        config_model=FortiosConfig,
        account_ref_field="serial_number",
        simulator="adapters.fortinet_fortios.simulator:FortiosSimulator",
        docs_url="https://docs.fortinet.com/document/fortigate/latest/administration-guide",
        # The FortiGate is the client's own box at the client's address: any host, but a
        # changed address or TLS trust drops the stored token (it must be sent again).
        endpoint_fields=("base_url", "verify_tls", "ca_pem"),
        official_hosts=("*",),
    ),
    factory=_create,
)

__all__ = ["spec"]
