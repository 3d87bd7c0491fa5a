"""The Dell TechDirect adapter: warranty entitlements by service tag, batched by 100."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from hub.sdk.context import AdapterContext
from hub.sdk.records import AccountIdentity, WarrantyRecord

from . import mapping
from .api import Asset, DellApi
from .config import DellTechDirectConfig

# Dell service tags are 7 characters today, 5 on old systems; anything else cannot be a
# tag, and a comma would split the query string.
TAG = re.compile(r"^[A-Z0-9]{5,20}$")
PROBE_TAG = "VERIFY0"


class DellTechDirectAdapter:
    def __init__(self, config: DellTechDirectConfig, ctx: AdapterContext) -> None:
        self.config = config
        self.ctx = ctx
        self.api = DellApi(config, ctx)
        self.max_batch = config.batch_size

    def __repr__(self) -> str:
        return f"DellTechDirectAdapter(client_id={self.config.client_id!r})"

    async def verify(self) -> AccountIdentity:
        # A token proves the key and secret; one lookup proves the key may use the
        # warranty API (keys are issued per API in TechDirect).
        await self.api.entitlements([PROBE_TAG])
        return AccountIdentity(
            account_ref=self.config.client_id,
            name=f"Dell TechDirect API client {self.config.client_id}",
            details={"client_auth": self.config.client_auth},
        )

    async def aclose(self) -> None:
        return None

    async def lookup_warranties(self, service_tags: Sequence[str]) -> list[WarrantyRecord]:
        """One record per distinct tag (upper-cased), in the order asked; unknown and
        malformed tags come back with `found=False`."""
        wanted = list(dict.fromkeys(t.strip().upper() for t in service_tags if t and t.strip()))
        askable = [t for t in wanted if TAG.match(t)]
        by_tag: dict[str, list[Asset]] = defaultdict(list)
        for start in range(0, len(askable), self.max_batch):
            for asset in await self.api.entitlements(askable[start : start + self.max_batch]):
                by_tag[asset.service_tag.strip().upper()].append(asset)
        return [
            mapping.warranty(tag, by_tag[tag]) if tag in by_tag else mapping.not_found(tag) for tag in wanted
        ]


__all__ = ["DellTechDirectAdapter"]
