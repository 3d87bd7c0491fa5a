"""Cloudflare DNS adapter: zones and DNS records of one account (read and write)."""

from __future__ import annotations

from typing import Any

from hub.sdk import AdapterContext, AdapterSpec, Capability, Manifest

from .config import CloudflareConfig


def _create(config: Any, ctx: AdapterContext) -> Any:
    from .adapter import CloudflareAdapter

    return CloudflareAdapter(config, ctx)


spec = AdapterSpec(
    manifest=Manifest(
        slug="cloudflare_dns",
        vendor="Cloudflare",
        category="dns_hosting",
        version="1.0.0",
        capabilities=frozenset({Capability.dns_zones, Capability.dns_write}),
        config_model=CloudflareConfig,
        account_ref_field="account_id",
        simulator="adapters.cloudflare_dns.simulator:CloudflareSimulator",
        docs_url="https://developers.cloudflare.com/api/",
        endpoint_fields=("api_url",),
        official_hosts=("api.cloudflare.com",),
    ),
    factory=_create,
)

__all__ = ["spec"]
