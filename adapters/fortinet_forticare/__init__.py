"""Fortinet FortiCare / FortiCloud Asset Management: registered units with their
entitlements, the read-back of a unit's term, and the registration of a contract code
(bought at a distributor) against a unit's serial."""

from __future__ import annotations

from typing import Any

from hub.sdk.capabilities import Capability
from hub.sdk.context import AdapterContext
from hub.sdk.manifest import AdapterSpec, Manifest

from .adapter import FortiCareAdapter
from .config import FortiCareConfig


def _factory(config: Any, ctx: AdapterContext) -> FortiCareAdapter:
    return FortiCareAdapter(config, ctx)


spec = AdapterSpec(
    manifest=Manifest(
        slug="fortinet_forticare",
        vendor="Fortinet",
        category="firewall",
        version="1.0.0",
        capabilities=frozenset(
            {Capability.assets, Capability.warranty, Capability.term_readback, Capability.registration}
        ),
        config_model=FortiCareConfig,
        account_ref_field="username",
        simulator="adapters.fortinet_forticare.simulator:FortiCareSimulator",
        docs_url="https://docs.fortinet.com/document/forticloud/latest/identity-access-management-iam",
        endpoint_fields=("token_url", "api_url"),
        official_hosts=("customerapiauth.fortinet.com", "support.fortinet.com"),
    ),
    factory=_factory,
)

__all__ = ["FortiCareAdapter", "FortiCareConfig", "spec"]
