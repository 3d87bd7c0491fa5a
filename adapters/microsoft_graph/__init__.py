"""Microsoft Graph, per Microsoft 365 customer tenant (mail hosting category)."""

from __future__ import annotations

from typing import Any

from adapters.microsoft_graph.adapter import MicrosoftGraphAdapter
from adapters.microsoft_graph.config import MicrosoftGraphConfig
from hub.sdk import AdapterContext, AdapterSpec, Capability, Manifest


def _create(config: Any, ctx: AdapterContext) -> MicrosoftGraphAdapter:
    return MicrosoftGraphAdapter(config, ctx)


spec = AdapterSpec(
    manifest=Manifest(
        slug="microsoft_graph",
        vendor="Microsoft",
        category="mail_hosting",
        version="1.0.0",
        capabilities=frozenset(
            {Capability.tenants, Capability.license_usage, Capability.subscriptions, Capability.mail_domains}
        ),
        config_model=MicrosoftGraphConfig,
        account_ref_field="tenant_id",
        simulator="adapters.microsoft_graph.simulator:MicrosoftGraphSimulator",
        docs_url="https://learn.microsoft.com/graph/api/overview",
        endpoint_fields=("authority_url", "graph_url"),
        # The global cloud and Microsoft's national clouds (US Government, China).
        official_hosts=(
            "login.microsoftonline.com",
            "graph.microsoft.com",
            "login.microsoftonline.us",
            "graph.microsoft.us",
            "dod-graph.microsoft.us",
            "login.chinacloudapi.cn",
            "microsoftgraph.chinacloudapi.cn",
        ),
    ),
    factory=_create,
)

__all__ = ["MicrosoftGraphAdapter", "MicrosoftGraphConfig", "spec"]
