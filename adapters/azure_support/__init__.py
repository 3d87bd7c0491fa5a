"""Azure support tickets (Microsoft.Support) for one Azure subscription: the CaseDesk
capability over the Azure Support REST API."""

from __future__ import annotations

from typing import Any

from hub.sdk.capabilities import Capability
from hub.sdk.context import AdapterContext
from hub.sdk.manifest import AdapterSpec, Manifest

from .adapter import AzureSupportAdapter
from .config import AzureSupportConfig


def _factory(config: Any, ctx: AdapterContext) -> AzureSupportAdapter:
    return AzureSupportAdapter(config, ctx)


spec = AdapterSpec(
    manifest=Manifest(
        slug="azure_support",
        vendor="Microsoft",
        category="cloud",
        version="1.0.0",
        capabilities=frozenset({Capability.case_desk}),
        config_model=AzureSupportConfig,
        account_ref_field="subscription_id",
        simulator="adapters.azure_support.simulator:AzureSupportSimulator",
        docs_url="https://learn.microsoft.com/rest/api/support",
        endpoint_fields=("authority_url", "management_url"),
        # Entra ID and Azure Resource Manager, in the public and the sovereign clouds.
        official_hosts=(
            "login.microsoftonline.com",
            "management.azure.com",
            "login.microsoftonline.us",
            "management.usgovcloudapi.net",
            "login.chinacloudapi.cn",
            "management.chinacloudapi.cn",
        ),
    ),
    factory=_factory,
)

__all__ = ["AzureSupportAdapter", "AzureSupportConfig", "spec"]
