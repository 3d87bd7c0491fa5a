"""Pax8 (distributor): companies, subscriptions with commitments, quantity changes, and
orders (isMock validation, placement, lookup by our reference or by what was ordered) for
automatic renewals; a subscription's term read back, and an order's deliverables."""

from __future__ import annotations

from typing import Any

from hub.sdk.capabilities import Capability
from hub.sdk.context import AdapterContext
from hub.sdk.manifest import AdapterSpec, Manifest

from .adapter import Pax8Adapter
from .config import Pax8Config


def _factory(config: Any, ctx: AdapterContext) -> Pax8Adapter:
    return Pax8Adapter(config, ctx)


spec = AdapterSpec(
    manifest=Manifest(
        slug="pax8",
        vendor="Pax8",
        category="distributor",
        version="1.0.0",
        capabilities=frozenset(
            {
                Capability.tenants,
                Capability.subscriptions,
                Capability.renewal,
                Capability.term_readback,
                Capability.order_tracking,
            }
        ),
        config_model=Pax8Config,
        account_ref_field="client_id",
        simulator="adapters.pax8.simulator:Pax8Simulator",
        docs_url="https://devx.pax8.com/docs/using-pax8s-apis",
        endpoint_fields=("token_url", "api_url"),
        official_hosts=("api.pax8.com", "token-manager.pax8.com", "login.pax8.com"),
    ),
    factory=_factory,
)

__all__ = ["Pax8Adapter", "Pax8Config", "spec"]
