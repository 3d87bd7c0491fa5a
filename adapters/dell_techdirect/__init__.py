"""Dell TechDirect (hardware warranty): entitlements by service tag, 100 tags per call, and
Self-Dispatch work orders (parts and labour for a service tag) as cases."""

from __future__ import annotations

from typing import Any

from hub.sdk.capabilities import Capability
from hub.sdk.context import AdapterContext
from hub.sdk.manifest import AdapterSpec, Manifest

from .adapter import UNSUPPORTED, DellTechDirectAdapter
from .config import DellTechDirectConfig


def _factory(config: Any, ctx: AdapterContext) -> DellTechDirectAdapter:
    return DellTechDirectAdapter(config, ctx)


spec = AdapterSpec(
    manifest=Manifest(
        slug="dell_techdirect",
        vendor="Dell",
        category="hardware",
        version="1.1.0",
        capabilities=frozenset({Capability.warranty, Capability.case_desk}),
        config_model=DellTechDirectConfig,
        account_ref_field="client_id",
        simulator="adapters.dell_techdirect.simulator:DellSimulator",
        unsupported_operations=UNSUPPORTED,
        docs_url="https://techdirect.dell.com/portal.30/Login.aspx",
        endpoint_fields=("token_url", "api_url"),
        official_hosts=("apigtwb2c.us.dell.com",),
    ),
    factory=_factory,
)

__all__ = ["DellTechDirectAdapter", "DellTechDirectConfig", "spec"]
